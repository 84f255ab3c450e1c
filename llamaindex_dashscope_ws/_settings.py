"""Client settings shared by the LlamaIndex classes, their cached core client and its lifecycle.

Every LlamaIndex class here (LLM, embedding, rerank) takes the same connection
settings (the same set, with the same meaning, as the LangChain mixin and
``ClientConfig.resolve``); :class:`DashScopeClientSettings` declares them once as
pydantic fields and turns them into one :class:`~dashscope_ws.client.DashScopeClient`
per instance, created on first use and cached on the instance by the core's
:class:`~dashscope_ws.adapters.ClientHolder` (shared with the LangChain adapter; never
a module global, so two instances with different keys or workspaces never share
state), and released by ``close()`` / ``aclose()`` or a ``with`` / ``async with`` block.

The API key is a private attribute: it is not a pydantic field, so it never
appears in ``repr``, ``model_dump()``, ``to_dict()`` or ``to_json()``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from llama_index.core.bridge.pydantic import PrivateAttr

from dashscope_ws._adapter_base import HeldClientSettings, private
from dashscope_ws._adapter_settings import accepted_arguments, check_arguments
from dashscope_ws.config import SecretStr

__all__ = ["DashScopeClientSettings", "secret_value"]


class _HasSecret(Protocol):
    def get_secret_value(self) -> str: ...


def secret_value(api_key: str | _HasSecret | None) -> str | None:
    """The plain key from a ``str``, our ``SecretStr`` or pydantic's ``SecretStr``."""
    if api_key is None or isinstance(api_key, str):
        return api_key
    return api_key.get_secret_value()


class DashScopeClientSettings(HeldClientSettings):
    """Mixin: connection settings, a lazily created per-instance core client, its lifecycle.

    The constructor checks its arguments against the class's fields and the shared
    spellings table (:data:`dashscope_ws._arguments.SPELLINGS`): an unknown name fails
    naming the closest valid one, ``dashscope_api_key=`` is ``api_key=``, and so on; the
    key is then kept privately. Settings left as ``None`` resolve from the
    environment exactly like the core (``DASHSCOPE_API_KEY``,
    ``DASHSCOPE_WORKSPACE``, ``DASHSCOPE_BASE_URL``, ``DASHSCOPE_REGION``,
    ``DASHSCOPE_TIMEOUT``, ``DASHSCOPE_MAX_RETRIES``), then the core's defaults.
    ``close()`` / ``await aclose()`` (or ``with`` / ``async with``) release the
    client's connection pools; the object stays usable and builds a fresh client
    on its next call.

    Example:
        >>> class Thing(DashScopeClientSettings):
        ...     pass
        >>> with Thing(api_key="sk-secret", workspace="ws-1") as thing:
        ...     ("sk-secret" in repr(thing), thing.workspace)
        (False, 'ws-1')
    """

    # The connection settings (workspace, base_url, timeout, proxy, ...) and the client's
    # objects (transport, async_transport, usage_tracker) come from ConnectionFields.

    _api_key: SecretStr | None = PrivateAttr(default=None)
    # Arguments a class takes besides its fields (the key is private, not a field).
    _extra_arguments: ClassVar[tuple[str, ...]] = ("api_key",)

    def __init__(self, **data: Any) -> None:
        data = self._normalise(check_arguments(type(self).__name__, data, self._arguments()))
        api_key = data.pop("api_key", None)
        super().__init__(**data)
        self._set_api_key(api_key)

    @classmethod
    def _normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Constructor arguments after spelling checks; a class may lift or refuse more."""
        return data

    @classmethod
    def _arguments(cls) -> frozenset[str]:
        """The names this class's constructor takes (fields, aliases, the key)."""
        return accepted_arguments(cls, *cls._extra_arguments)

    def _set_api_key(self, api_key: str | _HasSecret | None) -> None:
        value = secret_value(api_key)
        self._api_key = SecretStr(value) if value else None

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        # LlamaIndex restores by calling __init__ with the public fields only; bring the
        # private key back so an unpickled copy talks to the same account.
        private = state.get("__pydantic_private__") or {}
        if private.get("_api_key") is not None:
            self._api_key = private["_api_key"]

    def _client_key(self) -> object:
        # The SecretStr object itself (the client takes it as is): the key is never stored twice.
        return private(self, "_api_key")

"""Client settings shared by the LlamaIndex classes, and their cached core client.

Every LlamaIndex class here (LLM, embedding, rerank) takes the same connection
settings; :class:`DashScopeClientSettings` declares them once as pydantic fields
and turns them into one :class:`~dashscope_ws.client.DashScopeClient` per
instance, created on first use and cached on the instance (never in a module
global, so two instances with different keys or workspaces never share state).

The API key is a private attribute: it is not a pydantic field, so it never
appears in ``repr``, ``model_dump()``, ``to_dict()`` or ``to_json()``.
"""

from __future__ import annotations

from typing import Any, Protocol

from llama_index.core.bridge.pydantic import BaseModel, Field, PrivateAttr
from typing_extensions import Self

from dashscope_ws.client import DashScopeClient
from dashscope_ws.config import SecretStr, validate_workspace

__all__ = ["DashScopeClientSettings", "secret_value"]


class _HasSecret(Protocol):
    def get_secret_value(self) -> str: ...


def secret_value(api_key: str | _HasSecret | None) -> str | None:
    """The plain key from a ``str``, our ``SecretStr`` or pydantic's ``SecretStr``."""
    if api_key is None or isinstance(api_key, str):
        return api_key
    return api_key.get_secret_value()


class DashScopeClientSettings(BaseModel):
    """Mixin: connection settings plus a lazily created, per-instance core client.

    Subclasses pop ``api_key`` in their ``__init__``, call ``super().__init__``
    and then :meth:`_set_api_key`. Settings left as ``None`` resolve from the
    environment exactly like the core (``DASHSCOPE_API_KEY``,
    ``DASHSCOPE_WORKSPACE``, ``DASHSCOPE_BASE_URL``, ``DASHSCOPE_REGION`` ...).

    Example:
        >>> class Thing(DashScopeClientSettings):
        ...     def __init__(self, api_key: str | None = None, **data: object) -> None:
        ...         super().__init__(**data)
        ...         self._set_api_key(api_key)
        >>> thing = Thing(api_key="sk-secret", workspace="ws-1")
        >>> ("sk-secret" in repr(thing), thing.workspace)
        (False, 'ws-1')
    """

    workspace: str | None = Field(
        default=None,
        description="Workspace id sent as X-DashScope-WorkSpace (env DASHSCOPE_WORKSPACE).",
    )
    base_url: str | None = Field(
        default=None,
        description="API root ending in /api/v1 (env DASHSCOPE_BASE_URL); wins over region.",
    )
    region: str | None = Field(
        default=None, description="Region name, e.g. 'cn-beijing' (env DASHSCOPE_REGION)."
    )
    timeout: float | None = Field(
        default=None, description="Read timeout in seconds (for streams, the max gap).", gt=0
    )
    max_retries: int = Field(
        default=2, description="Retries on 429, 5xx and connection errors.", ge=0
    )

    _api_key: SecretStr | None = PrivateAttr(default=None)
    _client: DashScopeClient | None = PrivateAttr(default=None)
    _client_key: tuple[Any, ...] | None = PrivateAttr(default=None)

    def _set_api_key(self, api_key: str | _HasSecret | None) -> None:
        value = secret_value(api_key)
        self._api_key = SecretStr(value) if value else None
        if self.workspace is not None:
            # Fail at construction, not on the first request, for a malformed id.
            validate_workspace(self.workspace)

    def __getstate__(self) -> dict[Any, Any]:
        # The live client (sessions, sockets) is not picklable: hide it so the pickled
        # copy rebuilds its own instead of LlamaIndex logging a removal warning.
        client, key = self._client, self._client_key
        self._client, self._client_key = None, None
        try:
            state: dict[Any, Any] = super().__getstate__()
        finally:
            self._client, self._client_key = client, key
        return state

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        # Same reason as __getstate__: a copy gets its own client on first use.
        client, key = self._client, self._client_key
        self._client, self._client_key = None, None
        try:
            return super().__deepcopy__(memo)
        finally:
            self._client, self._client_key = client, key

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        # LlamaIndex restores by calling __init__ with the public fields only; bring the
        # private key back so an unpickled copy talks to the same account.
        private = state.get("__pydantic_private__") or {}
        if private.get("_api_key") is not None:
            self._api_key = private["_api_key"]
        self._client, self._client_key = None, None

    def _client_settings(self) -> tuple[Any, ...]:
        return (
            self._api_key,  # the SecretStr object: the plain key is never stored twice
            self.workspace,
            self.base_url,
            self.region,
            self.timeout,
            self.max_retries,
        )

    def _get_client(self) -> DashScopeClient:
        """The core client for the current settings (rebuilt only if a setting changed)."""
        settings = self._client_settings()
        if self._client is None or self._client_key != settings:
            api_key, workspace, base_url, region, timeout, max_retries = settings
            self._client = DashScopeClient(
                api_key=api_key,
                workspace=workspace,
                base_url=base_url,
                region=region,
                timeout=timeout,
                max_retries=max_retries,
            )
            self._client_key = settings
        return self._client

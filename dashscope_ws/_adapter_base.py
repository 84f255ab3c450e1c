"""The pydantic base both adapters' ``DashScopeClientSettings`` share (framework-agnostic).

The LangChain and LlamaIndex mixins differ only in how they take and keep the API key
(a ``SecretStr`` field with an environment default there, a private attribute here) and
what else their constructors accept; the rest is the same logic, written once here: the
workspace check at construction, the location resolved on the object, the per-instance
client built (and rebuilt) by :class:`~dashscope_ws.adapters.ClientHolder`, and a copy
that owns its own client.

Imports pydantic at import time, so only the adapter packages import it (the core does not).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, field_validator, model_validator
from typing_extensions import Self

from dashscope_ws._adapter_settings import (
    ClientHolder,
    ClientLifecycle,
    ConnectionFields,
    client_settings,
    client_state,
    fill_location,
)
from dashscope_ws._chat import EndpointName
from dashscope_ws.client import DashScopeClient
from dashscope_ws.config import validate_workspace

__all__ = ["EndpointField", "HeldClientSettings", "private"]


def private(obj: BaseModel, name: str) -> Any:
    """The private attribute ``name`` of a pydantic object, for per-call paths.

    ``obj._name`` is found only after the normal lookup has failed through the whole MRO
    and pydantic's ``__getattr__`` has run (measured ~3 µs per read on the adapters, more
    than the rest of ``_get_client``); the values live in ``__pydantic_private__``.
    """
    return obj.__pydantic_private__[name]  # type: ignore[index]


class HeldClientSettings(ClientLifecycle, ConnectionFields):
    """Base: connection fields, a lazily built per-instance core client, its lifecycle.

    A subclass supplies :meth:`_client_key` (its API key object); this class checks
    ``workspace`` at construction, shows the resolved workspace and ``base_url`` on the
    object, builds the client on first use (rebuilt when a setting changes), and gives a
    copy its own client (closing one object never closes another's connections).

    Example:
        >>> class Settings(HeldClientSettings):
        ...     def _client_key(self) -> object:
        ...         return "sk-test"
        >>> with Settings(workspace="ws-1") as s:
        ...     s._get_client().config.workspace
        'ws-1'
    """

    _client_holder: ClientHolder = PrivateAttr(default_factory=ClientHolder)

    @field_validator("workspace")
    @classmethod
    def _check_workspace(cls, value: str | None) -> str | None:
        # Fail at construction, not on the first request, for a malformed id.
        return None if value is None else validate_workspace(value)

    @model_validator(mode="after")
    def _resolve_location(self) -> Self:
        fill_location(self)  # workspace and base_url as a call will use them (env included)
        return self

    def _client_key(self) -> object:
        """The API key as this class holds it (a ``SecretStr`` or ``None``): compared on
        every call, so it is the stored object, never a new copy of the key."""
        raise NotImplementedError

    def _client_kwargs(self) -> dict[str, Any]:
        """The core client's keyword arguments for the current settings, key included."""
        return client_settings(self, api_key=self._client_key())

    def _get_client(self) -> DashScopeClient:
        """The core client for the current settings (rebuilt only if a setting changed)."""
        holder: ClientHolder = private(self, "_client_holder")
        state = client_state(self, key=self._client_key())
        client = holder.cached(state)
        if client is None:  # first use, or a setting changed: compare the full settings
            client = holder.get(self._client_kwargs(), state=state)
            fill_location(self, client.config)  # what this client calls, shown on the object
        return client

    def __copy__(self) -> Self:
        # `model_copy()` shares private attributes; a copy must own its client, or
        # closing one object would close the other's connections.
        copied = super().__copy__()
        copied._client_holder = self._client_holder.fresh()
        return copied


class EndpointField(BaseModel):
    """The adapters' ``endpoint`` field (one declaration for LangChain and LlamaIndex).

    Example:
        >>> EndpointField(endpoint="multimodal").endpoint
        'multimodal'
    """

    endpoint: EndpointName | None = Field(
        default=None,
        description="Force the generation endpoint ('text', 'multimodal', 'compatible') for a "
        "model the registry does not know yet; also per call (endpoint=...). Default: the "
        "registry's, with the url-error safety net.",
    )

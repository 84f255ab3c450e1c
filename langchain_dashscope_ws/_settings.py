"""Client settings shared by every LangChain class of this package.

One small pydantic mixin: the connection fields users set on a LangChain object, and a
``DashScopeClient`` built from them on first use. The client is cached per instance
(never process-global), and rebuilt if the settings change, so two objects with
different keys or workspaces in one process never share state.
"""

from __future__ import annotations

import threading
from typing import Any

from langchain_core.utils import secret_from_env
from pydantic import BaseModel, Field, PrivateAttr, SecretStr

from dashscope_ws.client import DashScopeClient

__all__ = ["DashScopeClientSettings"]

# Guards only the build of a client; the clients themselves are per instance.
_BUILD_LOCK = threading.Lock()


class _ClientSlot:
    """Holds an instance's client; copies and pickles start empty (sessions are not
    copyable and belong to the original object)."""

    __slots__ = ("client", "key")

    def __init__(self) -> None:
        self.key: tuple[Any, ...] | None = None
        self.client: DashScopeClient | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> _ClientSlot:
        return _ClientSlot()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_ClientSlot, ())


class DashScopeClientSettings(BaseModel):
    """Connection settings and the lazily built, per-instance core client.

    Every field left at ``None`` is resolved by the core exactly as
    ``DashScopeClient`` resolves it: environment (``DASHSCOPE_WORKSPACE``,
    ``DASHSCOPE_BASE_URL``, ``DASHSCOPE_REGION``, ``DASHSCOPE_TIMEOUT``,
    ``DASHSCOPE_MAX_RETRIES``), then defaults. ``api_key`` is read from
    ``DASHSCOPE_API_KEY`` at construction so that it can be serialised as a secret.

    Example:
        >>> from pydantic import ConfigDict
        >>> class Settings(DashScopeClientSettings):
        ...     model_config = ConfigDict(populate_by_name=True)
        >>> s = Settings(dashscope_api_key="sk-test", workspace="ws-1")
        >>> (s.workspace, str(s.api_key))
        ('ws-1', '**********')
    """

    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("DASHSCOPE_API_KEY", default=None),
        alias="dashscope_api_key",
    )
    """DashScope API key; defaults to ``DASHSCOPE_API_KEY``."""
    workspace: str | None = None
    """Workspace id sent as ``X-DashScope-WorkSpace`` (needed by sub-workspace keys)."""
    base_url: str | None = None
    """API root ending in ``/api/v1``; overrides ``region``."""
    region: str | None = None
    """Region name (e.g. ``"cn-beijing"``, ``"ap-southeast-1"``) selecting the endpoint."""
    workspace_in_host: bool | None = None
    """Address the workspace by host name instead of (only) the header."""
    timeout: float | None = None
    """Read timeout in seconds; for streams the longest silence allowed between reads."""
    max_retries: int | None = None
    """Retries of the core client (429, 5xx, connection errors; never mid-stream)."""

    _client_slot: _ClientSlot = PrivateAttr(default_factory=_ClientSlot)

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "api_key": self.api_key.get_secret_value() if self.api_key is not None else None,
            "workspace": self.workspace,
            "base_url": self.base_url,
            "region": self.region,
            "workspace_in_host": self.workspace_in_host,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }

    def _get_client(self) -> DashScopeClient:
        """The core client for the current settings, built on first use."""
        kwargs = self._client_kwargs()
        # Keyed on the settings: `model_copy(update=...)` shares private attributes,
        # and a copy with another key or workspace must not reuse this client.
        key = tuple(kwargs.values())
        slot = self._client_slot
        with _BUILD_LOCK:
            if slot.client is None or slot.key != key:
                slot.client = DashScopeClient(**kwargs)
                slot.key = key
            return slot.client

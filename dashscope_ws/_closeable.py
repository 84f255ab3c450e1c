"""``with`` / ``async with`` support for anything with ``close()`` and ``aclose()``.

Shared by :class:`~dashscope_ws.client.DashScopeClient` and the adapters' lifecycle mixin, so
the four context-manager methods are written once.
"""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

__all__ = ["AsyncContext", "Closeable", "SyncContext"]

_S = TypeVar("_S", bound="SyncContext")
_A = TypeVar("_A", bound="AsyncContext")


class SyncContext:
    """Mixin: ``with`` calls ``self.close()`` on the way out."""

    def close(self) -> None:
        """Release resources held for synchronous use."""
        raise NotImplementedError

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncContext:
    """Mixin: ``async with`` awaits ``self.aclose()`` on the way out."""

    async def aclose(self) -> None:
        """Release resources, including those bound to the running event loop."""
        raise NotImplementedError

    async def __aenter__(self: _A) -> _A:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Closeable(SyncContext, AsyncContext):
    """Base class: subclasses implement ``close``/``aclose``; this adds the context managers.

    Example:
        >>> class Pool(Closeable):
        ...     closed = False
        ...     def close(self) -> None:
        ...         self.closed = True
        >>> with Pool() as pool:
        ...     pass
        >>> pool.closed
        True
    """

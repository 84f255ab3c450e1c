"""``with`` / ``async with`` support for anything with ``close()`` and ``aclose()``.

Shared by :class:`~dashscope_ws.client.DashScopeClient` and the adapters' lifecycle mixin, so
the four context-manager methods are written once.
"""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

__all__ = ["Closeable"]

_C = TypeVar("_C", bound="Closeable")


class Closeable:
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

    def close(self) -> None:
        """Release resources held for synchronous use."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release resources, including those bound to the running event loop."""
        raise NotImplementedError

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self: _C) -> _C:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

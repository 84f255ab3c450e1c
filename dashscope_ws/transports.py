"""The transport interface, and in-memory transports for testing code built on the client.

A transport moves one built :class:`~dashscope_ws.http.HTTPRequest`: ``send`` returns the
whole answer as a :class:`~dashscope_ws.http.RawResponse`; ``stream`` is a context manager
yielding the body as byte chunks (raising the mapped error for a non-200 answer); ``close``
releases connections. The built-ins are ``RequestsTransport`` (sync) and ``AiohttpTransport``
(async); pass your own with ``DashScopeClient(transport=..., async_transport=...)``.

:class:`MockTransport` / :class:`AsyncMockTransport` answer from a function, so users can
test their own chains without a server (the emulator stays the realistic option).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .http import HTTPRequest, RawResponse, TransportOptions
from .protocol import parse_error

if TYPE_CHECKING:
    from ._async import AiohttpTransport
    from ._sync import RequestsTransport

__all__ = [
    "AiohttpTransport",
    "AsyncMockTransport",
    "AsyncTransport",
    "MockRequest",
    "MockResponse",
    "MockTransport",
    "RequestsTransport",
    "Transport",
    "TransportOptions",
]


def __getattr__(name: str) -> Any:
    # The built-in transports, imported on demand (AiohttpTransport imports aiohttp).
    if name == "RequestsTransport":
        from ._sync import RequestsTransport

        return RequestsTransport
    if name == "AiohttpTransport":
        from ._async import AiohttpTransport

        return AiohttpTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@runtime_checkable
class Transport(Protocol):
    """Blocking transport: what ``DashScopeClient(transport=...)`` accepts."""

    def send(self, request: HTTPRequest) -> RawResponse:
        """Send ``request`` and read the whole answer."""

    def stream(self, request: HTTPRequest) -> AbstractContextManager[Iterator[bytes]]:
        """Open a stream: a context manager yielding the body's byte chunks."""

    def close(self) -> None:
        """Release connections (the transport may be used again afterwards)."""


@runtime_checkable
class AsyncTransport(Protocol):
    """Asyncio transport: what ``DashScopeClient(async_transport=...)`` accepts."""

    async def send(self, request: HTTPRequest) -> RawResponse:
        """Send ``request`` and read the whole answer."""

    def stream(self, request: HTTPRequest) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """Open a stream: an async context manager yielding the body's byte chunks."""

    async def aclose(self) -> None:
        """Release connections of the running loop."""

    def close(self) -> None:
        """Release what can be released from synchronous code."""


@dataclass(frozen=True)
class MockRequest:
    """What a mock handler sees: the request as it would go on the wire.

    ``headers["Authorization"]`` is masked; call :meth:`api_key` for the real key.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    json: Any
    request: HTTPRequest = field(repr=False)

    def api_key(self) -> str | None:
        """The key the request would be sent with (revealed on purpose)."""
        key = self.request.api_key
        return None if key is None else key.get_secret_value()


@dataclass(frozen=True)
class MockResponse:
    """A mock answer: a status, headers and a body (bytes or JSON) or byte chunks.

    Example:
        >>> MockResponse.sse([{"output": {}}]).chunks[0][:14]
        b'id:1\\nevent:res'
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | Mapping[str, Any] | list[Any] | None = None
    chunks: Iterable[bytes] | None = None

    @classmethod
    def sse(cls, payloads: Iterable[Mapping[str, Any]], status: int = 200) -> MockResponse:
        """A stream answer: one ``event:result`` per payload, framed like the service."""
        chunks = [
            f"id:{n}\nevent:result\n:HTTP_STATUS/{status}\ndata:{json.dumps(p)}\n\n".encode()
            for n, p in enumerate(payloads, 1)
        ]
        return cls(status, {"content-type": "text/event-stream"}, chunks=chunks)

    def content(self) -> bytes:
        if self.chunks is not None:
            return b"".join(self.chunks)
        if self.body is None or isinstance(self.body, bytes):
            return self.body or b""
        return json.dumps(self.body).encode()

    def raw(self) -> RawResponse:
        headers = dict(self.headers)
        if self.body is not None and not isinstance(self.body, bytes):
            headers.setdefault("content-type", "application/json")
        return RawResponse(self.status, headers, self.content())

    def pieces(self) -> Iterable[bytes]:
        return self.chunks if self.chunks is not None else [self.content()]


Handler = Callable[[MockRequest], Any]


def _mock_request(request: HTTPRequest) -> MockRequest:
    # Through the strict encoder, exactly what a real transport would send.
    content = request.content
    return MockRequest(
        method=request.method,
        url=request.url,
        headers=request.wire_headers(reveal=False),
        json=None if content is None else json.loads(content),
        request=request,
    )


def _answer(value: Any) -> MockResponse:
    if isinstance(value, MockResponse):
        return value
    if isinstance(value, (Mapping, list)):
        return MockResponse(body=value)
    raise TypeError(f"a mock handler returns a MockResponse or a JSON body, not {type(value)}")


def _stream_body(answer: MockResponse) -> Iterable[bytes]:
    """A streamed answer's chunks; a non-200 answer raises its mapped error, as on the wire."""
    if answer.status != 200:
        raw = answer.raw()
        raise parse_error(raw.status, raw.headers, raw.body)
    return answer.pieces()


class MockTransport:
    """A :class:`Transport` answering from ``handler(MockRequest) -> MockResponse | dict``.

    Every request is kept in :attr:`requests` for assertions.

    Example:
        >>> from dashscope_ws import DashScopeClient
        >>> def handler(request):
        ...     return {"output": {"choices": [{"message": {"role": "assistant",
        ...             "content": "hi"}, "finish_reason": "stop"}]}}
        >>> client = DashScopeClient(api_key="sk-test", transport=MockTransport(handler))
        >>> client.chat([{"role": "user", "content": "Hi"}], model="qwen-plus").text
        'hi'
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[MockRequest] = []

    def _respond(self, request: HTTPRequest) -> MockResponse:
        seen = _mock_request(request)
        self.requests.append(seen)
        return _answer(self.handler(seen))

    def send(self, request: HTTPRequest) -> RawResponse:
        return self._respond(request).raw()

    @contextmanager
    def stream(self, request: HTTPRequest) -> Iterator[Iterator[bytes]]:
        yield iter(_stream_body(self._respond(request)))

    def close(self) -> None:
        """Nothing to release."""


class AsyncMockTransport:
    """An :class:`AsyncTransport` answering from a handler (plain or ``async def``).

    Example:
        >>> transport = AsyncMockTransport(lambda request: {"output": {}})
        >>> transport.requests
        []
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[MockRequest] = []

    async def _respond(self, request: HTTPRequest) -> MockResponse:
        seen = _mock_request(request)
        self.requests.append(seen)
        value = self.handler(seen)
        return _answer(await value if inspect.isawaitable(value) else value)

    async def send(self, request: HTTPRequest) -> RawResponse:
        return (await self._respond(request)).raw()

    @asynccontextmanager
    async def stream(self, request: HTTPRequest) -> AsyncIterator[AsyncIterator[bytes]]:
        pieces = _stream_body(await self._respond(request))

        async def chunks() -> AsyncIterator[bytes]:
            for piece in pieces:
                yield piece

        yield chunks()

    async def aclose(self) -> None:
        """Nothing to release."""

    def close(self) -> None:
        """Nothing to release."""

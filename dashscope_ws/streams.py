"""Stream objects: an open streamed answer you can iterate, close, and fold into a result.

:class:`Stream` / :class:`AsyncStream` drive any decoder (``feed(bytes) -> list[T]``,
``close() -> list[T]``) over a transport's byte stream, with the client's retry policy:
the request is sent on first iteration, each attempt gets a fresh decoder, and an attempt
is retried only while nothing has been yielded (the caller has seen no output yet).
Closing the stream (``close()``, leaving ``with``, or breaking out and dropping it)
releases the connection.

Deadlines (see docs/client.md): the first item must arrive within ``total_timeout`` of the
attempt's start and the whole stream within ``stream_timeout`` (if set); both are checked
after every read, and the transport's read timeout bounds each gap between reads.

:class:`ChatStream` / :class:`AsyncChatStream` add ``result()`` / ``aresult()``: the
accumulated :class:`~dashscope_ws.types.ChatResult`, after or instead of iterating.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
)
from itertools import chain
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ._closeable import AsyncContext, SyncContext
from .accumulate import ChatAccumulator
from .errors import APITimeoutError, DashScopeError, StreamProtocolError
from .types import ChatChunk, ChatResult

if TYPE_CHECKING:
    from ._calls import Call
    from .config import ClientConfig
    from .http import HTTPRequest
    from .retry import RetryPolicy
    from .settings import UsageSink
    from .transports import AsyncTransport, Transport

__all__ = ["AsyncChatStream", "AsyncStream", "ChatStream", "Decoder", "Stream"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
_NOTHING: Any = object()


class Decoder(Protocol[T_co]):
    """Turns body bytes into items; ``close()`` raises if the body ended too early.

    ``feed`` may return a list or an iterator that decodes as it is consumed (the chat
    stream's does, see :class:`dashscope_ws.sse.Pulled`).
    """

    def feed(self, data: bytes) -> Iterable[T_co]: ...

    def close(self) -> Iterable[T_co]: ...


class _Driver(Generic[T]):
    """The state one stream's attempts share (sync and async): no I/O here."""

    def __init__(
        self,
        request: HTTPRequest,
        new_decoder: Callable[[], Decoder[T]],
        config: ClientConfig,
        policy: RetryPolicy,
        sink: UsageSink | None,
    ) -> None:
        from ._calls import Call

        self.request = request
        self.new_decoder = new_decoder
        self.call: Call = Call(request, policy)
        self.first_deadline = config.total_timeout
        self.whole_deadline = config.stream_timeout
        self.sink = sink
        self.yielded = False
        self.request_id: str | None = None
        self._begun = time.monotonic()
        self._attempt = self._begun

    def limit(self, seconds: float) -> None:
        """Bound the whole stream by ``seconds`` too (a folded stream is one unary call)."""
        whole = self.whole_deadline
        self.whole_deadline = seconds if whole is None else min(whole, seconds)

    def start(self) -> Decoder[T]:
        self._attempt = self.call.start()
        return self.new_decoder()

    def seen(self, items: Iterable[T]) -> Iterable[T]:
        """Track the first item, the request id and the deadlines after a read."""
        now = time.monotonic()
        if not self.yielded:
            items = iter(items)
            first = next(items, _NOTHING)  # decodes one item, not the whole read
            if first is not _NOTHING:
                self.yielded = True
                self.request_id = self.request_id or getattr(first, "request_id", None)
                items = chain((first,), items)
            elif now - self._attempt > self.first_deadline:
                raise APITimeoutError(
                    f"no stream event within total_timeout={self.first_deadline:g}s"
                )
        if self.whole_deadline is not None and now - self._begun > self.whole_deadline:
            raise APITimeoutError(f"the stream exceeded stream_timeout={self.whole_deadline:g}s")
        return items

    def backoff(self, error: DashScopeError) -> float:
        return self.call.backoff(error, yielded=self.yielded)


class _Base(Generic[T]):
    def __init__(self, driver: _Driver[T]) -> None:
        self._driver = driver

    @property
    def request_id(self) -> str | None:
        """The service's request id, once the first item has arrived."""
        return self._driver.request_id

    def _seen(self, items: Iterable[T]) -> Iterable[T]:
        """One read's items, checked by the driver (hook: folding each as it is yielded)."""
        return self._driver.seen(items)

    def _ended(self) -> None:
        self._driver.call.done(200, self._driver.request_id)
        self._finished()

    def _finished(self) -> None:
        """The stream ended cleanly (hook: usage reporting)."""


class Stream(_Base[T], SyncContext):
    """A blocking stream of decoded items (iterable once; ``with`` closes it).

    Example:
        >>> from dashscope_ws import DashScopeClient
        >>> from dashscope_ws.transports import MockTransport, MockResponse
        >>> reply = {"output": {"choices": [{"message": {"role": "assistant", "content": "hi"},
        ...          "finish_reason": "stop"}]}}
        >>> client = DashScopeClient(api_key="sk-test",
        ...                          transport=MockTransport(lambda r: MockResponse.sse([reply])))
        >>> with client.stream_chat([{"role": "user", "content": "Hi"}], model="qwen-plus") as s:
        ...     [chunk.text for chunk in s]
        ['hi']
    """

    def __init__(self, driver: _Driver[T], transport: Transport) -> None:
        super().__init__(driver)
        self._transport = transport
        self._iterator = self._run()

    def _run(self) -> Generator[T, None, None]:
        driver = self._driver
        while True:
            decoder = driver.start()
            try:
                with self._transport.stream(driver.request) as body:
                    for data in body:
                        yield from self._seen(decoder.feed(data))
                yield from self._seen(decoder.close())
            except DashScopeError as error:
                time.sleep(driver.backoff(error))
                continue
            self._ended()
            return

    def __iter__(self) -> Iterator[T]:
        # The generator itself: a ``for`` loop then costs no Python frame of ours per item.
        return self._iterator

    def __next__(self) -> T:
        return next(self._iterator)

    def close(self) -> None:
        """Stop reading and release the connection (idempotent)."""
        self._iterator.close()


class AsyncStream(_Base[T], AsyncContext):
    """An asyncio stream of decoded items (``async for``; ``async with`` closes it)."""

    def __init__(self, driver: _Driver[T], transport: AsyncTransport) -> None:
        super().__init__(driver)
        self._transport = transport
        self._iterator = self._run()

    async def _run(self) -> AsyncGenerator[T, None]:
        driver = self._driver
        while True:
            decoder = driver.start()
            try:
                async with self._transport.stream(driver.request) as body:
                    async for data in body:
                        for item in self._seen(decoder.feed(data)):
                            yield item
                for item in self._seen(decoder.close()):
                    yield item
            except DashScopeError as error:
                await asyncio.sleep(driver.backoff(error))
                continue
            self._ended()
            return

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterator  # the generator itself (no frame of ours per item)

    async def __anext__(self) -> T:
        return await self._iterator.__anext__()

    async def aclose(self) -> None:
        """Stop reading and release the connection (idempotent)."""
        await self._iterator.aclose()

    async def close(self) -> None:
        """Alias of :meth:`aclose`."""
        await self.aclose()


class _ChatMixin:
    """Folds every chunk into a :class:`ChatAccumulator`; reports usage at the end."""

    _driver: _Driver[ChatChunk]

    def _init_chat(self) -> None:
        self._accumulator = ChatAccumulator()
        self._done = False

    def _seen(self, items: Iterable[ChatChunk]) -> Iterator[ChatChunk]:
        # Folded as yielded (map is lazy: one chunk at a time, no generator frame of ours);
        # result() reads the rest of the stream, so it covers every chunk.
        return map(self._accumulator.add, self._driver.seen(items))

    def _finished(self) -> None:
        self._done = True
        driver = self._driver
        driver.call.record(driver.sink, self._accumulator.result(), "stream")

    def _result(self) -> ChatResult:
        if not self._done:
            # Never a silently truncated reply: the stream was closed or failed earlier.
            raise StreamProtocolError(
                "the stream was closed or failed before its final event: no complete result"
            )
        return self._accumulator.result()


class ChatStream(_ChatMixin, Stream[ChatChunk]):
    """``client.stream_chat(...)``: iterate :class:`ChatChunk` deltas, or call :meth:`result`.

    Example:
        >>> from dashscope_ws.emulator import Emulator, MAIN_KEY
        >>> from dashscope_ws import DashScopeClient
        >>> with Emulator() as emu, DashScopeClient(api_key=MAIN_KEY, base_url=emu.base_url) as c:
        ...     stream = c.stream_chat([{"role": "user", "content": "Hi"}], model="qwen-plus")
        ...     stream.result().finish_reason
        'stop'
    """

    def __init__(self, driver: _Driver[ChatChunk], transport: Transport) -> None:
        super().__init__(driver, transport)
        self._init_chat()

    def result(self) -> ChatResult:
        """The whole reply: reads what is left of the stream, then folds every chunk."""
        for _ in self:
            pass
        return self._result()


class AsyncChatStream(_ChatMixin, AsyncStream[ChatChunk]):
    """``client.astream_chat(...)``: ``async for`` chunks, or ``await`` :meth:`aresult`."""

    def __init__(self, driver: _Driver[ChatChunk], transport: AsyncTransport) -> None:
        super().__init__(driver, transport)
        self._init_chat()

    async def aresult(self) -> ChatResult:
        """The whole reply: reads what is left of the stream, then folds every chunk."""
        async for _ in self:
            pass
        return self._result()

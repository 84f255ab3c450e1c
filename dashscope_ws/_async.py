"""Asynchronous transport: aiohttp, one ``ClientSession`` per client *and* event loop.

An ``aiohttp.ClientSession`` is bound to the loop it was created on; reusing it from
another loop fails or hangs. A client may be used from several loops over its life
(``asyncio.run`` per call, pytest-asyncio's loop per test, a thread running its own loop),
so sessions are kept in a dict keyed by the running loop and created lazily. Nothing is
cached at module level: two clients never share a session.

Sessions clean up after themselves, so a client can simply be dropped (adapters keep one
for the life of a model object). Each session is owned by a tiny async-generator *guard*
started on its loop. The loop knows its live async generators: ``asyncio.run``,
``asyncio.Runner`` and pytest-asyncio close them before closing the loop
(``shutdown_asyncgens``), and a guard that is garbage-collected while its loop lives is
closed on that loop by asyncio's own finalizer hook; either way the guard closes its session
politely. What is left, sessions of a loop closed by hand, is quietly detached when the
client is used on another loop, closed, or collected (``weakref.finalize``), so aiohttp
never reports an "Unclosed client session".

Streams are read as raw bytes with ``resp.content.iter_chunked(64 KiB)`` (whatever has
arrived, at most 64 KiB), never ``async for line in resp.content``, which fails on lines
longer than aiohttp's buffer. Not ``iter_any()``: when the consumer is slower than the
network it returns everything buffered at once, and decoding that in one go holds every
chunk of it in memory (measured: 2.7 MB peak for a 32 KiB reply, vs flat with a cap).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from typing import Any

import aiohttp
from aiohttp import hdrs

from .config import ClientConfig, SecretStr
from .errors import APIConnectionError, APITimeoutError, DashScopeError
from .http import READ_SIZE, BoundedBody, HTTPRequest, RawResponse, TransportOptions, select_proxy
from .protocol import parse_error

__all__ = ["AiohttpTransport", "map_aiohttp_error"]

_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


class AiohttpTransport:
    """Non-blocking HTTP for one client (an :class:`~dashscope_ws.transports.AsyncTransport`).

    Takes the same :class:`TransportOptions` as the sync transport, with the same meaning
    (proxies are chosen by the same :func:`~dashscope_ws.http.select_proxy`).

    Example:
        >>> transport = AiohttpTransport(TransportOptions(timeout=30.0, connect_timeout=5.0))
        >>> transport.close()  # nothing was opened, nothing to do
    """

    def __init__(self, options: TransportOptions) -> None:
        self.options = options
        # total=None: a long stream is fine as long as bytes keep coming (sock_read).
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=options.connect_timeout, sock_read=options.timeout
        )
        # A whole non-streamed answer must arrive within total_timeout.
        self._send_timeout = aiohttp.ClientTimeout(
            total=options.deadline, sock_connect=options.connect_timeout, sock_read=options.timeout
        )
        self._sessions: dict[asyncio.AbstractEventLoop, _Owned] = {}
        self._lock = threading.Lock()
        self._closing: set[asyncio.Task[Any]] = set()
        self._authorization: tuple[SecretStr | None, str] = (None, "")
        # Not a method: the finalizer must not keep the transport alive.
        weakref.finalize(self, _detach_dead, self._sessions, self._lock)

    @classmethod
    def from_config(cls, config: ClientConfig) -> AiohttpTransport:
        """The transport for a client's resolved settings."""
        return cls(TransportOptions.from_config(config))

    def _ssl(self) -> ssl.SSLContext | bool:
        verify = self.options.verify
        return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify

    def _request(self, session: aiohttp.ClientSession, request: HTTPRequest, **options: Any) -> Any:
        proxy = select_proxy(
            request.url, proxy=self.options.proxy, trust_env=self.options.trust_env
        )
        return session.request(
            request.method,
            request.url,
            headers=self._wire_headers(request),
            data=request.content,
            proxy=proxy,
            **options,
        )

    def _wire_headers(self, request: HTTPRequest) -> dict[str, str]:
        """``request.wire_headers()``, reusing the ``Authorization`` value of the last key.

        A client signs every call with the same key: one masked header for it, not one per
        call. Kept as one tuple, swapped whole, so threads sharing the transport never pair
        a key with another key's header.
        """
        key = request.api_key
        known, value = self._authorization
        if key is not None and key is known:
            return {**request.headers, "Authorization": value}
        headers = request.wire_headers()
        if key is not None:
            self._authorization = (key, headers["Authorization"])
        return headers

    async def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        owned = self._sessions.get(loop)  # the common case, without the lock (a dict read)
        if owned is not None and not owned.session.closed:
            return owned.session
        with self._lock:
            owned = self._sessions.get(loop)
            if owned is not None and not owned.session.closed:
                return owned.session
            _detach_dead(self._sessions)
            owned = self._sessions[loop] = _Owned(
                aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(
                        limit=self.options.max_connections, ssl=self._ssl()
                    ),
                    timeout=self._timeout,
                    # Proxies are chosen per request by select_proxy (as the sync transport).
                    trust_env=False,
                )
            )
        # Runs to the guard's first yield without suspending, registering it with the loop.
        await anext(owned.guard)
        return owned.session

    async def send(self, request: HTTPRequest) -> RawResponse:
        """Send a request and read the whole answer (at most ``max_response_bytes``)."""
        try:
            session = await self._session()
            # The response's own context (release, wait for close), as aiohttp's request
            # context manager would do; awaited directly, that manager and its __aenter__
            # coroutine do not stay alive through the wait (objects the GC tracks).
            response = await self._request(session, request, timeout=self._send_timeout)
            async with response as resp:
                body = await _read_body(resp, self.options.max_response_bytes)
                return RawResponse(resp.status, dict(resp.headers), body)
        except _ERRORS as exc:
            error = map_aiohttp_error(exc)
        raise error  # outside the except block: no __context__ holding the request

    @contextlib.asynccontextmanager
    async def stream(self, request: HTTPRequest) -> AsyncIterator[AsyncIterator[bytes]]:
        """Open a stream; yield an async iterator over raw body bytes.

        Raises:
            APIStatusError: the answer's status is not 200 (the body is read and mapped).
            APIConnectionError: connecting or reading failed, including a connection cut
                mid-stream (never a silent end).
        """
        error: DashScopeError | None
        try:
            session = await self._session()
            # Headers must arrive within total_timeout; then the gap timeout applies.
            resp = await _within(self.options.deadline, self._request(session, request))
        except _ERRORS as exc:
            error = map_aiohttp_error(exc)
        else:
            error = None
        if error is not None:
            raise error
        try:
            if resp.status != 200:
                body = b"".join([chunk async for chunk in _read_chunks(resp)])
                raise parse_error(resp.status, dict(resp.headers), body)
            yield _read_chunks(resp)
        finally:
            resp.release()

    async def aclose(self) -> None:
        """Close the session of the running loop (and forget sessions of closed loops)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            owned = self._sessions.pop(loop, None)
            _detach_dead(self._sessions)
        if owned is not None:
            await owned.close()

    def close(self) -> None:
        """Close every session as far as it can be done from synchronous code.

        A session whose loop is idle is closed on that loop; on a loop running in another
        thread the close is scheduled there and awaited; from inside the running loop it is
        scheduled as a task. Prefer ``await client.aclose()`` in async code.
        """
        with self._lock:
            sessions = dict(self._sessions)
            self._sessions.clear()
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, owned in sessions.items():
            if owned.session.closed:
                continue
            if loop.is_closed():
                owned.detach()
            elif loop is current:
                task = loop.create_task(owned.close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
            elif loop.is_running():
                future = asyncio.run_coroutine_threadsafe(owned.close(), loop)
                with contextlib.suppress(Exception):
                    future.result(timeout=5)
            elif current is None:
                loop.run_until_complete(owned.close())
            else:
                owned.detach()  # an idle loop cannot be run from inside another loop


class _Owned:
    """A session and the guard that closes it when its loop shuts down (see module doc)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.guard = _guard(session)

    async def close(self) -> None:
        await self.guard.aclose()
        await self.session.close()  # idempotent; covers a guard that never started

    def detach(self) -> None:
        """Drop a session whose loop is gone, without an 'Unclosed' warning or a leaked socket.

        Its connections cannot be closed politely any more (that needs the loop), so their
        sockets are closed directly; then the connector is marked closed.
        """
        connector = self.session.connector
        self.session.detach()
        if connector is None:
            return
        for protocol in [p for conns in connector._conns.values() for p, _ in conns] + list(
            connector._acquired
        ):
            if protocol.transport is not None:
                _close_orphaned(protocol.transport)
        waiters: list[Awaitable[object]] = connector._close()
        del waiters


def _close_orphaned(transport: asyncio.BaseTransport) -> None:
    """Close the socket of a transport whose event loop was closed under it.

    Loops closed without ``shutdown_asyncgens`` leave pooled keep-alive connections open
    (llama-index's ``asyncio_run`` does this for every sync call that runs async code).
    asyncio closes a socket only from a loop callback, which a closed loop cannot run, so
    this does what that callback would have done. It relies on asyncio internals, hence
    the defensive lookups: at worst a socket is left to the garbage collector.
    """
    layer: Any = transport
    inner = getattr(getattr(transport, "_ssl_protocol", None), "_transport", None)
    if inner is not None:
        # The TLS wrapper warns on collection unless marked closed; its socket is the inner's.
        with contextlib.suppress(Exception):
            layer._closed = True
        layer = inner
    with contextlib.suppress(Exception):
        layer.abort()  # marks it closing; raises when it schedules on the closed loop
    sock = getattr(layer, "_sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()
        layer._sock = None


async def _within(seconds: float, awaitable: Awaitable[Any]) -> Any:
    """``await`` with a deadline, in the current task where possible.

    ``asyncio.wait_for`` (Python 3.10) runs it in a new task: the extra loop turns let a
    short answer and its connection cut both arrive before the first read, and aiohttp
    then raises the cut before handing out the data that came first.
    """
    timeout = getattr(asyncio, "timeout", None)
    if timeout is None:  # pragma: no cover - Python 3.10
        return await asyncio.wait_for(awaitable, seconds)
    async with timeout(seconds):
        return await awaitable


async def _guard(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await session.close()


def _detach_dead(
    sessions: dict[asyncio.AbstractEventLoop, _Owned], lock: threading.Lock | None = None
) -> None:
    """Forget the sessions of closed loops (callers hold the lock, or pass it)."""
    with lock or contextlib.nullcontext():
        for loop in [lp for lp in sessions if lp.is_closed()]:
            sessions.pop(loop).detach()


async def _read_body(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """A whole non-streamed body, refused beyond ``limit`` bytes.

    A declared length within the limit, not compressed, is read in one ``read()`` (what a
    plain aiohttp caller does; aiohttp stops at that length). A compressed body can inflate
    past its declared length, and a chunked one declares none: those are counted as read.
    """
    length = resp.content_length
    if length is not None and length <= limit and hdrs.CONTENT_ENCODING not in resp.headers:
        return await resp.read()
    body = BoundedBody(limit)
    async for chunk in resp.content.iter_chunked(READ_SIZE):
        body.add(chunk)
    return body.value()


async def _read_chunks(resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in resp.content.iter_chunked(READ_SIZE):
            yield chunk
    except _ERRORS as exc:
        error = map_aiohttp_error(exc, mid_stream=True)
    else:
        return
    raise error


def map_aiohttp_error(exc: BaseException, *, mid_stream: bool = False) -> DashScopeError:
    """Translate an aiohttp/asyncio failure; the message never carries headers."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return APITimeoutError(f"timed out connecting to the server: {exc}")
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return APITimeoutError(f"timed out waiting for the server to send data: {exc!r}")
    where = "the connection was lost mid-stream" if mid_stream else "could not reach the server"
    return APIConnectionError(f"{where}: {type(exc).__name__}: {exc}")

"""Synchronous transport: one pooled ``requests.Session`` per client.

This module only moves bytes. Everything about what the bytes mean (request bodies,
error bodies, SSE) lives in the pure modules; here we send an
:class:`~dashscope_ws.http.HTTPRequest`, hand back a :class:`~dashscope_ws.http.RawResponse`
or a byte iterator, and translate ``requests``/``urllib3`` failures into
:class:`~dashscope_ws.errors.APIConnectionError` / :class:`~dashscope_ws.errors.APITimeoutError`
raised ``from None``: the library's exception holds the prepared request, headers included.

Streams are read with ``raw.read1`` (whatever bytes have arrived, up to 64 KiB), never
``iter_lines()``: the SSE decoder does its own line splitting, which stays correct when a
``\\r\\n`` straddles two reads. ``decode_content=True`` because ``requests`` opens the raw
response undecoded: a gzip-compressing gateway or proxy would otherwise feed compressed
bytes to the decoder.

Deadlines. ``requests`` only knows per-read timeouts, so a server trickling a byte a second
(headers or body) would never time out. The total per attempt (``total_timeout``) is kept
by a watchdog (on the one scheduler thread of :mod:`dashscope_ws._deadlines`) that shuts
the attempt's socket down when it expires; the
connection classes below tell the watchdog which socket belongs to the attempt.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ._deadlines import schedule
from .config import ClientConfig
from .errors import APIConnectionError, APITimeoutError, DashScopeError
from .http import READ_SIZE, BoundedBody, HTTPRequest, RawResponse, TransportOptions, select_proxy
from .protocol import parse_error

__all__ = ["RequestsTransport", "map_requests_error"]

_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)
_attempt = threading.local()


class _NoNetrcAuth(requests.auth.AuthBase):
    """Keep the Authorization header we built (never ``~/.netrc`` credentials)."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


class _Watched:
    """Mixin for urllib3 connections: report each request's connection to the watchdog."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        sink = getattr(_attempt, "connections", None)
        if sink is not None:
            sink.append(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(HTTPAdapter):
    """Pools whose connections the watchdog can find (plain and through a proxy)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        return manager


class _Watchdog:
    """Shut the attempt's sockets down when its deadline passes (a blocked read then ends)."""

    def __init__(self, seconds: float) -> None:
        self.connections: list[Any] = []
        self.fired = False
        self._deadline = schedule(seconds, self._fire)

    def _fire(self) -> None:
        self.fired = True
        for connection in self.connections:
            sock = getattr(connection, "sock", None)
            if sock is not None:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._deadline.cancel()

    def error(self, exc: BaseException, *, mid_stream: bool = False) -> DashScopeError:
        if self.fired:
            return APITimeoutError("the server did not answer within total_timeout")
        return map_requests_error(exc, mid_stream=mid_stream)


class RequestsTransport:
    """Blocking HTTP for one client (a :class:`~dashscope_ws.transports.Transport`).

    Args:
        options: timeouts, size limit, proxy, TLS and pool size (see :class:`TransportOptions`).

    Example:
        >>> transport = RequestsTransport(TransportOptions(timeout=30.0, connect_timeout=5.0))
        >>> transport.close()  # nothing was opened, nothing to do
    """

    def __init__(self, options: TransportOptions) -> None:
        self.options = options
        self._timeouts = (options.connect_timeout, options.timeout)
        self._session: requests.Session | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: ClientConfig) -> RequestsTransport:
        """The transport for a client's resolved settings."""
        return cls(TransportOptions.from_config(config))

    def _get_session(self) -> requests.Session:
        session = self._session
        if session is None:
            with self._lock:
                session = self._session
                if session is None:
                    session = requests.Session()
                    session.auth = _NoNetrcAuth()
                    # Proxies are chosen by us (select_proxy), the same way as the async
                    # transport: loopback never proxied, NO_PROXY honoured.
                    session.trust_env = False
                    session.verify = self.options.verify
                    # Retries are ours (RetryPolicy); urllib3 must not resend behind our back.
                    adapter = _Adapter(
                        pool_connections=4, pool_maxsize=self.options.max_connections
                    )
                    session.mount("https://", adapter)
                    session.mount("http://", adapter)
                    self._session = session
        return session

    def _open(self, request: HTTPRequest, watchdog: _Watchdog) -> requests.Response:
        proxy = select_proxy(
            request.url, proxy=self.options.proxy, trust_env=self.options.trust_env
        )
        _attempt.connections = watchdog.connections
        try:
            return self._get_session().request(
                request.method,
                request.url,
                headers=request.wire_headers(),
                data=request.content,
                timeout=self._timeouts,
                stream=True,
                proxies={"http": proxy, "https": proxy} if proxy else None,
            )
        except _ERRORS as exc:
            # Raised outside the except block: no __context__ holding the prepared request.
            error = watchdog.error(exc)
        finally:
            _attempt.connections = None
        raise error

    def send(self, request: HTTPRequest) -> RawResponse:
        """Send a request and read the whole answer (at most ``max_response_bytes``)."""
        watchdog = _Watchdog(self.options.deadline)
        try:
            resp = self._open(request, watchdog)
            with resp:
                body = BoundedBody(self.options.max_response_bytes)
                for chunk in _read_chunks(resp, watchdog):
                    body.add(chunk)
                return RawResponse(resp.status_code, dict(resp.headers), body.value())
        finally:
            watchdog.cancel()

    @contextmanager
    def stream(self, request: HTTPRequest) -> Iterator[Iterator[bytes]]:
        """Open a stream; yield an iterator over raw body bytes.

        Raises:
            APIStatusError: the answer's status is not 200 (the body is read and mapped).
            APIConnectionError: connecting or reading failed, including a connection cut
                mid-stream (never a silent end).
        """
        watchdog = _Watchdog(self.options.deadline)
        try:
            resp = self._open(request, watchdog)
        finally:
            watchdog.cancel()  # headers are in: from here the gap timeout and the stream's own
        try:
            if resp.status_code != 200:
                body = b"".join(_read_chunks(resp, watchdog))
                raise parse_error(resp.status_code, dict(resp.headers), body)
            yield _read_chunks(resp, watchdog, mid_stream=True)
        finally:
            resp.close()

    def close(self) -> None:
        """Close pooled connections; the transport reopens lazily if used again."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()


def _read_chunks(
    resp: requests.Response, watchdog: _Watchdog, *, mid_stream: bool = False
) -> Iterator[bytes]:
    error: DashScopeError | None
    try:
        while chunk := resp.raw.read1(READ_SIZE, decode_content=True):
            yield chunk
    except _ERRORS as exc:
        error = watchdog.error(exc, mid_stream=mid_stream)
    else:
        error = None
    if error is not None:
        raise error  # outside the except block: no credential-holding __context__
    if watchdog.fired and not mid_stream:
        raise APITimeoutError("the server did not answer within total_timeout")


def map_requests_error(exc: BaseException, *, mid_stream: bool = False) -> DashScopeError:
    """Translate a ``requests``/``urllib3`` failure; the message never carries headers."""
    cause = exc.args[0] if isinstance(exc, requests.ConnectionError) and exc.args else exc
    if isinstance(exc, requests.ConnectTimeout):
        return APITimeoutError(f"timed out connecting to the server: {exc}")
    if isinstance(exc, (requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError)) or isinstance(
        cause, urllib3.exceptions.ReadTimeoutError
    ):
        return APITimeoutError(f"timed out waiting for the server to send data: {exc}")
    where = "the connection was lost mid-stream" if mid_stream else "could not reach the server"
    return APIConnectionError(f"{where}: {type(exc).__name__}: {exc}")

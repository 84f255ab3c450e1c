"""Synchronous transport: one pooled ``requests.Session`` per client.

This module only moves bytes. Everything about what the bytes mean (request bodies,
error bodies, SSE) lives in the pure modules; here we send an
:class:`~dashscope_ws.protocol.HTTPRequest`, hand back ``(status, headers, body)`` or a
byte iterator, and translate ``requests``/``urllib3`` failures into
:class:`~dashscope_ws.errors.APIConnectionError` / :class:`~dashscope_ws.errors.APITimeoutError`.

Streams are read with ``raw.read1`` (whatever bytes have arrived, up to 64 KiB), never
``iter_lines()``: the SSE decoder does its own line splitting, which stays correct when a
``\\r\\n`` straddles two reads. ``decode_content=True`` because ``requests`` opens the raw
response undecoded: a gzip-compressing gateway or proxy would otherwise feed compressed
bytes to the decoder.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from .errors import APIConnectionError, APITimeoutError, DashScopeError
from .protocol import HTTPRequest, parse_error

__all__ = ["RawResponse", "SyncTransport", "map_requests_error"]

READ_SIZE = 64 * 1024
_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)
POOL_MAXSIZE = 32
"""Keep-alive connections per host: enough for a thread pool sharing one client."""


@dataclass(frozen=True)
class RawResponse:
    """A fully read HTTP answer, as the pure parsers want it."""

    status: int
    headers: dict[str, str]
    body: bytes


class _NoNetrcAuth(requests.auth.AuthBase):
    """Keep the Authorization header we built.

    With ``trust_env`` (kept for proxy settings) ``requests`` would otherwise replace it
    with credentials from ``~/.netrc`` for matching hosts.
    """

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


class SyncTransport:
    """Blocking HTTP for one client; the session is created on first use.

    Args:
        timeout: read timeout in seconds (for streams: the longest gap between reads).
        connect_timeout: TCP/TLS connect timeout in seconds.

    Example:
        >>> transport = SyncTransport(timeout=30.0, connect_timeout=5.0)
        >>> transport.close()  # nothing was opened, nothing to do
    """

    def __init__(self, *, timeout: float, connect_timeout: float) -> None:
        self._timeouts = (connect_timeout, timeout)
        self._session: requests.Session | None = None
        self._lock = threading.Lock()

    def _get_session(self) -> requests.Session:
        session = self._session
        if session is None:
            with self._lock:
                session = self._session
                if session is None:
                    session = requests.Session()
                    session.auth = _NoNetrcAuth()
                    # Retries are ours (RetryPolicy); urllib3 must not resend behind our back.
                    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_MAXSIZE)
                    session.mount("https://", adapter)
                    session.mount("http://", adapter)
                    self._session = session
        return session

    def send(self, request: HTTPRequest) -> RawResponse:
        """Send a request and read the whole answer."""
        resp = self._open(request, stream=False)
        return RawResponse(resp.status_code, dict(resp.headers), resp.content)

    def _open(self, request: HTTPRequest, *, stream: bool) -> requests.Response:
        """Send; with ``stream=False`` the body has been read (requests reads it eagerly)."""
        try:
            return self._get_session().request(
                request.method,
                request.url,
                headers=request.headers,
                json=request.json,
                data=request.content,
                timeout=self._timeouts,
                stream=stream,
            )
        except _ERRORS as exc:
            raise map_requests_error(exc) from exc

    @contextmanager
    def stream(self, request: HTTPRequest) -> Iterator[Iterator[bytes]]:
        """Open a stream; yield an iterator over raw body bytes.

        Raises:
            APIStatusError: the answer's status is not 200 (the body is read and mapped).
            APIConnectionError: connecting or reading failed, including a connection cut
                mid-stream (never a silent end).
        """
        resp = self._open(request, stream=True)
        try:
            if resp.status_code != 200:
                body = b"".join(_read_chunks(resp))
                raise parse_error(resp.status_code, dict(resp.headers), body)
            yield _read_chunks(resp)
        finally:
            resp.close()

    def close(self) -> None:
        """Close pooled connections; the transport reopens lazily if used again."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()


def _read_chunks(resp: requests.Response) -> Iterator[bytes]:
    try:
        while chunk := resp.raw.read1(READ_SIZE, decode_content=True):
            yield chunk
    except _ERRORS as exc:
        raise map_requests_error(exc, mid_stream=True) from exc


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

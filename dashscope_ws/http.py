"""The HTTP values every transport shares: a built request, a read answer, proxy choice.

Nothing here does I/O. Two rules live here so that every transport (``requests``,
``aiohttp``, a user's own, :class:`~dashscope_ws.transports.MockTransport`) follows them:

* **The key stays a secret until the wire.** :class:`HTTPRequest` carries the key as a
  :class:`~dashscope_ws.config.SecretStr`, never in ``headers``; :meth:`HTTPRequest.wire_headers`
  adds ``Authorization`` at send time as a :class:`MaskedHeader`, a ``str`` whose ``repr``
  (and pickle) is masked, so the header maps ``requests``/``urllib3``/``aiohttp`` keep in
  their own objects print masked too. (Both libraries accept a ``str`` subclass as a header
  value and encode its real characters.)
* **The body is serialised once**, strictly: ``allow_nan=False`` and no ``default=``, so NaN,
  infinity, sets, bytes or arbitrary objects are an
  :class:`~dashscope_ws.errors.InvalidRequestError` before anything is sent, on every path.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .config import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_RESPONSE_BYTES,
    ClientConfig,
    SecretStr,
    is_loopback,
)
from .errors import InvalidRequestError, ResponseTooLargeError

__all__ = [
    "READ_SIZE",
    "BoundedBody",
    "HTTPRequest",
    "MaskedHeader",
    "RawResponse",
    "TransportOptions",
    "encode_json",
    "environment_proxy",
    "is_loopback",
    "select_proxy",
]

READ_SIZE = 64 * 1024
"""Bytes asked for per read: streams decode whatever arrived, up to this much."""

_MASK = "Bearer **********"
_UNSET: Any = object()  # HTTPRequest.content not encoded yet


class MaskedHeader(str):
    """A header value that shows itself masked in ``repr`` and pickles.

    ``str(value)``, formatting and encoding give the real characters (what the wire needs);
    ``repr``, which tracebacks, debuggers and ``--showlocals`` use, does not.

    Example:
        >>> value = MaskedHeader("Bearer sk-123")
        >>> repr(value), value == "Bearer sk-123"
        ("'Bearer **********'", True)
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(_MASK)

    def __reduce__(self) -> tuple[Any, ...]:
        return (str, (_MASK,))


# Built once: json.dumps with non-default options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def encode_json(payload: Any) -> bytes:
    """Strict JSON bytes for a request body.

    Raises:
        InvalidRequestError: the payload holds NaN/infinity or a value JSON cannot carry
            (a set, bytes, an object); the message names the kind, never the value.

    Example:
        >>> encode_json({"temperature": 0.5})
        b'{"temperature":0.5}'
    """
    try:
        text = _ENCODER.encode(payload)
    except ValueError:
        raise InvalidRequestError(
            "the request cannot be sent as JSON: it contains NaN or infinity "
            "(check temperature, top_p and tool schemas)"
        ) from None
    except (TypeError, RecursionError) as error:
        raise InvalidRequestError(f"the request cannot be sent as JSON: {error}") from None
    return text.encode("utf-8")


@dataclass(frozen=True)
class HTTPRequest:
    """A fully built HTTP request, ready for any transport.

    Attributes:
        method: HTTP method.
        url: absolute URL.
        headers: every header except ``Authorization`` (see :meth:`wire_headers`).
        json: the JSON body (``None``: no body).
        body: raw body bytes sent instead of ``json`` (a multipart upload); its
            ``Content-Type`` travels in ``headers``.
        api_key: the key the transport sends as ``Authorization: Bearer``; the client
            fills it in from its config.

    Example:
        >>> request = HTTPRequest("POST", "https://h/api/v1/x", {}, {"model": "m"},
        ...                       api_key=SecretStr("sk-1"))
        >>> request.content, "sk-1" in repr(request)
        (b'{"model":"m"}', False)
    """

    method: str
    url: str
    headers: Mapping[str, str]
    json: Any
    api_key: SecretStr | None = field(default=None, compare=False)
    body: bytes | None = field(default=None, repr=False)

    @property
    def content(self) -> bytes | None:
        """The body bytes, encoded once (raises :class:`InvalidRequestError`)."""
        content: bytes | None = getattr(self, "_content", _UNSET)
        if content is not _UNSET:
            return content
        if self.body is not None:
            content = self.body
        else:
            content = None if self.json is None else encode_json(self.json)
        # Not functools.cached_property: that writes to __dict__, which makes Python build
        # a dict for the instance (one more object for the garbage collector per call).
        object.__setattr__(self, "_content", content)
        return content

    def __reduce__(self) -> tuple[Any, ...]:
        # Never the key: a request sent elsewhere gets the receiving client's key.
        fields = (self.method, self.url, dict(self.headers), self.json, None, self.body)
        return (HTTPRequest, fields)

    def __copy__(self) -> HTTPRequest:
        # copy.copy would otherwise use __reduce__ and silently drop the key.
        return self.signed(self.api_key)

    def signed(self, api_key: SecretStr | None) -> HTTPRequest:
        """This request with ``api_key`` (its encoded body kept, never encoded twice).

        Every call signs its request: the fields are passed on directly, without the
        field-by-field introspection of ``dataclasses.replace`` (2.5x slower).
        """
        request = type(self)(self.method, self.url, self.headers, self.json, api_key, self.body)
        content = getattr(self, "_content", _UNSET)
        if content is not _UNSET:
            object.__setattr__(request, "_content", content)
        return request

    def __deepcopy__(self, memo: dict[int, Any]) -> HTTPRequest:
        return dataclasses.replace(self, headers=dict(self.headers), json=copy.deepcopy(self.json))

    def wire_headers(self, *, reveal: bool = True) -> dict[str, str]:
        """The headers to send: ``headers`` plus ``Authorization`` (masked in ``repr``).

        ``reveal=False`` writes the masked value itself (what a mock handler sees by default).
        """
        headers = dict(self.headers)
        if self.api_key is not None:
            value = f"Bearer {self.api_key.get_secret_value()}" if reveal else _MASK
            headers["Authorization"] = MaskedHeader(value)
        return headers


@dataclass(frozen=True)
class RawResponse:
    """A fully read HTTP answer, as the pure parsers want it.

    Example:
        >>> RawResponse(200, {"content-type": "application/json"}, b"{}").status
        200
    """

    status: int
    headers: Mapping[str, str]
    body: bytes


def environment_proxy(url: str) -> str | None:
    """The proxy ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` name for ``url``, honouring
    ``NO_PROXY``; loopback hosts are never proxied (as curl does).

    Example:
        >>> environment_proxy("http://127.0.0.1:8080/api/v1") is None
        True
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _loopback(host):
        return None
    # Read on every call (the environment may change), but cheaply: the standard scan
    # decodes every variable twice (~40 µs); most environments name no proxy at all.
    if "_proxy" not in "\0".join(os.environ).lower():
        return None
    proxies = urllib.request.getproxies_environment()
    if not proxies:
        return None
    # proxy_bypass_environment reads no_proxy/NO_PROXY (both spellings, like requests).
    if urllib.request.proxy_bypass_environment(host, proxies):  # type: ignore[attr-defined]
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


# A client talks to one or two hosts: parsing the address on every call costs ~2 µs.
_loopback = functools.lru_cache(maxsize=64)(is_loopback)


def select_proxy(url: str, *, proxy: str | None, trust_env: bool) -> str | None:
    """The proxy for one request: ``proxy=`` if given, else the environment's (if trusted)."""
    if proxy is not None:
        return proxy or None
    return environment_proxy(url) if trust_env else None


@dataclass(frozen=True)
class TransportOptions:
    """The connection options both built-in transports take, with the same meaning.

    Example:
        >>> TransportOptions(timeout=30.0, connect_timeout=5.0).total_timeout
        35.0
    """

    timeout: float
    connect_timeout: float
    total_timeout: float | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    proxy: str | None = None
    verify: bool | str = True
    trust_env: bool = True
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def __post_init__(self) -> None:
        if self.total_timeout is None:
            object.__setattr__(self, "total_timeout", self.connect_timeout + self.timeout)

    @classmethod
    def from_config(cls, config: ClientConfig) -> TransportOptions:
        """The options of a client's resolved settings."""
        return cls(
            timeout=config.timeout,
            connect_timeout=config.connect_timeout,
            total_timeout=config.total_timeout,
            max_response_bytes=config.max_response_bytes,
            proxy=config.proxy,
            verify=config.verify,
            trust_env=config.trust_env,
            max_connections=config.max_connections,
        )

    @property
    def deadline(self) -> float:
        """``total_timeout`` (always set after construction)."""
        return float(self.total_timeout or 0)


class BoundedBody:
    """A non-streamed body read chunk by chunk, refused beyond ``limit`` bytes.

    Example:
        >>> body = BoundedBody(4)
        >>> body.add(b"abc"); body.value()
        b'abc'
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._data = bytearray()

    def add(self, chunk: bytes) -> None:
        """Append ``chunk``; raises :class:`ResponseTooLargeError` past the limit."""
        self._data += chunk
        if len(self._data) > self.limit:
            raise ResponseTooLargeError(
                f"the answer is larger than max_response_bytes={self.limit}; the rest was not read"
            )

    def value(self) -> bytes:
        """The bytes read so far."""
        return bytes(self._data)

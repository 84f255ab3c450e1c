"""Where the key may go: the :class:`SecretStr` wrapper and the clear-text rules.

Kept apart from :mod:`dashscope_ws.config` (which re-exports it) so that everything that
decides about the key's safety is read in one place.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["SecretStr", "check_plain_http", "is_loopback", "secret_key"]


class SecretStr:
    """A string that never shows itself in ``repr``/``str`` (API keys).

    Example:
        >>> key = SecretStr("sk-123")
        >>> (str(key), key.get_secret_value())
        ('**********', 'sk-123')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """The real value; call only where it is sent."""
        return self._value

    def __repr__(self) -> str:
        return "'**********'"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def is_loopback(host: str) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1`` (never proxied, may use http).

    Example:
        >>> is_loopback("127.0.0.2"), is_loopback("[::1]"), is_loopback("example.com")
        (True, True, False)
    """
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secret_key(value: str | SecretStr | None) -> SecretStr:
    """Wrap the key at once (no plain key in frame locals) and check it can be sent."""
    secret = value if isinstance(value, SecretStr) else SecretStr(value or "")
    # The plain value leaves this frame's locals before anything can raise: a traceback
    # printer (``--showlocals``, Sentry) would show it, and a refused key is mostly real.
    del value
    # Checked through the wrapper: the error messages never echo the key.
    if not secret.get_secret_value().strip():
        raise ValueError("no DashScope API key: pass api_key=... or set DASHSCOPE_API_KEY")
    if not _sendable(secret):
        raise ValueError(
            "the API key contains a character that cannot be sent in an HTTP header "
            "(a line break, a control character or a non-Latin-1 character such as a "
            "zero-width space pasted with it): copy the key again"
        )
    return secret


def _sendable(secret: SecretStr) -> bool:
    return all(" " <= ch <= "\xff" and ch != "\x7f" for ch in secret.get_secret_value())


def check_plain_http(url: str, proxy: str | None, *, insecure: bool) -> None:
    """Refuse to send the key in clear text to a host that is not loopback (proxy included)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or insecure:
        return
    if not is_loopback(parts.hostname or ""):
        raise ValueError(
            f"refusing to send the API key over plain http to {parts.hostname!r}: use "
            "https, or pass allow_insecure_http=True"
        )
    proxy_host = urlsplit(proxy).hostname if proxy else None
    if proxy_host is not None and not is_loopback(proxy_host):
        raise ValueError(
            f"refusing to send the API key over plain http through the proxy {proxy_host!r}: "
            "use https, or pass allow_insecure_http=True"
        )

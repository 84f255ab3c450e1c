"""Pure ``multipart/form-data`` encoding (RFC 7578) for the upload endpoints.

Two endpoints take a file: the OpenAI-compatible ``/files`` upload of batch input and the OSS
upload of a local image/audio/video behind ``uploads?action=getPolicy``. Both transports send
raw bytes, so the body is built once here, identically for ``requests`` and ``aiohttp``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["FilePart", "encode_multipart"]

_CRLF = b"\r\n"


@dataclass(frozen=True)
class FilePart:
    """One file field of a form.

    Example:
        >>> FilePart("batch.jsonl", b"{}", "application/jsonl").filename
        'batch.jsonl'
    """

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


def _quote(value: str) -> str:
    # RFC 7578 §4.2: quote the name; a CR, LF or quote inside cannot be sent safely.
    if any(char in value for char in '\r\n"'):
        raise ValueError(f"form field or file name may not contain CR, LF or quotes: {value!r}")
    return f'"{value}"'


def encode_multipart(
    fields: Mapping[str, str],
    files: Mapping[str, FilePart],
    *,
    boundary: str | None = None,
) -> tuple[str, bytes]:
    """Encode ``fields`` then ``files`` as one form; returns ``(content_type, body)``.

    Fields come first because OSS's POST-policy upload requires the policy fields before the
    ``file`` field (the service ignores fields after the file).

    Example:
        >>> ctype, body = encode_multipart({"purpose": "batch"}, {}, boundary="b")
        >>> ctype
        'multipart/form-data; boundary=b'
        >>> body
        b'--b\\r\\nContent-Disposition: form-data; name="purpose"\\r\\n\\r\\nbatch\\r\\n--b--\\r\\n'
    """
    marker = boundary or secrets.token_hex(16)
    dash = f"--{marker}".encode()
    parts: list[bytes] = []
    for name, value in fields.items():
        head = f"Content-Disposition: form-data; name={_quote(name)}"
        parts += [dash, _CRLF, head.encode(), _CRLF, _CRLF, value.encode(), _CRLF]
    for name, part in files.items():
        head = (
            f"Content-Disposition: form-data; name={_quote(name)}; "
            f"filename={_quote(part.filename)}\r\nContent-Type: {part.content_type}"
        )
        parts += [dash, _CRLF, head.encode(), _CRLF, _CRLF, part.content, _CRLF]
    parts += [dash, b"--", _CRLF]
    return f"multipart/form-data; boundary={marker}", b"".join(parts)

"""Pure upload flow for local media: policy request, OSS form upload, ``oss://`` reference.

DashScope cannot read a local path. The official SDK uploads the file to a temporary OSS
bucket first and sends ``oss://…`` in the message instead. Three steps, each pure here so a
client method is a few lines (``send`` is the transport)::

    policy = parse_policy(*send(build_policy_request(config, model)))
    upload = build_upload_request(policy, local_file(path))
    check_upload_response(*send(upload.request))
    url = upload.oss_url   # then send the chat with oss_resolve_headers()

The only I/O here is :func:`local_file` reading a local path. A policy may be reused for
several files of one call (each gets its own key under ``upload_dir``) while it has not
expired (``expire_in_seconds``).

What is confirmed, and where from:

* ``GET {api}/uploads?action=getPolicy&model=<model>`` with the usual API-key and workspace
  headers (official SDK ``dashscope/utils/oss_utils.py`` ``OssUtils.get_upload_certificate``:
  ``GetMixin.get`` with ``params={"action": "getPolicy", "model": model}``).
* The answer's fields sit under ``data`` (the SDK's ``_handle_http_stream_response`` moves
  ``json["data"]`` into ``output``, and ``OssUtils.upload`` reads ``upload_info = output``):
  ``upload_host``, ``upload_dir``, ``policy``, ``signature``, ``oss_access_key_id``,
  ``x_oss_object_acl``, ``x_oss_forbid_overwrite`` are read by the SDK. ``expire_in_seconds``,
  ``max_file_size_mb`` and ``capacity_limit_mb`` are listed by the official page "Upload local
  files to get temporary URLs" (help.aliyun.com ``get-temporary-file-url``); the SDK does not
  read them, so they are optional here.
* The upload is a ``multipart/form-data`` POST to ``upload_host`` with the fields
  ``OSSAccessKeyId``, ``Signature``, ``policy``, ``key`` (= ``upload_dir + "/" + basename``),
  ``x-oss-object-acl``, ``x-oss-forbid-overwrite``, ``success_action_status: "200"``,
  ``x-oss-content-type`` and then ``file``; success is HTTP 200; the reference is
  ``"oss://" + key`` (``OssUtils.upload``). No ``Authorization`` header goes to the OSS host.
* A message using the reference must be sent with ``X-DashScope-OssResourceResolve: enable``
  (same page; SDK ``aigc/multimodal_conversation.py``).

Assumed: OSS's error answers are XML ``<Error><Code>…</Code><Message>…</Message>``
(OSS's documented format; read tolerantly, a non-XML body is kept as the message).
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union
from urllib.parse import quote, unquote, urlparse

from .errors import DashScopeError, error_from_response
from .http import HTTPRequest
from .multipart import FilePart, encode_multipart
from .wire import load_success_body, request_id_of

if TYPE_CHECKING:
    from .config import ClientConfig

__all__ = [
    "OSS_RESOLVE_HEADER",
    "LocalFile",
    "OssUpload",
    "UploadPolicy",
    "UploadTooLargeError",
    "build_policy_request",
    "build_upload_request",
    "check_upload_response",
    "local_file",
    "oss_resolve_headers",
    "parse_policy",
]

OSS_RESOLVE_HEADER = "X-DashScope-OssResourceResolve"
POLICY_PATH = "uploads"
_MB = 1024 * 1024
_REQUIRED = ("upload_host", "upload_dir", "policy", "signature", "oss_access_key_id")
_XML_FIELD = re.compile(r"<(Code|Message|RequestId)>([^<]*)</\1>")
# Magic numbers of the media DashScope's multimodal models take, for bytes with no name.
_MAGIC: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", ".png"),
    (b"\xff\xd8\xff", 0, "image/jpeg", ".jpg"),
    (b"GIF8", 0, "image/gif", ".gif"),
    (b"WEBP", 8, "image/webp", ".webp"),
    (b"BM", 0, "image/bmp", ".bmp"),
    (b"WAVE", 8, "audio/wav", ".wav"),
    (b"ID3", 0, "audio/mpeg", ".mp3"),
    (b"ftyp", 4, "video/mp4", ".mp4"),
)

Source = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"]


class UploadTooLargeError(DashScopeError, ValueError):
    """A file is larger than the upload policy allows; raised before anything is sent.

    Example:
        >>> str(UploadTooLargeError("a.png", 2_000_000, 1_048_576))
        'a.png is 2000000 bytes; the upload policy allows at most 1048576 bytes'
    """

    def __init__(self, filename: str, size: int, limit: int) -> None:
        self.filename, self.size, self.limit = filename, size, limit
        super().__init__(
            f"{filename} is {size} bytes; the upload policy allows at most {limit} bytes"
        )


@dataclass(frozen=True)
class UploadPolicy:
    """The answer of ``uploads?action=getPolicy``: where and how to upload, for how long.

    ``policy`` and ``signature`` are short-lived credentials: kept out of ``repr``.

    Example:
        >>> p = UploadPolicy("https://oss.example", "dir/x", "cG9s", "sig", "LTAI")
        >>> p.max_file_size is None, p.x_oss_forbid_overwrite
        (True, 'true')
    """

    upload_host: str
    upload_dir: str
    policy: str = field(repr=False)
    signature: str = field(repr=False)
    oss_access_key_id: str = field(repr=False)
    x_oss_object_acl: str = "private"
    x_oss_forbid_overwrite: str = "true"
    expire_in_seconds: float | None = None
    max_file_size_mb: float | None = None
    capacity_limit_mb: float | None = None
    request_id: str | None = None

    @property
    def max_file_size(self) -> int | None:
        """The size limit in bytes, when the policy states one."""
        return None if self.max_file_size_mb is None else int(self.max_file_size_mb * _MB)


@dataclass(frozen=True)
class LocalFile:
    """A file's name, bytes and MIME type, ready to upload.

    Example:
        >>> LocalFile("a.png", b"\\x89PNG", "image/png").size
        4
    """

    filename: str
    content: bytes = field(repr=False)
    mime_type: str = "application/octet-stream"

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.content)


@dataclass(frozen=True)
class OssUpload:
    """A prepared upload: the request to send and the reference it will create.

    ``request`` is a raw-body :class:`~dashscope_ws.http.HTTPRequest` with ``api_key=None``:
    it goes through the same transports as every other request, and no ``Authorization``
    header ever reaches the OSS host (the form's signed policy authorises it).

    Example:
        >>> OssUpload(HTTPRequest("POST", "u", {}, None, body=b""), "oss://d/a.png").oss_url
        'oss://d/a.png'
    """

    request: HTTPRequest
    oss_url: str


def build_policy_request(
    config: ClientConfig, model: str, *, workspace: str | None = None
) -> HTTPRequest:
    """The ``GET uploads?action=getPolicy&model=…`` request (API key and workspace headers).

    Raises:
        ValueError: ``model`` is empty.
    """
    if not isinstance(model, str) or not model.strip():
        raise ValueError("model must be a non-empty string: uploads are bound to one model")
    headers = config.headers(workspace=workspace)
    headers.pop("Content-Type", None)  # a GET without a body
    query = f"action=getPolicy&model={quote(model.strip(), safe='')}"
    url = config.url(f"{POLICY_PATH}?{query}", workspace=workspace)
    return HTTPRequest("GET", url, headers, None)


def _text(value: Any) -> str:
    if isinstance(value, bool):  # a JSON true must reach the form as OSS's "true"
        return "true" if value else "false"
    return str(value)


def _number_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None


def parse_policy(status: int, headers: Mapping[str, str], body: bytes) -> UploadPolicy:
    """Read the getPolicy answer.

    Raises:
        APIStatusError: the mapped error for an error answer; code ``"InvalidResponse"`` when
            the answer lacks a field the upload needs.
    """
    payload = load_success_body(status, headers, body)
    data = payload.get("data", payload.get("output"))
    missing = [n for n in _REQUIRED if not isinstance(data, Mapping) or data.get(n) in (None, "")]
    request_id = request_id_of(payload, headers)
    if missing or not isinstance(data, Mapping):
        raise error_from_response(
            status, "InvalidResponse", f"upload policy lacks {', '.join(missing)}", request_id,
            body=payload,
        )  # fmt: skip
    return UploadPolicy(
        upload_host=_text(data["upload_host"]).rstrip("/"),
        upload_dir=_text(data["upload_dir"]).strip("/"),
        policy=_text(data["policy"]),
        signature=_text(data["signature"]),
        oss_access_key_id=_text(data["oss_access_key_id"]),
        x_oss_object_acl=_text(data.get("x_oss_object_acl") or "private"),
        x_oss_forbid_overwrite=_text(data.get("x_oss_forbid_overwrite", "true")),
        expire_in_seconds=_number_or_none(data.get("expire_in_seconds")),
        max_file_size_mb=_number_or_none(data.get("max_file_size_mb")),
        capacity_limit_mb=_number_or_none(data.get("capacity_limit_mb")),
        request_id=request_id,
    )


def _safe_name(filename: str) -> str:
    # The key is upload_dir + "/" + basename (as the SDK builds it); a name with a path,
    # quotes or line breaks cannot go into the form safely.
    name = re.sub(r'[\x00-\x1f"\\/]+', "_", os.path.basename(filename.replace("\\", "/")))
    return name.strip(". ") or "upload.bin"


def build_upload_request(policy: UploadPolicy, file: LocalFile) -> OssUpload:
    """The OSS form upload of ``file`` under ``policy``: fields first, then ``file``.

    Raises:
        UploadTooLargeError: ``file`` exceeds the policy's ``max_file_size_mb``.
    """
    limit = policy.max_file_size
    if limit is not None and file.size > limit:
        raise UploadTooLargeError(file.filename, file.size, limit)
    key = f"{policy.upload_dir}/{_safe_name(file.filename)}"
    fields = {
        "OSSAccessKeyId": policy.oss_access_key_id,
        "Signature": policy.signature,
        "policy": policy.policy,
        "key": key,
        "x-oss-object-acl": policy.x_oss_object_acl,
        "x-oss-forbid-overwrite": policy.x_oss_forbid_overwrite,
        "success_action_status": "200",
        "x-oss-content-type": file.mime_type,
    }
    part = FilePart(_safe_name(file.filename), file.content, file.mime_type)
    content_type, body = encode_multipart(fields, {"file": part})
    headers = {"Content-Type": content_type, "Accept": "application/json"}
    request = HTTPRequest("POST", policy.upload_host, headers, None, body=body)
    return OssUpload(request, f"oss://{key}")


def check_upload_response(status: int, headers: Mapping[str, str], body: bytes) -> None:
    """Accept OSS's answer to the upload (2xx), or raise its error typed.

    Raises:
        APIStatusError: the mapped subclass, with OSS's ``Code``/``Message`` when the body
            is OSS's XML error (else the body's text as the message).
    """
    if 200 <= status < 300:
        return
    text = body[:2000].decode("utf-8", "replace")
    found = dict(_XML_FIELD.findall(text))
    message = found.get("Message") or text.strip() or f"upload failed with HTTP {status}"
    raise error_from_response(
        status, found.get("Code") or "UploadFailed", message, found.get("RequestId"), body=text
    )


def oss_resolve_headers() -> dict[str, str]:
    """The header a generation request needs when its messages hold ``oss://`` references."""
    return {OSS_RESOLVE_HEADER: "enable"}


def _sniff(content: bytes) -> tuple[str, str]:
    for magic, offset, mime, extension in _MAGIC:
        if content[offset : offset + len(magic)] == magic:
            return mime, extension
    return "application/octet-stream", ".bin"


def _file_uri_path(uri: str) -> Path:
    # As the official SDK's ``_resolve_file_uri_path``: netloc + path, Windows drive letters.
    parsed = urlparse(uri)
    path = (parsed.netloc + unquote(parsed.path)) if parsed.netloc else unquote(parsed.path)
    if path.startswith("/") and len(path) > 2 and path[2] == ":":
        path = path[1:]
    return Path(path).expanduser()


def _data_url(url: str) -> tuple[bytes, str]:
    head, comma, data = url.partition(",")
    if not comma or not head.endswith(";base64"):
        raise ValueError("a data: URL must be base64-encoded: data:<mime>;base64,<data>")
    try:
        content = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"invalid base64 in data: URL: {error}") from None
    return content, head[len("data:") : -len(";base64")] or "application/octet-stream"


def local_file(
    source: Source, *, filename: str | None = None, mime_type: str | None = None
) -> LocalFile:
    """Turn a path, ``file://`` URL, ``data:…;base64,`` URL or bytes into a :class:`LocalFile`.

    Names and types are taken from the path, the data URL, or the bytes' magic number.
    Base64 text must come as a data URL (plain base64 cannot be told apart from a path).

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: a malformed data URL, or an unsupported source type.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        content, guessed = bytes(source), None
    elif isinstance(source, str) and source.startswith("data:"):
        content, guessed = _data_url(source)
    elif isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        path = _file_uri_path(text) if text.startswith("file://") else Path(text).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        content = path.read_bytes()
        filename = filename or path.name
        guessed = mimetypes.guess_type(path.name)[0]
    else:
        raise ValueError(f"cannot upload a {type(source).__name__}: give a path, URL or bytes")
    sniffed, extension = _sniff(content)
    mime = mime_type or guessed or sniffed
    if filename is None:
        filename = "upload" + (mimetypes.guess_extension(mime) or extension)
    return LocalFile(filename, content, mime)

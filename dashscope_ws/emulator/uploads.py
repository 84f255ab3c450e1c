"""The temporary-file upload flow: the getPolicy endpoint, an OSS form target, the store.

Confirmed shapes (official SDK ``dashscope/utils/oss_utils.py``, and the official page
"Upload local files to get temporary URLs", help.aliyun.com ``get-temporary-file-url``):

* ``GET /api/v1/uploads?action=getPolicy&model=<m>`` with the usual key/workspace checks
  answers ``{"request_id", "data": {"policy", "signature", "upload_dir", "upload_host",
  "expire_in_seconds", "max_file_size_mb", "capacity_limit_mb", "oss_access_key_id",
  "x_oss_object_acl", "x_oss_forbid_overwrite"}}``.
* The upload is a multipart POST to ``upload_host`` with ``OSSAccessKeyId``, ``Signature``,
  ``policy``, ``key`` (under ``upload_dir``), ``x-oss-object-acl``,
  ``x-oss-forbid-overwrite``, ``success_action_status`` and ``file``; 200 on success.
* Files are bound to the model named at upload (the page's "File-model binding").

Assumed (the emulator's choices): the values (``max_file_size_mb`` 100 by default, 300 s
expiry, the dir layout), OSS's XML error bodies and codes (``EntityTooLarge``,
``SignatureDoesNotMatch``, ``FileAlreadyExists``, ``InvalidArgument``, ``AccessDenied`` for an
expired policy: OSS's documented codes), and the answer to an unknown ``action`` (400
``InvalidParameter``). The upload target lives on the emulator's own server at
``/oss-upload``: the OSS host speaks XML, not DashScope's JSON error shape.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from .wire import invalid

__all__ = ["DEFAULT_MAX_FILE_SIZE_MB", "OSS_UPLOAD_PATH", "OssError", "UploadStore", "parse_form"]

OSS_UPLOAD_PATH = "/oss-upload"
DEFAULT_MAX_FILE_SIZE_MB = 100.0
POLICY_SECONDS = 300
ACCESS_KEY_ID = "LTAI-emulator"
_GENERIC = "Required parameter(s) missing or invalid, please check the request parameters."
_SECRET = b"dashscope-emulator-oss-secret"  # signs policies; not a credential of anything real


class OssError(Exception):
    """An error the emulated OSS host answers, as OSS's XML body.

    Example:
        >>> OssError(400, "EntityTooLarge", "too large").status
        400
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message

    def xml(self, request_id: str) -> str:
        """OSS's error document."""
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n'
            f"  <Code>{self.code}</Code>\n  <Message>{self.message}</Message>\n"
            f"  <RequestId>{request_id}</RequestId>\n  <HostId>emulator</HostId>\n</Error>\n"
        )


@dataclass(frozen=True)
class StoredObject:
    """An uploaded object: bytes, MIME type and the model it is bound to.

    Example:
        >>> StoredObject(b"x", "image/png", "qwen-vl-plus").model
        'qwen-vl-plus'
    """

    content: bytes
    mime_type: str
    model: str


def parse_form(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Split a ``multipart/form-data`` body: name -> (filename or None, value bytes).

    Raises:
        OssError: 400 ``InvalidArgument`` for a body that is not a well-formed form.
    """
    boundary = ""
    for piece in content_type.split(";")[1:]:
        key, _, value = piece.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not content_type.lower().startswith("multipart/form-data") or not boundary:
        raise OssError(400, "InvalidArgument", "The request must be a multipart/form-data POST.")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, separator, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise OssError(400, "InvalidArgument", "Malformed multipart form.")
        disposition = next(
            (
                line
                for line in head.decode("utf-8", "replace").split("\r\n")
                if line.lower().startswith("content-disposition:")
            ),
            "",
        )
        params = {
            k.strip().lower(): v.strip().strip('"')
            for k, _, v in (p.partition("=") for p in disposition.split(";")[1:])
        }
        if "name" in params:
            fields[params["name"]] = (params.get("filename"), data.removesuffix(b"\r\n"))
    return fields


class UploadStore:
    """Issued policies and uploaded objects (thread-safe; cleared by ``Emulator.reset()``).

    Example:
        >>> store = UploadStore()
        >>> store.get("dir/a.png", "qwen-vl-plus") is None
        True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._policies: dict[str, tuple[str, str, float, int]] = {}  # policy -> dir, model, …
        self._objects: dict[str, StoredObject] = {}
        self.max_file_size_mb = DEFAULT_MAX_FILE_SIZE_MB

    def reset(self) -> None:
        """Forget policies and objects; restore the default size limit."""
        with self._lock:
            self._policies.clear()
            self._objects.clear()
            self.max_file_size_mb = DEFAULT_MAX_FILE_SIZE_MB

    def issue(self, query: Mapping[str, str], key: str, upload_host: str) -> dict[str, object]:
        """The ``data`` of a getPolicy answer for ``query`` (``action``, ``model``)."""
        if query.get("action") != "getPolicy":
            raise invalid(_GENERIC)
        model = query["model"]
        account = hashlib.sha256(key.encode()).hexdigest()[:16]
        day = time.strftime("%Y-%m-%d", time.gmtime())
        upload_dir = f"dashscope-instant/{account}/{day}/{uuid.uuid4()}"
        expires = time.time() + POLICY_SECONDS
        limit = int(self.max_file_size_mb * 1024 * 1024)
        document = {
            "expiration": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(expires)),
            "conditions": [["content-length-range", 0, limit], ["starts-with", "$key", upload_dir]],
        }
        policy = base64.b64encode(json.dumps(document).encode()).decode()
        with self._lock:
            self._policies[policy] = (upload_dir, model, expires, limit)
        return {
            "policy": policy,
            "signature": _sign(policy),
            "upload_dir": upload_dir,
            "upload_host": upload_host,
            "expire_in_seconds": POLICY_SECONDS,
            "max_file_size_mb": self.max_file_size_mb,
            "capacity_limit_mb": 999999999,
            "oss_access_key_id": ACCESS_KEY_ID,
            "x_oss_object_acl": "private",
            "x_oss_forbid_overwrite": "true",
        }

    def accept(self, content_type: str, body: bytes) -> str:
        """Store the object of a form upload; return its key.

        Raises:
            OssError: what OSS answers for a missing field, a bad signature, an expired policy,
                a key outside the policy's dir, a file over the limit or an overwrite.
        """
        form = parse_form(content_type, body)
        text = {name: value.decode("utf-8", "replace") for name, (_, value) in form.items()}
        for name in ("OSSAccessKeyId", "policy", "Signature", "key", "file"):
            if name not in form:
                raise OssError(400, "InvalidArgument", f"Missing required field: {name}.")
        policy, key = text["policy"], text["key"]
        with self._lock:
            issued = self._policies.get(policy)
        if (
            issued is None
            or text["OSSAccessKeyId"] != ACCESS_KEY_ID
            or not hmac.compare_digest(text["Signature"], _sign(policy))
        ):
            raise OssError(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        upload_dir, model, expires, limit = issued
        if time.time() > expires:
            raise OssError(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        if not key.startswith(upload_dir + "/") or key == upload_dir + "/":
            raise OssError(
                403, "AccessDenied", "Invalid according to Policy: Policy Condition failed."
            )
        content = form["file"][1]
        if len(content) > limit:
            raise OssError(
                400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size."
            )
        mime = text.get("x-oss-content-type") or "application/octet-stream"
        with self._lock:
            if key in self._objects and text.get("x-oss-forbid-overwrite", "").lower() == "true":
                raise OssError(
                    409,
                    "FileAlreadyExists",
                    "The object you specified already exists and can not be overwritten.",
                )
            self._objects[key] = StoredObject(content, mime, model)
        return key

    def get(self, key: str, model: str) -> StoredObject | None:
        """The object under ``key`` if it exists and is bound to ``model``."""
        with self._lock:
            stored = self._objects.get(key)
        return stored if stored is not None and stored.model == model else None


def _sign(policy: str) -> str:
    return base64.b64encode(hmac.new(_SECRET, policy.encode(), hashlib.sha1).digest()).decode()

"""HTTP requests and answers of the OpenAI-compatible File and Batch endpoints (sans-I/O).

Endpoints (CONFIRMED: DashScope "OpenAI兼容-Batch" page; shapes as in the ``openai`` SDK's
``resources/files.py`` / ``resources/batches.py`` and ``types/batch.py`` /
``types/file_object.py``), all under ``/compatible-mode/v1`` on the same host as ``/api/v1``
(a workspace host ``{ws}.{region}.maas.aliyuncs.com`` serves the same root, per the official
SDK's ``v2/_config.py``):

* ``POST /files`` multipart ``file`` + ``purpose=batch`` -> File object (``id``, ``bytes``...)
* ``GET /files/{id}/content`` -> raw JSONL; ``DELETE /files/{id}``
* ``POST /batches`` ``{input_file_id, endpoint, completion_window, metadata}`` -> Batch object
* ``GET /batches/{id}``, ``POST /batches/{id}/cancel``, ``GET /batches?limit&after``

``completion_window`` "24h".."336h" (or "1d".."14d") and the ``ds_name`` / ``ds_description``
metadata keys are DashScope's (same page); the OpenAI SDK types only "24h" but sends any
string. Whether ``X-DashScope-WorkSpace`` is honoured on compatible-mode paths is UNCONFIRMED
(dashscope-protocol.md §5): we send it, as for every call, and a workspace host works either way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from ..config import ClientConfig
from ..multipart import FilePart, encode_multipart
from ..protocol import HTTPRequest, load_success_body, parse_error

__all__ = [
    "TERMINAL",
    "BatchJob",
    "cancel_request",
    "check_window",
    "compatible_mode_url",
    "content_request",
    "create_request",
    "list_request",
    "parse_content",
    "parse_file_id",
    "parse_job",
    "parse_job_response",
    "parse_jobs",
    "retrieve_request",
    "upload_request",
]

TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
_WINDOW = re.compile(r"^(\d+)([hd])$")


def compatible_mode_url(config: ClientConfig, path: str, *, workspace: str | None = None) -> str:
    """``path`` under ``/compatible-mode/v1`` on the (workspace-aware) host of ``config``.

    Example:
        >>> config = ClientConfig.resolve(api_key="k", env={})
        >>> compatible_mode_url(config, "batches")
        'https://dashscope.aliyuncs.com/compatible-mode/v1/batches'
    """
    api_root = config.url("", workspace=workspace).rstrip("/")
    return f"{api_root.removesuffix('/api/v1')}/compatible-mode/v1/{path.lstrip('/')}"


def check_window(window: str) -> str:
    """Validate a ``completion_window`` (24 h to 14 days, in ``h`` or ``d``)."""
    match = _WINDOW.match(window)
    hours = int(match.group(1)) * (24 if match.group(2) == "d" else 1) if match else 0
    if not 24 <= hours <= 336:
        raise ValueError(f"completion_window must be 24h..336h (1d..14d), got {window!r}")
    return window


@dataclass(frozen=True)
class BatchJob:
    """A batch job as the service reports it.

    Example:
        >>> job = parse_job({"id": "batch_1", "status": "in_progress",
        ...                  "request_counts": {"total": 4, "completed": 1, "failed": 1}})
        >>> job.done, job.finished_rows
        (False, 2)
    """

    id: str
    status: str
    endpoint: str = ""
    input_file_id: str = ""
    output_file_id: str | None = None
    error_file_id: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    created_at: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    errors: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        """True in a terminal status (completed, failed, expired, cancelled)."""
        return self.status in TERMINAL

    @property
    def finished_rows(self) -> int:
        """Rows answered so far (completed + failed)."""
        return self.completed + self.failed


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) else 0


def parse_job(data: Mapping[str, Any]) -> BatchJob:
    """A :class:`BatchJob` from a Batch object (tolerant of missing fields)."""
    counts = data.get("request_counts") or {}
    errors = (data.get("errors") or {}).get("data") or []
    return BatchJob(
        id=str(data["id"]),
        status=str(data.get("status", "")),
        endpoint=str(data.get("endpoint") or ""),
        input_file_id=str(data.get("input_file_id") or ""),
        output_file_id=data.get("output_file_id") or None,
        error_file_id=data.get("error_file_id") or None,
        total=_int(counts.get("total")),
        completed=_int(counts.get("completed")),
        failed=_int(counts.get("failed")),
        created_at=data.get("created_at"),
        metadata=dict(data.get("metadata") or {}),
        errors=tuple(
            f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, Mapping)
        ),
    )


def _headers(config: ClientConfig, workspace: str | None) -> dict[str, str]:
    return config.headers(workspace=workspace)


def upload_request(
    config: ClientConfig, content: bytes, *, filename: str, workspace: str | None = None
) -> HTTPRequest:
    """``POST /files`` with ``purpose=batch`` and the JSONL as the ``file`` field."""
    ctype, body = encode_multipart(
        {"purpose": "batch"}, {"file": FilePart(filename, content, "application/jsonl")}
    )
    headers = _headers(config, workspace)
    headers["Content-Type"] = ctype
    url = compatible_mode_url(config, "files", workspace=workspace)
    return HTTPRequest("POST", url, headers, None, body=body)


def create_request(
    config: ClientConfig,
    *,
    input_file_id: str,
    endpoint: str,
    completion_window: str = "24h",
    metadata: Mapping[str, str] | None = None,
    workspace: str | None = None,
) -> HTTPRequest:
    """``POST /batches``."""
    body: dict[str, Any] = {
        "input_file_id": input_file_id,
        "endpoint": endpoint,
        "completion_window": check_window(completion_window),
    }
    if metadata:
        body["metadata"] = dict(metadata)
    url = compatible_mode_url(config, "batches", workspace=workspace)
    return HTTPRequest("POST", url, _headers(config, workspace), body)


def _request(config: ClientConfig, method: str, path: str, workspace: str | None) -> HTTPRequest:
    url = compatible_mode_url(config, path, workspace=workspace)
    return HTTPRequest(method, url, _headers(config, workspace), None)


def retrieve_request(
    config: ClientConfig, batch_id: str, *, workspace: str | None = None
) -> HTTPRequest:
    """``GET /batches/{id}``."""
    return _request(config, "GET", f"batches/{quote(batch_id, safe='')}", workspace)


def cancel_request(
    config: ClientConfig, batch_id: str, *, workspace: str | None = None
) -> HTTPRequest:
    """``POST /batches/{id}/cancel``."""
    return _request(config, "POST", f"batches/{quote(batch_id, safe='')}/cancel", workspace)


def list_request(
    config: ClientConfig, *, limit: int = 20, after: str | None = None, workspace: str | None = None
) -> HTTPRequest:
    """``GET /batches?limit=&after=``."""
    query = urlencode({"limit": limit, **({"after": after} if after else {})})
    return _request(config, "GET", f"batches?{query}", workspace)


def content_request(
    config: ClientConfig, file_id: str, *, workspace: str | None = None
) -> HTTPRequest:
    """``GET /files/{id}/content``."""
    return _request(config, "GET", f"files/{quote(file_id, safe='')}/content", workspace)


def parse_job_response(raw: Any) -> BatchJob:
    """Parser for the Batch-object answers."""
    return parse_job(load_success_body(raw.status, raw.headers, raw.body))


def parse_file_id(raw: Any) -> str:
    """Parser for the ``/files`` upload answer: the file id."""
    return str(load_success_body(raw.status, raw.headers, raw.body)["id"])


def parse_jobs(raw: Any) -> list[BatchJob]:
    """Parser for ``GET /batches``."""
    data = load_success_body(raw.status, raw.headers, raw.body).get("data") or []
    return [parse_job(item) for item in data if isinstance(item, Mapping)]


def parse_content(raw: Any) -> bytes:
    """Parser for file content: the raw bytes (errors mapped as everywhere)."""
    if raw.status != 200:
        raise parse_error(raw.status, raw.headers, raw.body)
    return bytes(raw.body)

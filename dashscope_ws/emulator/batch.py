"""Emulated OpenAI-compatible File and Batch endpoints under ``/compatible-mode/v1``.

Shapes follow the ``openai`` SDK types (``FileObject``, ``Batch``) and the DashScope page
"OpenAI兼容-Batch": file ids ``file-batch-…``, batch ids ``batch_<uuid>``, statuses
``validating → in_progress → finalizing → completed`` (or ``failed``, ``expired``,
``cancelling → cancelled``), limits 50,000 lines / 500 MB per file / 6 MB per line / one
model per file, ``completion_window`` 24h..336h, output and error files as JSONL.
ASSUMED (not documented by DashScope): the exact error codes of a failed validation and of
per-line failures; we use the OpenAI ones (``batch_expired``) and the native service codes.

Time is computed, not simulated: a job's status at any moment follows from its creation time
and :class:`BatchTiming` (accelerated by default: a small job completes in well under a
second), so no background task runs and every answer is deterministic. Lines are executed
with the emulator's own chat and embedding generators when the job is created.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .batch_lines import ENDPOINTS, MAX_FILE_BYTES, error_line, execute, parse_form
from .gate import authenticate
from .identities import EmulatorConfig
from .requestbody import json_object
from .wire import ServiceError, dumps, invalid, json_response

__all__ = ["BatchService", "BatchTiming"]

ROOT = "/compatible-mode/v1"
_WINDOW = re.compile(r"^(\d+)([hd])$")


@dataclass
class BatchTiming:
    """How fast emulated jobs move (seconds of real time).

    Attributes:
        validating: time spent in ``validating``.
        per_line: time to answer one line in ``in_progress``.
        finalizing: time spent in ``finalizing``.
        cancelling: time from ``cancelling`` to ``cancelled``.
        hour: real seconds per hour of ``completion_window`` (expiry); 3600 is real time.

    Example:
        >>> BatchTiming(per_line=0.0).per_line
        0.0
    """

    validating: float = 0.05
    per_line: float = 0.001
    finalizing: float = 0.05
    cancelling: float = 0.05
    hour: float = 3600.0


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    content: bytes
    scope: str
    created_at: int = field(default_factory=lambda: int(time.time()))

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id, "object": "file", "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename, "purpose": self.purpose, "status": "processed",
        }  # fmt: skip


@dataclass
class _Batch:
    id: str
    scope: str
    endpoint: str
    input_file_id: str
    window: str
    metadata: dict[str, str] | None
    started: float  # monotonic
    created_at: int
    rows: list[tuple[str, dict[str, Any]]]  # (custom_id, output line) in input order
    errors: list[dict[str, Any]]  # validation errors: the job fails
    timing: BatchTiming
    cancel_requested: float | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    finalised: bool = False

    def _times(self) -> tuple[float, float, float, float]:
        t = self.timing
        run_start = self.started + t.validating
        run_end = run_start + t.per_line * len(self.rows)
        match = _WINDOW.match(self.window)
        hours = int(match.group(1)) * (24 if match.group(2) == "d" else 1) if match else 24
        return run_start, run_end, run_end + t.finalizing, self.started + hours * t.hour

    def _done_by(self, moment: float) -> int:
        run_start, run_end, _, _ = self._times()
        if moment >= run_end:
            return len(self.rows)
        return max(0, int((moment - run_start) / self.timing.per_line)) if moment > run_start else 0

    def status(self, now: float) -> tuple[str, int]:
        """``(status, rows answered)`` at ``now``."""
        run_start, run_end, final_end, expires = self._times()
        if self.errors:
            return ("validating" if now < run_start else "failed"), 0
        stop = self.cancel_requested
        if stop is not None and stop < final_end:
            done = self._done_by(stop)
            return ("cancelling" if now < stop + self.timing.cancelling else "cancelled"), done
        if expires < final_end and now >= expires:
            return "expired", self._done_by(expires)
        if now < run_start:
            return "validating", 0
        if now < run_end:
            return "in_progress", self._done_by(now)
        return ("finalizing" if now < final_end else "completed"), len(self.rows)


class BatchService:
    """Files and batch jobs of the emulated account, scoped by workspace.

    Example:
        >>> from dashscope_ws.emulator.identities import EmulatorConfig
        >>> BatchService(EmulatorConfig()).timing.validating
        0.05
    """

    def __init__(self, config: EmulatorConfig, timing: BatchTiming | None = None) -> None:
        self.config = config
        self.timing = timing or BatchTiming()
        self.files: dict[str, _File] = {}
        self.batches: dict[str, _Batch] = {}

    def routes(self, app: web.Application) -> None:
        """Register the endpoints on ``app``."""
        app.router.add_post(f"{ROOT}/files", self._upload)
        app.router.add_get(f"{ROOT}/files", self._list_files)
        app.router.add_get(f"{ROOT}/files/{{id}}", self._get_file)
        app.router.add_delete(f"{ROOT}/files/{{id}}", self._delete_file)
        app.router.add_get(f"{ROOT}/files/{{id}}/content", self._content)
        app.router.add_post(f"{ROOT}/batches", self._create)
        app.router.add_get(f"{ROOT}/batches", self._list_batches)
        app.router.add_get(f"{ROOT}/batches/{{id}}", self._get_batch)
        app.router.add_post(f"{ROOT}/batches/{{id}}/cancel", self._cancel)

    # -- helpers ---------------------------------------------------------------------------

    def _auth(self, request: web.Request) -> tuple[str, str]:
        key, workspace = authenticate(self.config, request.headers)
        return key, workspace or "-"  # "-": the main account's default workspace

    def _owned(self, request: web.Request, store: Mapping[str, Any], what: str) -> Any:
        """The stored file or batch named in the path, if it belongs to the caller's scope."""
        _, scope = self._auth(request)
        found = store.get(request.match_info["id"])
        if found is None or found.scope != scope:
            raise ServiceError(404, "NotFound", f"{what} {request.match_info['id']} not found.")
        return found

    def _file(self, request: web.Request) -> _File:
        found: _File = self._owned(request, self.files, "File")
        return found

    def _batch(self, request: web.Request) -> _Batch:
        found: _Batch = self._owned(request, self.batches, "Batch")
        return found

    def _new_file(self, name: str, purpose: str, content: bytes, scope: str) -> _File:
        stored = _File(f"file-batch-{uuid.uuid4().hex[:24]}", name, purpose, content, scope)
        self.files[stored.id] = stored
        return stored

    def _body(self, batch: _Batch) -> dict[str, Any]:
        now = time.monotonic()
        status, done = batch.status(now)
        failed_rows = sum(1 for _, line in batch.rows[:done] if line.get("error"))
        if status in ("completed", "cancelled", "expired") and not batch.finalised:
            self._finalise(batch, done, status)

        def wall(moment: float) -> int:  # monotonic -> unix seconds
            return int(batch.created_at + (moment - batch.started))

        run_start, run_end, final_end, expires = batch._times()
        stamps = {
            "in_progress_at": wall(run_start) if now >= run_start and not batch.errors else None,
            "finalizing_at": wall(run_end) if status in ("finalizing", "completed") else None,
            "completed_at": wall(final_end) if status == "completed" else None,
            "failed_at": wall(run_start) if status == "failed" else None,
            "expired_at": wall(expires) if status == "expired" else None,
            "cancelling_at": wall(batch.cancel_requested) if batch.cancel_requested else None,
            "cancelled_at": wall(now) if status == "cancelled" else None,
        }
        total = 0 if status == "validating" else len(batch.rows)
        return {
            "id": batch.id, "object": "batch", "endpoint": batch.endpoint,
            "errors": {"object": "list", "data": batch.errors} if batch.errors else None,
            "input_file_id": batch.input_file_id, "completion_window": batch.window,
            "status": status, "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id, "created_at": batch.created_at,
            "expires_at": wall(expires), **stamps,
            "request_counts": {
                "total": total, "completed": done - failed_rows, "failed": failed_rows,
            },
            "metadata": batch.metadata,
        }  # fmt: skip

    def _finalise(self, batch: _Batch, done: int, status: str) -> None:
        batch.finalised = True
        good = [line for _, line in batch.rows[:done] if not line.get("error")]
        bad = [line for _, line in batch.rows[:done] if line.get("error")]
        if status == "expired":
            bad += [
                error_line(cid, 400, "batch_expired", "This request could not be executed "
                            "before the completion window expired.")
                for cid, _ in batch.rows[done:]
            ]  # fmt: skip

        def encode(lines: list[dict[str, Any]]) -> bytes:
            return "".join(dumps(line) + "\n" for line in lines).encode()

        if good:
            name = f"{batch.id}_success.jsonl"
            batch.output_file_id = self._new_file(
                name, "batch_output", encode(good), batch.scope
            ).id
        if bad:
            name = f"{batch.id}_error.jsonl"
            batch.error_file_id = self._new_file(name, "batch_output", encode(bad), batch.scope).id

    # -- files -----------------------------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.Response:
        _, scope = self._auth(request)
        fields, files = parse_form(request.headers.get("Content-Type", ""), await request.read())
        purpose = fields.get("purpose")
        if purpose != "batch":
            raise invalid(f"purpose must be 'batch', got {purpose!r}")
        if "file" not in files:
            raise invalid("Required parameter 'file' missing from request.")
        filename, content = files["file"]
        if len(content) > MAX_FILE_BYTES:
            raise invalid(f"File size exceeds the limit of {MAX_FILE_BYTES} bytes.")
        return json_response(self._new_file(filename, purpose, content, scope).body())

    async def _list_files(self, request: web.Request) -> web.Response:
        _, scope = self._auth(request)
        data = [f.body() for f in reversed(self.files.values()) if f.scope == scope]
        return json_response({"object": "list", "data": data, "has_more": False})

    async def _get_file(self, request: web.Request) -> web.Response:
        return json_response(self._file(request).body())

    async def _delete_file(self, request: web.Request) -> web.Response:
        stored = self._file(request)
        del self.files[stored.id]
        return json_response({"id": stored.id, "object": "file", "deleted": True})

    async def _content(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self._file(request).content, content_type="application/octet-stream"
        )

    # -- batches ---------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        key, scope = self._auth(request)
        body = json_object(await request.read())
        endpoint = body.get("endpoint")
        if endpoint not in ENDPOINTS:
            raise invalid(f"endpoint must be one of {sorted(ENDPOINTS)}, got {endpoint!r}")
        window = str(body.get("completion_window", ""))
        match = _WINDOW.match(window)
        hours = int(match.group(1)) * (24 if match.group(2) == "d" else 1) if match else 0
        if not 24 <= hours <= 336:
            raise invalid(f"completion_window must be between 24h and 336h, got {window!r}")
        metadata = body.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, Mapping) and all(isinstance(v, str) for v in metadata.values())
        ):
            raise invalid("metadata must be an object of strings")
        source = self.files.get(str(body.get("input_file_id")))
        if source is None or source.scope != scope:
            raise ServiceError(404, "NotFound", f"File {body.get('input_file_id')} not found.")
        if source.purpose != "batch":
            raise invalid("input file purpose must be 'batch'")
        rows, errors = execute(self.config, key, str(endpoint), source.content)
        batch = _Batch(
            f"batch_{uuid.uuid4()}", scope, str(endpoint), source.id, window,
            dict(metadata) if metadata else None, time.monotonic(), int(time.time()),
            rows, errors, self.timing,
        )  # fmt: skip
        self.batches[batch.id] = batch
        return json_response(self._body(batch))

    async def _list_batches(self, request: web.Request) -> web.Response:
        _, scope = self._auth(request)
        mine = [b for b in reversed(self.batches.values()) if b.scope == scope]
        after = request.query.get("after")
        if after:
            ids = [b.id for b in mine]
            mine = mine[ids.index(after) + 1 :] if after in ids else []
        try:
            limit = max(1, min(100, int(request.query.get("limit", "20"))))
        except ValueError:  # a 400 like the quota pages' (not the catch-all's 500)
            raise invalid("limit must be an integer") from None
        page = [self._body(b) for b in mine[:limit]]
        return json_response({
            "object": "list", "data": page, "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None, "has_more": len(mine) > limit,
        })  # fmt: skip

    async def _get_batch(self, request: web.Request) -> web.Response:
        return json_response(self._body(self._batch(request)))

    async def _cancel(self, request: web.Request) -> web.Response:
        batch = self._batch(request)
        status, _ = batch.status(time.monotonic())
        if status not in ("validating", "in_progress", "finalizing", "cancelling"):
            raise invalid(f"Batch {batch.id} is {status} and cannot be cancelled.")
        if batch.cancel_requested is None:
            batch.cancel_requested = time.monotonic()
        return json_response(self._body(batch))

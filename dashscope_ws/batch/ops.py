"""Batch operations as sans-I/O generators (one body for blocking and asyncio callers).

Each operation yields what it needs done — an ``(HTTPRequest, parser)`` pair to send, or a
:class:`Sleep` — and receives the parsed answer. :class:`~dashscope_ws.batch.BatchJobs`
drives them through the client's ``_call`` / ``_acall`` (retries, error mapping, logging).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO, TypeVar

from ..config import ClientConfig
from . import wire
from .lines import (
    BatchLineError,
    BatchPart,
    BatchResult,
    BatchState,
    RequestLine,
    map_results,
    split_lines,
)
from .wire import BatchJob

__all__ = ["BatchOps", "BatchRun", "Sleep"]

T = TypeVar("T")
Op = Generator[Any, Any, T]


@dataclass(frozen=True)
class Sleep:
    """An operation's request to pause before its next step (a poll interval)."""

    seconds: float


@dataclass
class BatchRun:
    """A submission: one batch job per input file, plus resubmissions of failed rows.

    Attributes:
        state: what is persisted (file and batch ids per part) — see :class:`BatchState`.
        jobs: the latest known :class:`BatchJob` per batch id.

    Example:
        >>> run = BatchRun(BatchState(endpoint="/v1/embeddings"))
        >>> run.done, run.batch_ids
        (True, [])
    """

    state: BatchState
    jobs: dict[str, BatchJob] = field(default_factory=dict)
    recorded: set[str] = field(default_factory=set, repr=False)
    """Rows whose usage was already told to the client's usage tracker (once per row)."""

    @property
    def batch_ids(self) -> list[str]:
        """Every batch id of this submission, oldest first."""
        return [part.batch_id for part in self.state.parts]

    @property
    def done(self) -> bool:
        """True when every batch job is in a terminal status."""
        return all(self.jobs.get(i) is not None and self.jobs[i].done for i in self.batch_ids)

    @property
    def custom_ids(self) -> list[str]:
        """The input rows' ids in input order (first-attempt parts concatenated)."""
        return [cid for part in self.state.parts if part.attempt == 0 for cid in part.custom_ids]

    def summary(self) -> str:
        """One line: statuses and row counts."""
        jobs = [self.jobs[i] for i in self.batch_ids if i in self.jobs]
        statuses = ",".join(sorted({job.status for job in jobs})) or "submitted"
        total = sum(job.total for job in jobs) or len(self.custom_ids)
        finished = sum(job.finished_rows for job in jobs)
        failed = sum(job.failed for job in jobs)
        return f"{statuses}: {finished}/{total} rows ({failed} failed) in {len(jobs)} job(s)"


class _Progress:
    """A one-line progress display on stderr, only when it is a terminal."""

    def __init__(self, enabled: bool | None, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled

    def show(self, run: BatchRun) -> None:
        if self.enabled:
            self.stream.write(f"\r[batch] {run.summary()}\x1b[K")
            self.stream.flush()

    def end(self) -> None:
        if self.enabled:
            self.stream.write("\n")


class BatchOps:
    """The batch operations for one client configuration.

    Example:
        >>> ops = BatchOps(ClientConfig.resolve(api_key="k", env={}))
        >>> request, _ = next(ops.refresh_op(BatchRun(BatchState("/v1/embeddings",
        ...     [BatchPart("file-1", "batch_1", ["0"])]))))
        >>> request.url
        'https://dashscope.aliyuncs.com/compatible-mode/v1/batches/batch_1'
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        progress: bool | None = None,
    ) -> None:
        self.config = config
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.progress = progress

    def submit_op(
        self,
        lines: Iterable[RequestLine],
        *,
        completion_window: str,
        name: str | None,
        description: str | None,
        state_path: str | os.PathLike[str] | None,
        workspace: str | None,
        attempt: int = 0,
        run: BatchRun | None = None,
        limits: Mapping[str, int] | None = None,
    ) -> Op[BatchRun]:
        config = self.config
        wire.check_window(completion_window)
        metadata = {k: v for k, v in (("ds_name", name), ("ds_description", description)) if v}
        path = os.fspath(state_path) if state_path is not None else None
        run = run or BatchRun(BatchState(endpoint="", workspace=workspace, path=path))
        ws = run.state.workspace
        for number, (ids, data, endpoint) in enumerate(_files(lines, limits or {})):
            if run.state.endpoint and endpoint != run.state.endpoint:
                raise ValueError(
                    f"one submission, one endpoint: {endpoint} after {run.state.endpoint}"
                )
            run.state.endpoint = endpoint
            filename = f"batch-{attempt}-{number}.jsonl"
            file_id = yield (
                wire.upload_request(config, data, filename=filename, workspace=ws),
                wire.parse_file_id,
            )
            job = yield (
                wire.create_request(
                    config, input_file_id=file_id, endpoint=endpoint,
                    completion_window=completion_window, metadata=metadata, workspace=ws,
                ),
                wire.parse_job_response,
            )  # fmt: skip
            run.state.parts.append(BatchPart(file_id, job.id, ids, attempt))
            run.jobs[job.id] = job
            run.state.save()  # after every part: a crash mid-submit loses no created job
        if not run.state.parts:
            raise ValueError("nothing to submit: no input rows")
        return run

    def attach_op(self, batch_ids: Sequence[str], workspace: str | None) -> Op[BatchRun]:
        run = BatchRun(BatchState(endpoint="", workspace=workspace))
        config = self.config
        for batch_id in batch_ids:
            job = yield (
                wire.retrieve_request(config, batch_id, workspace=workspace),
                wire.parse_job_response,
            )
            content = yield (
                wire.content_request(config, job.input_file_id, workspace=workspace),
                wire.parse_content,
            )
            ids = [line.custom_id for line in _parse_input(content)]
            run.state.endpoint = job.endpoint
            run.state.parts.append(BatchPart(job.input_file_id, job.id, ids))
            run.jobs[job.id] = job
        return run

    def refresh_op(self, run: BatchRun) -> Op[BatchRun]:
        for batch_id in run.batch_ids:
            known = run.jobs.get(batch_id)
            if known is None or not known.done:
                request = wire.retrieve_request(
                    self.config, batch_id, workspace=run.state.workspace
                )
                run.jobs[batch_id] = yield request, wire.parse_job_response
        return run

    def wait_op(self, run: BatchRun, timeout: float | None) -> Op[BatchRun]:
        progress = _Progress(self.progress)
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = self.poll_interval
        try:
            while True:
                yield from self.refresh_op(run)
                progress.show(run)
                if run.done:
                    return run
                if deadline is not None and time.monotonic() + delay > deadline:
                    raise TimeoutError(f"batch not finished after {timeout} s: {run.summary()}")
                yield Sleep(delay)
                delay = min(self.max_poll_interval, delay * 1.5)
        finally:
            progress.end()

    def cancel_op(self, run: BatchRun) -> Op[BatchRun]:
        yield from self.refresh_op(run)
        for batch_id in run.batch_ids:
            if not run.jobs[batch_id].done:
                request = wire.cancel_request(self.config, batch_id, workspace=run.state.workspace)
                run.jobs[batch_id] = yield request, wire.parse_job_response
        return run

    def results_op(self, run: BatchRun) -> Op[list[BatchResult]]:
        yield from self.refresh_op(run)
        found: dict[str, BatchResult] = {}
        for part in run.state.parts:  # oldest first: a resubmission's answer replaces the old one
            job = run.jobs[part.batch_id]
            contents = []
            for file_id in (job.output_file_id, job.error_file_id):
                if file_id:
                    request = wire.content_request(
                        self.config, file_id, workspace=run.state.workspace
                    )
                    contents.append((yield request, wire.parse_content))
            pending = (
                None if job.done else BatchLineError("Pending", f"batch {job.id} is {job.status}")
            )
            for row in map_results(part.custom_ids, contents):
                if pending is not None and not row.ok:
                    row = BatchResult(0, row.custom_id, None, pending)
                if (
                    row.ok
                    or part.attempt == 0
                    or row.custom_id not in found
                    or not found[row.custom_id].ok
                ):
                    found[row.custom_id] = row
        return [
            BatchResult(i, cid, found[cid].body, found[cid].error)
            for i, cid in enumerate(run.custom_ids)
        ]

    def resubmit_op(
        self, run: BatchRun, results: Sequence[BatchResult] | None, completion_window: str
    ) -> Op[BatchRun]:
        rows = results if results is not None else (yield from self.results_op(run))
        failed = {row.custom_id for row in rows if not row.ok}
        if not failed:
            return run
        latest: dict[str, BatchPart] = {}
        for part in run.state.parts:
            for cid in part.custom_ids:
                if cid in failed:
                    latest[cid] = part
        lines: list[RequestLine] = []
        sources = [p for p in run.state.parts if any(latest.get(c) is p for c in p.custom_ids)]
        for part in sources:
            request = wire.content_request(self.config, part.file_id, workspace=run.state.workspace)
            content: bytes = yield request, wire.parse_content
            lines += [line for line in _parse_input(content) if latest.get(line.custom_id) is part]
        order = {cid: i for i, cid in enumerate(run.custom_ids)}
        lines.sort(key=lambda line: order.get(line.custom_id, len(order)))
        attempt = 1 + max(part.attempt for part in run.state.parts)
        return (
            yield from self.submit_op(
                lines, completion_window=completion_window, name=None, description=None,
                state_path=run.state.path, workspace=run.state.workspace, attempt=attempt, run=run,
            )
        )  # fmt: skip


def _files(
    lines: Iterable[RequestLine], limits: Mapping[str, int]
) -> Iterable[tuple[list[str], bytes, str]]:
    """Split lines into files, each with its endpoint (the ``url`` of its first line)."""
    for ids, data in split_lines(lines, **limits):
        yield ids, data, str(json.loads(data.split(b"\n", 1)[0])["url"])


def _parse_input(content: bytes) -> list[RequestLine]:
    lines = []
    for raw in content.splitlines():
        if raw.strip():
            line = json.loads(raw)
            lines.append(RequestLine(str(line["custom_id"]), str(line["url"]), line["body"]))
    return lines

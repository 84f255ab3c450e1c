"""The batch-job facade: submit, poll, cancel, results, resume, resubmit (sync and async).

Each operation is written once as a generator that yields what it needs done — an
``(HTTPRequest, parser)`` pair to send or a :class:`_Sleep` — and receives the parsed
answer; :meth:`BatchJobs._drive` (blocking) and :meth:`BatchJobs._adrive` (asyncio) are the
only I/O, going through the client's ``_call`` / ``_acall`` (retries, error mapping, logs).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO, TypeVar

from ..protocol import HTTPRequest
from . import wire
from .lines import (
    MAX_LINES,
    BatchLineError,
    BatchPart,
    BatchResult,
    BatchState,
    MessageConverter,
    RequestLine,
    chat_lines,
    embedding_lines,
    map_results,
    split_lines,
)
from .wire import BatchJob

__all__ = ["BatchJobs", "BatchRun"]

T = TypeVar("T")


class _Client(Protocol):
    config: Any

    def _call(self, request: HTTPRequest, parse: Callable[[Any], T]) -> T: ...
    async def _acall(self, request: HTTPRequest, parse: Callable[[Any], T]) -> T: ...


@dataclass(frozen=True)
class _Sleep:
    seconds: float


Op = Generator[Any, Any, T]


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


class BatchJobs:
    """DashScope Batch jobs through a client (workspace, retries and errors as for any call).

    Args:
        client: a :class:`~dashscope_ws.DashScopeClient`.
        poll_interval: first delay between status polls, seconds (grows x1.5).
        max_poll_interval: the longest delay between polls.
        progress: show a progress line on stderr (default: only when it is a terminal).

    Example:
        >>> from dashscope_ws import DashScopeClient
        >>> from dashscope_ws.emulator import Emulator, MAIN_KEY
        >>> with Emulator() as emu, DashScopeClient(api_key=MAIN_KEY, base_url=emu.base_url) as c:
        ...     jobs = BatchJobs(c, poll_interval=0.05)
        ...     run = jobs.wait(jobs.submit_embeddings(["a", "b"]))
        ...     [row.ok for row in jobs.results(run)]
        [True, True]
    """

    def __init__(
        self,
        client: _Client,
        *,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        progress: bool | None = None,
    ) -> None:
        self.client = client
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.progress = progress

    # ------------------------------------------------------------------ drivers

    def _drive(self, op: Op[T]) -> T:
        try:
            step = next(op)
            while True:
                if isinstance(step, _Sleep):
                    time.sleep(step.seconds)
                    step = op.send(None)
                else:
                    step = op.send(self.client._call(*step))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    async def _adrive(self, op: Op[T]) -> T:
        try:
            step = next(op)
            while True:
                if isinstance(step, _Sleep):
                    await asyncio.sleep(step.seconds)
                    step = op.send(None)
                else:
                    step = op.send(await self.client._acall(*step))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ operations

    def _submit_op(
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
        config = self.client.config
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

    def _refresh_op(self, run: BatchRun) -> Op[BatchRun]:
        for batch_id in run.batch_ids:
            known = run.jobs.get(batch_id)
            if known is None or not known.done:
                request = wire.retrieve_request(
                    self.client.config, batch_id, workspace=run.state.workspace
                )
                run.jobs[batch_id] = yield request, wire.parse_job_response
        return run

    def _wait_op(self, run: BatchRun, timeout: float | None) -> Op[BatchRun]:
        progress = _Progress(self.progress)
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = self.poll_interval
        try:
            while True:
                yield from self._refresh_op(run)
                progress.show(run)
                if run.done:
                    return run
                if deadline is not None and time.monotonic() + delay > deadline:
                    raise TimeoutError(f"batch not finished after {timeout} s: {run.summary()}")
                yield _Sleep(delay)
                delay = min(self.max_poll_interval, delay * 1.5)
        finally:
            progress.end()

    def _cancel_op(self, run: BatchRun) -> Op[BatchRun]:
        yield from self._refresh_op(run)
        for batch_id in run.batch_ids:
            if not run.jobs[batch_id].done:
                request = wire.cancel_request(
                    self.client.config, batch_id, workspace=run.state.workspace
                )
                run.jobs[batch_id] = yield request, wire.parse_job_response
        return run

    def _results_op(self, run: BatchRun) -> Op[list[BatchResult]]:
        yield from self._refresh_op(run)
        found: dict[str, BatchResult] = {}
        for part in run.state.parts:  # oldest first: a resubmission's answer replaces the old one
            job = run.jobs[part.batch_id]
            contents = []
            for file_id in (job.output_file_id, job.error_file_id):
                if file_id:
                    request = wire.content_request(
                        self.client.config, file_id, workspace=run.state.workspace
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

    def _resubmit_op(
        self, run: BatchRun, results: Sequence[BatchResult] | None, completion_window: str
    ) -> Op[BatchRun]:
        rows = results if results is not None else (yield from self._results_op(run))
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
            request = wire.content_request(
                self.client.config, part.file_id, workspace=run.state.workspace
            )
            content: bytes = yield request, wire.parse_content
            lines += [line for line in _parse_input(content) if latest.get(line.custom_id) is part]
        order = {cid: i for i, cid in enumerate(run.custom_ids)}
        lines.sort(key=lambda line: order.get(line.custom_id, len(order)))
        attempt = 1 + max(part.attempt for part in run.state.parts)
        return (
            yield from self._submit_op(
                lines, completion_window=completion_window, name=None, description=None,
                state_path=run.state.path, workspace=run.state.workspace, attempt=attempt, run=run,
            )
        )  # fmt: skip

    # ------------------------------------------------------------------ public, blocking

    def submit(
        self,
        lines: Iterable[RequestLine],
        *,
        completion_window: str = "24h",
        name: str | None = None,
        description: str | None = None,
        state_path: str | os.PathLike[str] | None = None,
        workspace: str | None = None,
        max_lines: int = MAX_LINES,
    ) -> BatchRun:
        """Upload ``lines`` (split into files within the limits) and create one job per file.

        ``name`` / ``description`` become the ``ds_name`` / ``ds_description`` metadata.
        With ``state_path`` the submission is saved there after every created job, so
        :meth:`resume` can find it after the process died.
        """
        return self._drive(self._submit_op(
            lines, completion_window=completion_window, name=name, description=description,
            state_path=state_path, workspace=workspace, limits={"max_lines": max_lines},
        ))  # fmt: skip

    def submit_chat(
        self,
        conversations: Iterable[Sequence[Any]],
        *,
        model: str,
        parameters: Mapping[str, Any] | None = None,
        convert: MessageConverter | None = None,
        **options: Any,
    ) -> BatchRun:
        """Submit one chat completion per conversation (``options`` as for :meth:`submit`)."""
        lines = chat_lines(conversations, model=model, convert=convert, **(parameters or {}))
        return self.submit(lines, **options)

    def submit_embeddings(
        self,
        texts: Iterable[str],
        *,
        model: str = "text-embedding-v4",
        dimensions: int | None = None,
        **options: Any,
    ) -> BatchRun:
        """Submit one embedding per text (``options`` as for :meth:`submit`)."""
        return self.submit(embedding_lines(texts, model=model, dimensions=dimensions), **options)

    def resume(self, state_path: str | os.PathLike[str]) -> BatchRun:
        """Reload a submission from its state file and fetch every job's status."""
        return self.refresh(BatchRun(BatchState.load(state_path)))

    def refresh(self, run: BatchRun) -> BatchRun:
        """Fetch the status of every unfinished job."""
        return self._drive(self._refresh_op(run))

    def wait(self, run: BatchRun, *, timeout: float | None = None) -> BatchRun:
        """Poll with backoff until every job is terminal.

        Raises:
            TimeoutError: ``timeout`` seconds passed first (the jobs keep running).
        """
        return self._drive(self._wait_op(run, timeout))

    def results(self, run: BatchRun) -> list[BatchResult]:
        """One :class:`BatchResult` per input row, in input order; failed rows carry their error."""
        return self._drive(self._results_op(run))

    def resubmit_failed(
        self,
        run: BatchRun,
        results: Sequence[BatchResult] | None = None,
        *,
        completion_window: str = "24h",
    ) -> BatchRun:
        """Submit again only the failed rows (their lines are read back from the input files)."""
        return self._drive(self._resubmit_op(run, results, completion_window))

    def cancel(self, run: BatchRun) -> BatchRun:
        """Cancel every unfinished job of ``run``."""
        return self._drive(self._cancel_op(run))

    def retrieve(self, batch_id: str, *, workspace: str | None = None) -> BatchJob:
        """One job's status."""
        return self.client._call(
            wire.retrieve_request(self.client.config, batch_id, workspace=workspace),
            wire.parse_job_response,
        )

    def cancel_job(self, batch_id: str, *, workspace: str | None = None) -> BatchJob:
        """Cancel one job by id."""
        return self.client._call(
            wire.cancel_request(self.client.config, batch_id, workspace=workspace),
            wire.parse_job_response,
        )

    def list_jobs(
        self, *, limit: int = 20, after: str | None = None, workspace: str | None = None
    ) -> list[BatchJob]:
        """Recent jobs, newest first (``after``: the last id of the previous page)."""
        request = wire.list_request(
            self.client.config, limit=limit, after=after, workspace=workspace
        )
        return self.client._call(request, wire.parse_jobs)

    # ------------------------------------------------------------------ public, asyncio

    async def asubmit(
        self,
        lines: Iterable[RequestLine],
        *,
        completion_window: str = "24h",
        name: str | None = None,
        description: str | None = None,
        state_path: str | os.PathLike[str] | None = None,
        workspace: str | None = None,
        max_lines: int = MAX_LINES,
    ) -> BatchRun:
        """Async :meth:`submit`."""
        return await self._adrive(self._submit_op(
            lines, completion_window=completion_window, name=name, description=description,
            state_path=state_path, workspace=workspace, limits={"max_lines": max_lines},
        ))  # fmt: skip

    async def aresume(self, state_path: str | os.PathLike[str]) -> BatchRun:
        """Async :meth:`resume`."""
        return await self.arefresh(BatchRun(BatchState.load(state_path)))

    async def arefresh(self, run: BatchRun) -> BatchRun:
        """Async :meth:`refresh`."""
        return await self._adrive(self._refresh_op(run))

    async def await_done(self, run: BatchRun, *, timeout: float | None = None) -> BatchRun:
        """Async :meth:`wait`."""
        return await self._adrive(self._wait_op(run, timeout))

    async def aresults(self, run: BatchRun) -> list[BatchResult]:
        """Async :meth:`results`."""
        return await self._adrive(self._results_op(run))

    async def aresubmit_failed(
        self,
        run: BatchRun,
        results: Sequence[BatchResult] | None = None,
        *,
        completion_window: str = "24h",
    ) -> BatchRun:
        """Async :meth:`resubmit_failed`."""
        return await self._adrive(self._resubmit_op(run, results, completion_window))

    async def acancel(self, run: BatchRun) -> BatchRun:
        """Async :meth:`cancel`."""
        return await self._adrive(self._cancel_op(run))

    async def alist_jobs(
        self, *, limit: int = 20, after: str | None = None, workspace: str | None = None
    ) -> list[BatchJob]:
        """Async :meth:`list_jobs`."""
        request = wire.list_request(
            self.client.config, limit=limit, after=after, workspace=workspace
        )
        return await self.client._acall(request, wire.parse_jobs)


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

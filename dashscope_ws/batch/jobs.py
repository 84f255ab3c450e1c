"""The batch-job facade: submit, poll, cancel, results, resume, resubmit (sync and async).

The operations live once, as generators, in :mod:`dashscope_ws.batch.ops`; the two driver
loops below are the only I/O, through the client's ``_call`` / ``_acall``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from ..protocol import HTTPRequest
from ..usage import batch_row_usage
from . import wire
from .lines import (
    MAX_LINES,
    BatchResult,
    BatchState,
    MessageConverter,
    RequestLine,
    chat_lines,
    embedding_lines,
)
from .ops import BatchOps, BatchRun, Op, Sleep
from .wire import BatchJob

__all__ = ["BatchJobs", "BatchRun"]

T = TypeVar("T")


class _Client(Protocol):
    config: Any

    def _call(self, request: HTTPRequest, parse: Callable[[Any], T]) -> T: ...
    async def _acall(self, request: HTTPRequest, parse: Callable[[Any], T]) -> T: ...


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
        self._ops = BatchOps(
            client.config, poll_interval=poll_interval, max_poll_interval=max_poll_interval,
            progress=progress,
        )  # fmt: skip

    # ------------------------------------------------------------------ drivers

    def _drive(self, op: Op[T]) -> T:
        try:
            step = next(op)
            while True:
                if isinstance(step, Sleep):
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
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    step = op.send(None)
                else:
                    step = op.send(await self.client._acall(*step))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def _record(self, run: BatchRun, rows: list[BatchResult]) -> list[BatchResult]:
        tracker = getattr(self.client, "usage_tracker", None)
        if tracker is None:
            return rows
        workspace = run.state.workspace or self.client.config.workspace
        for row in rows:
            if not row.ok or row.custom_id in run.recorded:
                continue
            run.recorded.add(row.custom_id)
            booked = batch_row_usage(row.body)  # None: the row reports no usage (as Call.record)
            if booked is not None:
                model, usage = booked
                tracker.record(workspace=workspace, model=model, usage=usage, kind="batch")
        return rows

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
        return self._drive(self._ops.submit_op(
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

    def attach(self, batch_ids: Sequence[str], *, workspace: str | None = None) -> BatchRun:
        """A run for existing jobs; row order is read back from their input files."""
        return self._drive(self._ops.attach_op(batch_ids, workspace))

    def refresh(self, run: BatchRun) -> BatchRun:
        """Fetch the status of every unfinished job."""
        return self._drive(self._ops.refresh_op(run))

    def wait(self, run: BatchRun, *, timeout: float | None = None) -> BatchRun:
        """Poll with backoff until every job is terminal.

        Raises:
            TimeoutError: ``timeout`` seconds passed first (the jobs keep running).
        """
        return self._drive(self._ops.wait_op(run, timeout))

    def results(self, run: BatchRun) -> list[BatchResult]:
        """One :class:`BatchResult` per input row, in input order; failed rows carry their error.

        Each answered row's usage is told to the client's ``usage_tracker`` (kind
        ``"batch"``) once per row and run, however often results are fetched.
        """
        return self._record(run, self._drive(self._ops.results_op(run)))

    def resubmit_failed(
        self,
        run: BatchRun,
        results: Sequence[BatchResult] | None = None,
        *,
        completion_window: str = "24h",
    ) -> BatchRun:
        """Submit again only the failed rows (their lines are read back from the input files)."""
        return self._drive(self._ops.resubmit_op(run, results, completion_window))

    def cancel(self, run: BatchRun) -> BatchRun:
        """Cancel every unfinished job of ``run``."""
        return self._drive(self._ops.cancel_op(run))

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
        return await self._adrive(self._ops.submit_op(
            lines, completion_window=completion_window, name=name, description=description,
            state_path=state_path, workspace=workspace, limits={"max_lines": max_lines},
        ))  # fmt: skip

    async def aresume(self, state_path: str | os.PathLike[str]) -> BatchRun:
        """Async :meth:`resume`."""
        return await self.arefresh(BatchRun(BatchState.load(state_path)))

    async def aattach(self, batch_ids: Sequence[str], *, workspace: str | None = None) -> BatchRun:
        """Async :meth:`attach`."""
        return await self._adrive(self._ops.attach_op(batch_ids, workspace))

    async def arefresh(self, run: BatchRun) -> BatchRun:
        """Async :meth:`refresh`."""
        return await self._adrive(self._ops.refresh_op(run))

    async def await_done(self, run: BatchRun, *, timeout: float | None = None) -> BatchRun:
        """Async :meth:`wait`."""
        return await self._adrive(self._ops.wait_op(run, timeout))

    async def aresults(self, run: BatchRun) -> list[BatchResult]:
        """Async :meth:`results`."""
        return self._record(run, await self._adrive(self._ops.results_op(run)))

    async def aresubmit_failed(
        self,
        run: BatchRun,
        results: Sequence[BatchResult] | None = None,
        *,
        completion_window: str = "24h",
    ) -> BatchRun:
        """Async :meth:`resubmit_failed`."""
        return await self._adrive(self._ops.resubmit_op(run, results, completion_window))

    async def acancel(self, run: BatchRun) -> BatchRun:
        """Async :meth:`cancel`."""
        return await self._adrive(self._ops.cancel_op(run))

    async def alist_jobs(
        self, *, limit: int = 20, after: str | None = None, workspace: str | None = None
    ) -> list[BatchJob]:
        """Async :meth:`list_jobs`."""
        request = wire.list_request(
            self.client.config, limit=limit, after=after, workspace=workspace
        )
        return await self.client._acall(request, wire.parse_jobs)

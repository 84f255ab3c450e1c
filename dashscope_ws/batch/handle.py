"""A submitted batch job whose rows come back as the caller's own types.

:class:`BatchHandle` wraps a :class:`~dashscope_ws.batch.BatchRun` and a converter from
:class:`~dashscope_ws.batch.BatchResult` to whatever the caller's online method returns
(a LangChain ``AIMessage``, a LlamaIndex ``ChatResponse``, an embedding vector...). A failed
row comes back in its place as a :class:`BatchRowError` (like ``asyncio.gather(...,
return_exceptions=True)`` and LangChain's ``batch(..., return_exceptions=True)``), never
dropped. :class:`BatchJobSource` is the framework mixin's generic half: the adapters only
say how to build lines from their inputs and how to convert a row back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..errors import DashScopeError
from .convert import embedding
from .jobs import BatchJobs
from .lines import BatchResult, BatchState, RequestLine, embedding_lines
from .ops import BatchRun

if TYPE_CHECKING:
    from ..client import DashScopeClient

__all__ = ["BatchHandle", "BatchJobSource", "BatchRowError", "EmbeddingJobSource"]

R = TypeVar("R")
Converter = Callable[[BatchResult], R]


class BatchRowError(DashScopeError):
    """One input row that has no answer: the service's per-row error, or why it is missing.

    Attributes:
        index: the row's input position.
        custom_id: its ``custom_id`` in the batch files.
        code: the service's error code (``MissingResult`` / ``Pending`` when the row is in
            neither file; ``InvalidResponse`` when its answer could not be converted).
        message, status_code, request_id: as reported for the row.

    Example:
        >>> error = BatchRowError(3, "3", "Model.AccessDenied", "denied", 403)
        >>> str(error)
        'batch row 3 (custom_id 3) failed: Model.AccessDenied: denied'
    """

    def __init__(
        self,
        index: int,
        custom_id: str,
        code: str,
        message: str,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.index = index
        self.custom_id = custom_id
        self.code = code
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        super().__init__(f"batch row {index} (custom_id {custom_id}) failed: {code}: {message}")

    @classmethod
    def of(cls, row: BatchResult) -> BatchRowError:
        """The error of a failed :class:`BatchResult`."""
        error = row.error
        if error is None:
            return cls(row.index, row.custom_id, "MissingResult", "the row has no answer")
        return cls(
            row.index, row.custom_id, error.code, error.message, error.status, error.request_id
        )


class BatchHandle(Generic[R]):
    """A batch submission plus how to turn its rows into ``R``.

    Args:
        jobs: the :class:`BatchJobs` (client, poll intervals) the handle works through.
        run: the submission.
        convert: one successful :class:`BatchResult` -> ``R``.

    Example:
        >>> from dashscope_ws import DashScopeClient
        >>> from dashscope_ws.batch import embedding, embedding_lines
        >>> from dashscope_ws.emulator import Emulator, MAIN_KEY
        >>> with Emulator() as emu, DashScopeClient(api_key=MAIN_KEY, base_url=emu.base_url) as c:
        ...     jobs = BatchJobs(c, poll_interval=0.05)
        ...     handle = BatchHandle.submit(jobs, embedding_lines(["a", "b"]), embedding)
        ...     [len(vector) for vector in handle.wait().results()]
        [1024, 1024]
    """

    def __init__(self, jobs: BatchJobs, run: BatchRun, convert: Converter[R]) -> None:
        self.jobs = jobs
        self.run = run
        self.convert = convert

    def __repr__(self) -> str:
        return f"BatchHandle({self.run.summary()}, batch_ids={self.batch_ids})"

    # ------------------------------------------------------------------ construction

    @classmethod
    def submit(
        cls, jobs: BatchJobs, lines: Iterable[RequestLine], convert: Converter[R], **options: Any
    ) -> BatchHandle[R]:
        """Upload and create the jobs (``options`` as for :meth:`BatchJobs.submit`)."""
        return cls(jobs, jobs.submit(lines, **options), convert)

    @classmethod
    async def asubmit(
        cls, jobs: BatchJobs, lines: Iterable[RequestLine], convert: Converter[R], **options: Any
    ) -> BatchHandle[R]:
        """Async :meth:`submit`."""
        return cls(jobs, await jobs.asubmit(lines, **options), convert)

    @classmethod
    def resume(
        cls, jobs: BatchJobs, state_path: str | os.PathLike[str], convert: Converter[R]
    ) -> BatchHandle[R]:
        """The handle of a submission saved with ``state_path`` (no I/O until the next call)."""
        return cls(jobs, BatchRun(BatchState.load(state_path)), convert)

    # ------------------------------------------------------------------ state

    @property
    def batch_ids(self) -> list[str]:
        """The ids of the submission's batch jobs."""
        return self.run.batch_ids

    @property
    def state_path(self) -> str | None:
        """Where the submission is saved (pass it to ``resume_batch_job`` after a crash)."""
        return self.run.state.path

    @property
    def done(self) -> bool:
        """True when every job was last seen in a terminal status."""
        return self.run.done

    def summary(self) -> str:
        """One line: statuses and row counts."""
        return self.run.summary()

    def _converted(
        self, rows: Sequence[BatchResult], raise_errors: bool
    ) -> list[R | BatchRowError]:
        out: list[R | BatchRowError] = []
        for row in rows:
            item: R | BatchRowError
            if not row.ok:
                item = BatchRowError.of(row)
            else:
                try:
                    item = self.convert(row)
                except ValueError as error:  # a malformed answer (converters raise ValueError)
                    item = BatchRowError(row.index, row.custom_id, "InvalidResponse", str(error))
            if raise_errors and isinstance(item, BatchRowError):
                raise item
            out.append(item)
        return out

    # ------------------------------------------------------------------ blocking

    def refresh(self) -> BatchHandle[R]:
        """Fetch every unfinished job's status."""
        self.jobs.refresh(self.run)
        return self

    def wait(self, *, timeout: float | None = None) -> BatchHandle[R]:
        """Poll with backoff until every job is terminal (``TimeoutError`` after ``timeout``)."""
        self.jobs.wait(self.run, timeout=timeout)
        return self

    def rows(self) -> list[BatchResult]:
        """The raw :class:`BatchResult` per input row, in input order."""
        return self.jobs.results(self.run)

    def results(self, *, return_exceptions: bool = True) -> list[R | BatchRowError]:
        """One item per input row, in input order: ``R``, or the row's :class:`BatchRowError`.

        With ``return_exceptions=False`` the first failed row's error is raised instead.
        """
        return self._converted(self.rows(), not return_exceptions)

    def cancel(self) -> BatchHandle[R]:
        """Cancel every unfinished job."""
        self.jobs.cancel(self.run)
        return self

    def resubmit_failed(self, *, completion_window: str = "24h") -> BatchHandle[R]:
        """Submit again only the failed rows; :meth:`results` then merges both attempts."""
        self.jobs.resubmit_failed(self.run, completion_window=completion_window)
        return self

    # ------------------------------------------------------------------ asyncio

    async def arefresh(self) -> BatchHandle[R]:
        """Async :meth:`refresh`."""
        await self.jobs.arefresh(self.run)
        return self

    async def await_done(self, *, timeout: float | None = None) -> BatchHandle[R]:
        """Async :meth:`wait`."""
        await self.jobs.await_done(self.run, timeout=timeout)
        return self

    async def arows(self) -> list[BatchResult]:
        """Async :meth:`rows`."""
        return await self.jobs.aresults(self.run)

    async def aresults(self, *, return_exceptions: bool = True) -> list[R | BatchRowError]:
        """Async :meth:`results`."""
        return self._converted(await self.arows(), not return_exceptions)

    async def acancel(self) -> BatchHandle[R]:
        """Async :meth:`cancel`."""
        await self.jobs.acancel(self.run)
        return self

    async def aresubmit_failed(self, *, completion_window: str = "24h") -> BatchHandle[R]:
        """Async :meth:`resubmit_failed`."""
        await self.jobs.aresubmit_failed(self.run, completion_window=completion_window)
        return self


_SUBMIT_OPTIONS = ("completion_window", "name", "description", "state_path", "max_lines")


class BatchJobSource(Generic[R]):
    """The framework mixins' shared half: ``batch_job`` / ``abatch_job`` / ``resume_batch_job``.

    A subclass (one per adapter class, in the adapter packages' ``batch`` modules) provides
    :meth:`_batch_lines` (inputs and per-call options -> request lines and workspace) and
    :meth:`_batch_row` (a successful row -> the online method's return type); the class it
    is mixed into provides ``_get_client()``. List the mixin *after* the pydantic bases.

    Example:
        >>> class Lengths(BatchJobSource[int]):
        ...     def _batch_row(self, row):
        ...         return len(row.embedding or [])
        >>> Lengths._batch_row(Lengths(), BatchResult(0, "0", {"data": [{"embedding": [1.0]}]}))
        1
    """

    def _get_client(self) -> DashScopeClient:  # provided by the settings mixin
        raise NotImplementedError

    def _batch_lines(
        self, inputs: Sequence[Any], options: dict[str, Any]
    ) -> tuple[Iterable[RequestLine], str | None]:
        raise NotImplementedError

    def _batch_row(self, row: BatchResult) -> R:
        raise NotImplementedError

    def _batch_jobs(self, options: dict[str, Any]) -> BatchJobs:
        client = self._get_client()
        poll_interval = options.pop("poll_interval", None)
        progress = options.pop("progress", None)
        if poll_interval is None and progress is None:
            return client.batches
        return BatchJobs(client, poll_interval=poll_interval or 5.0, progress=progress)

    def _batch_plan(
        self, inputs: Sequence[Any], options: dict[str, Any]
    ) -> tuple[BatchJobs, Iterable[RequestLine], dict[str, Any]]:
        options = dict(options)
        jobs = self._batch_jobs(options)
        submit = {name: options.pop(name) for name in _SUBMIT_OPTIONS if name in options}
        lines, workspace = self._batch_lines(inputs, options)
        return jobs, lines, {**submit, "workspace": workspace}

    def batch_job(self, inputs: Sequence[Any], **options: Any) -> BatchHandle[R]:
        """Submit ``inputs`` as a DashScope Batch job (half price, answers within the window).

        Uses this object's model, workspace and parameters; per-call overrides as for its
        online methods. Submission options: ``completion_window`` ("24h" .. "336h"),
        ``name``, ``description``, ``state_path`` (to resume after a crash), ``max_lines``
        (rows per file), ``poll_interval`` (seconds), ``progress`` (a progress line).

        Returns:
            A :class:`BatchHandle`: ``wait()`` then ``results()`` — one item per input, in
            order: what the online method returns, or the row's :class:`BatchRowError`.
        """
        jobs, lines, submit = self._batch_plan(inputs, options)
        return BatchHandle.submit(jobs, lines, self._batch_row, **submit)

    async def abatch_job(self, inputs: Sequence[Any], **options: Any) -> BatchHandle[R]:
        """Async :meth:`batch_job` (the handle has ``await_done`` / ``aresults``)."""
        jobs, lines, submit = self._batch_plan(inputs, options)
        return await BatchHandle.asubmit(jobs, lines, self._batch_row, **submit)

    def resume_batch_job(
        self, state_path: str | os.PathLike[str], *, poll_interval: float | None = None
    ) -> BatchHandle[R]:
        """The handle of a job submitted with ``state_path`` (e.g. by a process that died)."""
        jobs = self._batch_jobs({"poll_interval": poll_interval})
        return BatchHandle.resume(jobs, state_path, self._batch_row)


class EmbeddingJobSource(BatchJobSource[list[float]]):
    """``batch_job(texts)`` for an embeddings class: one vector per text, in order.

    Lines carry the object's model (the attribute named by ``_batch_model_field``) and
    ``dimensions``; the only per-call option is ``workspace=``.

    Example:
        >>> class Embedder(EmbeddingJobSource):
        ...     model, dimensions = "text-embedding-v4", 64
        >>> lines, workspace = Embedder()._batch_lines(["a"], {"workspace": "ws-1"})
        >>> next(iter(lines)).body, workspace
        ({'model': 'text-embedding-v4', 'input': 'a', 'dimensions': 64}, 'ws-1')
    """

    _batch_model_field = "model"

    def _batch_lines(
        self, inputs: Sequence[Any], options: dict[str, Any]
    ) -> tuple[Iterable[RequestLine], str | None]:
        workspace = options.pop("workspace", None)
        if options:
            raise TypeError(f"unexpected batch_job options: {sorted(options)}")
        model = str(getattr(self, self._batch_model_field))
        lines = embedding_lines(inputs, model=model, dimensions=getattr(self, "dimensions", None))
        return lines, workspace

    def _batch_row(self, row: BatchResult) -> list[float]:
        return embedding(row)

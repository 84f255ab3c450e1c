"""Ray Data ``map_batches`` callables for embeddings and chat, sharing one account-wide budget.

DashScope rate limits are per model and pooled across the main account (every workspace and
key, ``dashscope_ws/samples/rate_limits.md``), so every worker draws from one
:class:`~dashscope_ws.ratelimit.RateBudget` held by a small Ray actor (:func:`rate_limiter`).
Inside each worker an :class:`~dashscope_ws.ratelimit.AIMDLimiter` adapts concurrency: it
grows while calls succeed and halves on a 429, pausing for ``Retry-After``.

Nothing secret crosses process boundaries: the callables are built on the workers from
:class:`WorkerSettings` (plain, picklable, no key); each worker reads its key from the
environment variable named there (propagate it with ``ray.init(runtime_env={"env_vars":
...})`` on a real cluster) and builds its own client. ``ray`` is imported lazily; install
the extra ``dashscope-ws[ray]``.

Ray Data keeps row order only with ``DataContext.get_current().execution_options
.preserve_order = True``; every callable returns its batch's rows in the order received.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .._secret import SecretStr
from ..client import DashScopeClient
from ..errors import RateLimitError
from ..ratelimit import AIMDLimiter, RateBudget, SyncGate

__all__ = ["ChatBatches", "EmbeddingBatches", "WorkerSettings", "rate_limiter"]

T = TypeVar("T")
DEFAULT_LIMITER = "dashscope-ws-rate-limit"
NAMESPACE = "dashscope_ws"


@dataclass(frozen=True)
class WorkerSettings:
    """Plain settings a worker builds its client and limiter from (picklable, no secret).

    Example:
        >>> WorkerSettings(base_url="http://127.0.0.1:8000/api/v1").api_key_env
        'DASHSCOPE_API_KEY'
    """

    base_url: str | None = None
    workspace: str | None = None
    region: str | None = None
    api_key_env: str = "DASHSCOPE_API_KEY"
    timeout: float = 60.0
    limiter: str | None = DEFAULT_LIMITER  # name of the shared rate-limit actor (None: none)
    initial_concurrency: int = 4
    max_concurrency: int = 32
    max_attempts: int = 20  # per request, counting 429s

    def client(self) -> DashScopeClient:
        """A client for this worker; our own loop retries 429s, so the client does not."""
        # Wrapped at once: no plain key in this frame's locals (tracebacks, debuggers).
        key = SecretStr(os.environ.get(self.api_key_env) or "")
        if not key.get_secret_value():
            raise RuntimeError(f"set {self.api_key_env} in the workers' environment")
        return DashScopeClient(
            api_key=key, base_url=self.base_url, workspace=self.workspace, region=self.region,
            timeout=self.timeout, max_retries=0,
        )  # fmt: skip


class _Bucket:
    """The actor body: one :class:`RateBudget` for the whole cluster."""

    def __init__(self, rpm: float | None, tpm: float | None, burst_seconds: float) -> None:
        self.budget = RateBudget(rpm=rpm, tpm=tpm, burst_seconds=burst_seconds)

    def reserve(self, tokens: float) -> float:
        return self.budget.reserve(tokens)


def rate_limiter(
    *,
    rpm: float | None = None,
    tpm: float | None = None,
    burst_seconds: float = 1.0,
    name: str = DEFAULT_LIMITER,
) -> Any:
    """Create (or fetch) the named Ray actor holding the account's shared budget.

    Call once on the driver before ``map_batches`` and keep the returned handle until the
    job is done (Ray ends a named actor when its creator drops the last handle); the
    callables find it by ``name`` in the ``dashscope_ws`` namespace.
    """
    import ray

    actor = ray.remote(num_cpus=0)(_Bucket)
    return actor.options(name=name, namespace=NAMESPACE, get_if_exists=True).remote(
        rpm, tpm, burst_seconds
    )


@dataclass
class _Runner:
    """Runs a worker's calls: shared budget, AIMD concurrency, 429 retries."""

    settings: WorkerSettings
    gate: SyncGate = field(init=False)
    bucket: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        s = self.settings
        self.gate = SyncGate(AIMDLimiter(initial=s.initial_concurrency, maximum=s.max_concurrency))
        if s.limiter:
            import ray

            self.bucket = ray.get_actor(s.limiter, namespace=NAMESPACE)

    def _one(self, call: Callable[[], T], tokens: float) -> T:
        import ray

        for attempt in range(1, self.settings.max_attempts + 1):
            with self.gate:
                if self.bucket is not None:
                    time.sleep(ray.get(self.bucket.reserve.remote(tokens)))
                try:
                    result = call()
                except RateLimitError as error:
                    self.gate.report(throttled=True, retry_after=error.retry_after or 1.0)
                    if attempt == self.settings.max_attempts:
                        raise  # the typed 429 (status, code, request id), not a bare error
                    continue
            self.gate.report(throttled=False)
            return result
        raise ValueError(f"max_attempts must be at least 1, got {self.settings.max_attempts}")

    def run(self, calls: Sequence[Callable[[], T]], tokens: Sequence[float]) -> list[T]:
        """Every call's result, in order (the first failure other than 429 propagates)."""
        workers = min(len(calls), self.settings.max_concurrency) or 1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self._one, calls, tokens))


def _column(batch: Any, name: str) -> list[Any]:
    if isinstance(batch, Mapping):
        return list(batch[name])
    if hasattr(batch, "column"):  # pyarrow.Table
        return list(batch.column(name).to_pylist())
    return list(batch[name])  # pandas.DataFrame


def _with_column(batch: Any, name: str, values: list[Any]) -> Any:
    if isinstance(batch, Mapping):
        import numpy as np

        out = dict(batch)
        array = np.empty(len(values), dtype=object)
        array[:] = values
        out[name] = array
        return out
    if hasattr(batch, "append_column"):  # pyarrow.Table
        return batch.append_column(name, [values])
    out_df = batch.copy()
    out_df[name] = values
    return out_df


def _estimate_tokens(text: str) -> float:
    return max(1.0, len(text) / 3)  # ~3 characters per token: errs on the side of caution


class EmbeddingBatches:
    """``ds.map_batches(EmbeddingBatches, fn_constructor_kwargs=...)``: embed a text column.

    Args:
        settings: how workers connect (see :class:`WorkerSettings`).
        model: embedding model.
        text_column: input column; output_column: where vectors go (lists of floats).
        dimensions: vector size (v3/v4).
        rows_per_request: texts per request (the model's limit, 10 for v3/v4).

    Example:
        >>> import ray  # doctest: +SKIP
        >>> ds.map_batches(EmbeddingBatches, fn_constructor_kwargs={  # doctest: +SKIP
        ...     "settings": WorkerSettings(), "dimensions": 256}, concurrency=4)
    """

    def __init__(
        self,
        settings: WorkerSettings,
        *,
        model: str = "text-embedding-v4",
        text_column: str = "text",
        output_column: str = "embedding",
        dimensions: int | None = None,
        rows_per_request: int = 10,
    ) -> None:
        self.settings = settings
        self.model, self.dimensions = model, dimensions
        self.text_column, self.output_column = text_column, output_column
        self.rows_per_request = rows_per_request
        self.client = settings.client()
        self.runner = _Runner(settings)

    def __call__(self, batch: Any) -> Any:
        texts = [str(t) for t in _column(batch, self.text_column)]
        size = self.rows_per_request
        chunks = [texts[i : i + size] for i in range(0, len(texts), size)]

        def call(chunk: list[str]) -> Callable[[], list[list[float]]]:
            def embed() -> list[list[float]]:
                result = self.client.embed(chunk, model=self.model, dimension=self.dimensions)
                return [list(v) for v in result.embeddings]

            return embed

        tokens = [sum(_estimate_tokens(t) for t in chunk) for chunk in chunks]
        vectors = [v for part in self.runner.run([call(c) for c in chunks], tokens) for v in part]
        return _with_column(batch, self.output_column, vectors)


class ChatBatches:
    """``ds.map_batches(ChatBatches, fn_constructor_kwargs=...)``: one chat reply per row.

    Args:
        settings: how workers connect (see :class:`WorkerSettings`).
        model: chat model.
        prompt_column: the user message; output_column: the reply text.
        system: an optional system prompt for every row.
        parameters: generation parameters (temperature, max_tokens, ...).

    Example:
        >>> ds.map_batches(ChatBatches, fn_constructor_kwargs={  # doctest: +SKIP
        ...     "settings": WorkerSettings(), "model": "qwen-flash"}, concurrency=4)
    """

    def __init__(
        self,
        settings: WorkerSettings,
        *,
        model: str = "qwen-plus",
        prompt_column: str = "prompt",
        output_column: str = "response",
        system: str | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings, self.model, self.system = settings, model, system
        self.prompt_column, self.output_column = prompt_column, output_column
        self.parameters = dict(parameters or {})
        self.client = settings.client()
        self.runner = _Runner(settings)

    def __call__(self, batch: Any) -> Any:
        prompts = [str(p) for p in _column(batch, self.prompt_column)]
        head = [{"role": "system", "content": self.system}] if self.system else []

        def call(prompt: str) -> Callable[[], str]:
            messages = [*head, {"role": "user", "content": prompt}]
            return lambda: self.client.chat(messages, model=self.model, **self.parameters).text

        budget = self.parameters.get("max_tokens", 512)
        tokens = [_estimate_tokens(p) + budget for p in prompts]
        replies = self.runner.run([call(p) for p in prompts], tokens)
        return _with_column(batch, self.output_column, replies)

"""Embeddings: batching, request building and parsing (pure); rerank re-exported.

Rerank lives in :mod:`dashscope_ws.rerank`; its names stay importable from here.

Nothing here does I/O. ``DashScopeClient`` sends the :class:`~dashscope_ws.protocol.HTTPRequest`
objects built here and hands the raw answer back to the ``parse_*`` functions, which raise
the mapped :class:`~dashscope_ws.errors.APIStatusError` for error answers and bodies that
are not JSON (one rule for every endpoint: :func:`~dashscope_ws.wire.load_success_body`),
and :class:`~dashscope_ws.errors.APIResponseValidationError` for a JSON answer that does not
hold what was asked for: a missing, duplicated or extra row, a vector of the wrong length,
NaN/inf or a non-number in a vector, an empty rerank list for non-empty documents, a
duplicated or out-of-range rerank index, a NaN score, more results than ``top_n``. An
empty or short answer is never passed on as if it were complete.

Two rerank wire formats exist: the native ``services/rerank/text-rerank/text-rerank``
(``gte-rerank-v2``, ``gte-rerank``, ``qwen3-vl-rerank``: nested ``input``/``parameters``,
answer under ``output``) and the OpenAI/Jina-like ``/compatible-api/v1/reranks`` used by
``qwen3-rerank`` (flat body, ``results`` at the top level). The parser accepts both shapes
whichever endpoint answered.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .http import HTTPRequest
from .models import BUILTIN_MODELS, ModelInfo, lookup
from .rerank import (
    COMPATIBLE_RERANK_MODELS,
    COMPATIBLE_RERANK_PATH,
    RERANK_PATH,
    build_rerank_request,
    parse_rerank_response,
    rerank_uses_compatible_api,
)
from .types import EmbeddingResult, Usage
from .wire import (
    ShapeError,
    answer_request_id,
    invalid_response,
    is_int,
    load_success_body,
    object_or_empty,
    strict_int,
)

if TYPE_CHECKING:
    from .config import ClientConfig

__all__ = [
    "COMPATIBLE_RERANK_MODELS",
    "COMPATIBLE_RERANK_PATH",
    "DEFAULT_EMBEDDING_BATCH",
    "EMBEDDING_MODELS",
    "EMBEDDING_PATH",
    "RERANK_PATH",
    "EmbeddingBatch",
    "EmbeddingModelSpec",
    "build_embedding_request",
    "build_rerank_request",
    "embedding_batches",
    "embedding_spec",
    "merge_embedding_batches",
    "parse_embedding_response",
    "parse_rerank_response",
    "rerank_uses_compatible_api",
]

EMBEDDING_PATH = "services/embeddings/text-embedding/text-embedding"
DEFAULT_EMBEDDING_BATCH = 10
"""Rows per request for models the registry does not know (the strictest documented limit)."""

# Model limits live in the registry (:mod:`dashscope_ws.models`); these names stay for
# code that imported them. An embedding record carries max_batch, dimensions,
# default_dimension, max_tokens_per_text, sparse and instruct.
EmbeddingModelSpec = ModelInfo


class _EmbeddingModels(Mapping[str, ModelInfo]):
    """Read-only view of the registry's embedding families (registered ones included)."""

    def __getitem__(self, model: str) -> ModelInfo:
        spec = embedding_spec(model)
        if spec is None:
            raise KeyError(model)
        return spec

    def __iter__(self) -> Iterator[str]:
        return iter(i.prefix for i in BUILTIN_MODELS if i.kind == "embedding")

    def __len__(self) -> int:
        return sum(1 for _ in self)


EMBEDDING_MODELS: Mapping[str, ModelInfo] = _EmbeddingModels()


def embedding_spec(model: str) -> ModelInfo | None:
    """The registry record of embedding ``model``, or ``None`` when it is not one we know.

    Example:
        >>> embedding_spec("text-embedding-v3").max_batch, embedding_spec("qwen-plus")
        (10, None)
    """
    info = lookup(model)
    return info if info.kind == "embedding" and info.max_batch else None


@dataclass(frozen=True)
class EmbeddingBatch:
    """The parsed answer to one embedding request (one batch of rows).

    Example:
        >>> EmbeddingBatch(embeddings=[[0.5]], request_id="r1").request_id
        'r1'
    """

    embeddings: list[list[float]]
    sparse: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    request_id: str | None = None


def embedding_batches(
    texts: Sequence[str], *, model: str, batch_size: int | None = None
) -> list[tuple[int, list[str]]]:
    """Split ``texts`` into ``(offset, rows)`` batches, preserving order.

    ``batch_size=None`` uses the model's maximum. A ``batch_size`` above the model's
    maximum is clamped to it rather than rejected: a request that the service would
    refuse with 400 is never useful, and callers (framework adapters) often pass one
    batch size for every model.

    Raises:
        ValueError: ``batch_size`` is smaller than 1.
    """
    limit = _spec_batch(model)
    if batch_size is not None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        limit = min(batch_size, limit)
    return [(start, list(texts[start : start + limit])) for start in range(0, len(texts), limit)]


def _spec_batch(model: str) -> int:
    spec = embedding_spec(model)
    return spec.max_batch if spec and spec.max_batch else DEFAULT_EMBEDDING_BATCH


def build_embedding_request(
    config: ClientConfig,
    *,
    model: str,
    texts: Sequence[str],
    text_type: str | None = None,
    dimension: int | None = None,
    output_type: str | None = None,
    instruct: str | None = None,
    workspace: str | None = None,
) -> HTTPRequest:
    """Build one embedding request; optional parameters go on the wire only when given.

    Raises:
        ValueError: ``dimension`` is not one the model offers (unknown models are not checked).
    """
    spec = embedding_spec(model)
    if dimension is not None and spec is not None and dimension not in spec.dimensions:
        allowed = ", ".join(str(d) for d in spec.dimensions)
        raise ValueError(f"{model} does not offer dimension={dimension}; choose one of: {allowed}")
    parameters = {
        key: value
        for key, value in (
            ("text_type", text_type),
            ("dimension", dimension),
            ("output_type", output_type),
            ("instruct", instruct),
        )
        if value is not None
    }
    return HTTPRequest(
        method="POST",
        url=config.url(EMBEDDING_PATH, workspace=workspace),
        headers=config.headers(workspace=workspace),
        json={"model": model, "input": {"texts": list(texts)}, "parameters": parameters},
    )


def parse_embedding_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    count: int,
    dimension: int | None = None,
) -> EmbeddingBatch:
    """Parse one embedding answer holding ``count`` rows, ordered by ``text_index``.

    Args:
        dimension: the vector length asked for, when one was; every dense vector must
            have it. Without it the vectors must at least all have the same length.

    Raises:
        APIStatusError: the service answered with an error, or not with JSON.
        APIResponseValidationError: a row is missing, duplicated or malformed (see above).
    """
    data = load_success_body(status, headers, body)
    try:
        return _embedding_batch(data, headers, count, dimension)
    except ShapeError as error:
        raise invalid_response(
            error, body, request_id=answer_request_id(data, headers), status=status
        ) from None


def _embedding_batch(
    data: dict[str, Any], headers: Mapping[str, str], count: int, dimension: int | None
) -> EmbeddingBatch:
    output = data.get("output")
    items = output.get("embeddings") if isinstance(output, dict) else None
    if not isinstance(items, list):
        raise ShapeError("embedding response has no output.embeddings list")
    by_index: dict[int, dict[str, Any]] = {}
    for item in items:
        if not isinstance(item, dict):
            raise ShapeError("embedding response row is not an object")
        index = item.get("text_index")
        if not is_int(index) or index in by_index or not 0 <= index < count:
            raise ShapeError(f"embedding response has a bad text_index {index!r}")
        by_index[index] = item
    if len(by_index) != count:
        raise ShapeError(f"embedding response has {len(by_index)} rows for {count} texts")
    rows = [by_index[i] for i in range(count)]
    dense = [row.get("embedding") for row in rows]
    sparse = [_sparse(row.get("sparse_embedding")) for row in rows]
    has_sparse = all(s is not None for s in sparse)
    if has_sparse and all(vector is None for vector in dense):
        embeddings = []  # output_type="sparse": no dense vectors were asked for
    else:
        embeddings = [_vector(vector, i) for i, vector in enumerate(dense)]
        lengths = {len(vector) for vector in embeddings}
        if len(lengths) > 1:
            raise ShapeError(f"embedding vectors have different lengths {sorted(lengths)}")
        if dimension is not None and embeddings and len(embeddings[0]) != dimension:
            raise ShapeError(
                f"embedding vectors have {len(embeddings[0])} dimensions, {dimension} were asked"
            )
    usage = object_or_empty(data.get("usage"))
    return EmbeddingBatch(
        embeddings=embeddings,
        sparse=[s for s in sparse if s is not None] if has_sparse else [],
        usage=Usage(total_tokens=strict_int(usage.get("total_tokens")), raw=dict(usage)),
        request_id=answer_request_id(data, headers),
    )


def _vector(value: Any, row: int) -> list[float]:
    """A dense vector: a non-empty list of finite numbers (checked by one C-level ``sum``).

    ``sum`` rather than ``math.fsum`` (4x slower): exactness does not matter here, only
    that a NaN or infinity anywhere makes the total non-finite; ``map(float)`` is the
    C-level copy that turns JSON integers into floats.
    """
    if not isinstance(value, list) or not value:
        raise ShapeError(f"embedding row {row} has no vector")
    try:
        total = sum(value)  # TypeError for null/str/list entries
    except (TypeError, ValueError, OverflowError):
        raise ShapeError(f"embedding row {row} holds a value that is not a finite number") from None
    if not math.isfinite(total):
        raise ShapeError(f"embedding row {row} holds NaN or infinity")
    return list(map(float, value))


def _sparse(value: Any) -> dict[str, Any] | None:
    """Normalise a sparse vector to ``{"indices", "values"}`` (+ ``tokens`` when given).

    Both readings are accepted: a ``{"indices", "values"}`` object, or a list of
    ``{"index", "value", "token"}`` entries.
    """
    if isinstance(value, dict) and "indices" in value and "values" in value:
        return dict(value)
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        result: dict[str, Any] = {
            "indices": [v.get("index") for v in value],
            "values": [v.get("value") for v in value],
        }
        if any("token" in v for v in value):
            result["tokens"] = [v.get("token") for v in value]
        return result
    return None


def merge_embedding_batches(model: str, batches: Sequence[EmbeddingBatch]) -> EmbeddingResult:
    """Concatenate batches (given in input order) into one result; token counts are summed."""
    totals = [b.usage.total_tokens for b in batches if b.usage.total_tokens is not None]
    return EmbeddingResult(
        embeddings=[vector for batch in batches for vector in batch.embeddings],
        model=model,
        sparse=[entry for batch in batches for entry in batch.sparse],
        usage=Usage(total_tokens=sum(totals) if totals else None),
        request_ids=tuple(b.request_id for b in batches if b.request_id),
    )

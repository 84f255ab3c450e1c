"""Embedding and rerank endpoints' validation and answers (pure: body in, body out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .tokenizer import count_tokens
from .validate import GENERIC
from .vectors import cosine, dense_vector, sparse_vector
from .wire import invalid

__all__ = ["EMBEDDING_LIMITS", "embed", "rerank", "rerank_compatible"]


@dataclass(frozen=True)
class EmbeddingLimits:
    """Per-model limits of the emulated embedding models.

    Example:
        >>> EMBEDDING_LIMITS["text-embedding-v4"].max_rows
        10
    """

    max_rows: int
    dimensions: tuple[int, ...]
    default_dimension: int
    max_tokens: int
    sparse: bool


_V3_DIMS = (1024, 768, 512, 256, 128, 64)
_V4_DIMS = (2048, 1536, 1024, 768, 512, 256, 128, 64)
EMBEDDING_LIMITS: dict[str, EmbeddingLimits] = {
    "text-embedding-v1": EmbeddingLimits(25, (1536,), 1536, 2048, False),
    "text-embedding-v2": EmbeddingLimits(25, (1536,), 1536, 2048, False),
    "text-embedding-v3": EmbeddingLimits(10, _V3_DIMS, 1024, 8192, True),
    "text-embedding-v4": EmbeddingLimits(10, _V4_DIMS, 1024, 8192, True),
}
_DEFAULT_LIMITS = EmbeddingLimits(10, _V4_DIMS, 1024, 8192, True)  # configured extra models
MAX_DOCUMENTS = 500
RERANK_DIMENSION = 1024


def embed(model: str, body: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """Validate an embedding request and answer it."""
    limits = EMBEDDING_LIMITS.get(model, _DEFAULT_LIMITS)
    raw_input = body.get("input")
    texts: Any = raw_input.get("texts") if isinstance(raw_input, Mapping) else None
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts:
        raise invalid("Required input parameter missing from request.", "BadRequest.EmptyInput")
    if not all(isinstance(text, str) for text in texts):
        raise invalid(GENERIC)
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise invalid(GENERIC)
    if len(texts) > limits.max_rows:
        raise invalid(
            f"Value error, batch size is invalid, it should not be larger than {limits.max_rows}."
        )
    dimension = parameters.get("dimension", limits.default_dimension)
    if dimension not in limits.dimensions or isinstance(dimension, bool):
        allowed = ", ".join(str(d) for d in limits.dimensions)
        raise invalid(f"Value error, dimension should be one of [{allowed}].")
    text_type = parameters.get("text_type", "document")
    if text_type not in ("query", "document"):
        raise invalid("Value error, text_type should be one of ['query', 'document'].")
    output_type = parameters.get("output_type", "dense")
    allowed_outputs = ("dense", "sparse", "dense&sparse") if limits.sparse else ("dense",)
    if output_type not in allowed_outputs:
        raise invalid(f"Value error, output_type should be one of {list(allowed_outputs)}.")
    counts = [count_tokens(text) for text in texts]
    for text, count in zip(texts, counts, strict=True):
        if not text.strip() or count > limits.max_tokens:
            raise invalid(f"Range of input length should be [1, {limits.max_tokens}]")
    rows: list[dict[str, Any]] = []
    for index, text in enumerate(texts):
        row: dict[str, Any] = {"text_index": index}
        if output_type in ("dense", "dense&sparse"):
            row["embedding"] = dense_vector(text, int(dimension))
        if output_type in ("sparse", "dense&sparse"):
            row["sparse_embedding"] = sparse_vector(text)
        rows.append(row)
    return {
        "output": {"embeddings": rows},
        "usage": {"total_tokens": sum(counts)},
        "request_id": request_id,
    }


def _document_text(document: Any) -> str:
    if isinstance(document, str):
        return document
    if isinstance(document, Mapping) and isinstance(document.get("text"), str):
        return str(document["text"])
    raise invalid(GENERIC)


def _scores(
    query: Any, documents: Any, top_n: Any, return_documents: Any
) -> tuple[list[dict[str, Any]], int]:
    if not isinstance(query, str) or not query.strip():
        raise invalid("Required input parameter missing from request.", "BadRequest.EmptyInput")
    if not isinstance(documents, list) or not documents:
        raise invalid("Required input parameter missing from request.", "BadRequest.EmptyInput")
    if len(documents) > MAX_DOCUMENTS:
        raise invalid(f"Value error, documents length should not be larger than {MAX_DOCUMENTS}.")
    texts = [_document_text(document) for document in documents]
    if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
        raise invalid("Value error, top_n should be a positive integer.")
    query_vector = dense_vector(query, RERANK_DIMENSION)
    scored = []
    for index, text in enumerate(texts):
        similarity = cosine(query_vector, dense_vector(text, RERANK_DIMENSION))
        # Map cosine [-1, 1] into the open interval (0, 1) the service's scores live in.
        score = min(max((similarity + 1) / 2, 1e-6), 1 - 1e-6)
        item: dict[str, Any] = {"index": index, "relevance_score": score}
        if return_documents:
            item["document"] = {"text": text}
        scored.append(item)
    scored.sort(key=lambda item: (-item["relevance_score"], item["index"]))
    if top_n is not None:
        scored = scored[:top_n]
    tokens = count_tokens(query) * len(texts) + sum(count_tokens(text) for text in texts)
    return scored, tokens


def rerank(body: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """Answer a native ``text-rerank`` request."""
    raw_input = body.get("input")
    if not isinstance(raw_input, Mapping):
        raise invalid("Required input parameter missing from request.", "BadRequest.EmptyInput")
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise invalid(GENERIC)
    results, tokens = _scores(
        raw_input.get("query"),
        raw_input.get("documents"),
        parameters.get("top_n"),
        parameters.get("return_documents"),
    )
    return {
        "output": {"results": results},
        "usage": {"total_tokens": tokens},
        "request_id": request_id,
    }


def rerank_compatible(body: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """Answer a ``/compatible-api/v1/reranks`` request (flat body, flat answer)."""
    results, tokens = _scores(
        body.get("query"), body.get("documents"), body.get("top_n"), body.get("return_documents")
    )
    return {
        "results": results,
        "usage": {"total_tokens": tokens},
        "id": request_id,
        "request_id": request_id,
    }

"""Emulated knowledge-base retrieval and pipeline lookup (pure: body in, body out).

Shapes follow LlamaIndex's ``llama-index-indices-managed-dashscope`` (the only public client
of this API-key route): answers are ``{"code": "Success", "message", "request_id", ...}``;
retrieve answers ``nodes: [{"node": {"id_", "text", "metadata"}, "score"}]``. Limits come from
the Bailian ``Retrieve`` OpenAPI reference (top-k values 0..100, dense + sparse <= 200).
Assumed (undocumented for this route): an unknown pipeline answers ``404 NotFound``, a
pipeline of another workspace ``403 AccessDenied``; reranking keeps the ``rerank_top_n``
(default 5) best nodes scoring at least ``rerank_min_score``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .apps import IndexSpec, rank
from .wire import ServiceError, invalid

__all__ = ["find_index", "lookup_pipeline", "retrieve"]

DEFAULT_TOP_K = 100
DEFAULT_RERANK_TOP_N = 5
MAX_TOP_K = 100
MAX_TOTAL_TOP_K = 200


def find_index(indices: Mapping[str, IndexSpec], index_id: str, workspace: str | None) -> IndexSpec:
    """The knowledge base ``index_id`` if the caller's workspace owns it.

    Raises:
        ServiceError: 404 NotFound, 403 AccessDenied.
    """
    spec = indices.get(index_id)
    if spec is None:
        raise ServiceError(404, "NotFound", "Index can not be found.")
    if spec.workspace != workspace:
        raise ServiceError(403, "AccessDenied", "Access denied.")
    return spec


def lookup_pipeline(
    indices: Mapping[str, IndexSpec], name: str | None, workspace: str | None, request_id: str
) -> dict[str, Any]:
    """Answer ``GET /indices/pipeline_simple?pipeline_name=NAME`` (this workspace's only)."""
    if not name:
        raise invalid("Required parameter pipeline_name missing from request.")
    for index_id, spec in indices.items():
        if spec.name == name and spec.workspace == workspace:
            return {
                "code": "Success",
                "message": "success",
                "id": index_id,
                "name": spec.name,
                "request_id": request_id,
            }
    raise ServiceError(404, "NotFound", "Index can not be found.")


def _top_k(body: Mapping[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOP_K:
        raise invalid(f"Value error, {name} should be an integer in [0, {MAX_TOP_K}].")
    return value


def retrieve(spec: IndexSpec, body: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """Answer ``POST /indices/pipeline/{id}/retrieve``: the index's documents, ranked."""
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise invalid("Required parameter query missing from request.")
    dense = _top_k(body, "dense_similarity_top_k", DEFAULT_TOP_K)
    sparse = _top_k(body, "sparse_similarity_top_k", DEFAULT_TOP_K)
    if dense + sparse > MAX_TOTAL_TOP_K:
        raise invalid(
            "Value error, dense_similarity_top_k + sparse_similarity_top_k should be "
            f"at most {MAX_TOTAL_TOP_K}."
        )
    ranked = rank(spec.documents, query)[: max(dense, sparse)]
    if body.get("enable_reranking", True):
        top_n = body.get("rerank_top_n", DEFAULT_RERANK_TOP_N)
        if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
            raise invalid("Value error, rerank_top_n should be a positive integer.")
        floor = body.get("rerank_min_score") or 0.0
        if isinstance(floor, bool) or not isinstance(floor, (int, float)):
            raise invalid("Value error, rerank_min_score should be a number.")
        ranked = [pair for pair in ranked if pair[1] >= floor][:top_n]
    nodes = [
        {
            "node": {
                "id_": f"{document.doc_id}#0",
                "text": document.text,
                "metadata": {
                    "doc_id": document.doc_id,
                    "doc_name": document.name,
                    "title": document.title or document.name,
                    "file_path": document.url,
                    "image_url": list(document.images),
                    "page_number": document.page_number,
                    "index_name": spec.name,
                },
            },
            "score": score,
        }
        for document, score in ranked
    ]
    return {"code": "Success", "message": "success", "request_id": request_id, "nodes": nodes}

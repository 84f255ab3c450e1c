"""Rerank: request building and parsing for both wire formats (pure).

Two rerank wire formats exist: the native ``services/rerank/text-rerank/text-rerank``
(``gte-rerank-v2``, ``gte-rerank``, ``qwen3-vl-rerank``: nested ``input``/``parameters``,
answer under ``output``) and the OpenAI/Jina-like ``/compatible-api/v1/reranks`` used by
``qwen3-rerank`` (flat body, ``results`` at the top level). The parser accepts both shapes
whichever endpoint answered, and raises
:class:`~dashscope_ws.errors.APIResponseValidationError` for an empty list for non-empty
documents, a duplicated or out-of-range index, a NaN score or more results than ``top_n``
(an empty ranking would silently starve a RAG pipeline). Also importable from
:mod:`dashscope_ws.retrieval`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .http import HTTPRequest
from .models import BUILTIN_MODELS, lookup
from .types import RerankItem, RerankResult, Usage
from .wire import (
    ShapeError,
    answer_request_id,
    invalid_response,
    is_int,
    is_number,
    load_success_body,
    object_or_empty,
    strict_int,
)

if TYPE_CHECKING:
    from .config import ClientConfig

__all__ = [
    "COMPATIBLE_RERANK_MODELS",
    "COMPATIBLE_RERANK_PATH",
    "RERANK_PATH",
    "build_rerank_request",
    "parse_rerank_response",
    "rerank_uses_compatible_api",
]

RERANK_PATH = "services/rerank/text-rerank/text-rerank"
COMPATIBLE_RERANK_PATH = "reranks"
COMPATIBLE_RERANK_MODELS = frozenset(
    i.prefix for i in BUILTIN_MODELS if i.kind == "rerank" and i.endpoint == "compatible"
)


def rerank_uses_compatible_api(model: str) -> bool:
    """Whether ``model`` is served by ``/compatible-api/v1/reranks`` instead of the native path.

    Example:
        >>> rerank_uses_compatible_api("qwen3-rerank"), rerank_uses_compatible_api("gte-rerank-v2")
        (True, False)
    """
    return lookup(model).rerank_api == "compatible"


def build_rerank_request(
    config: ClientConfig,
    *,
    model: str,
    query: str,
    documents: Sequence[str],
    top_n: int | None = None,
    return_documents: bool = False,
    instruct: str | None = None,
    workspace: str | None = None,
) -> HTTPRequest:
    """Build a rerank request for the endpoint that serves ``model`` (always the model sent)."""
    options: dict[str, Any] = {"return_documents": return_documents}
    if top_n is not None:
        options["top_n"] = top_n
    if instruct is not None:
        options["instruct"] = instruct
    headers = config.headers(workspace=workspace)
    if rerank_uses_compatible_api(model):
        return HTTPRequest(
            method="POST",
            url=config.compatible_url(COMPATIBLE_RERANK_PATH, workspace=workspace),
            headers=headers,
            json={"model": model, "query": query, "documents": list(documents), **options},
        )
    return HTTPRequest(
        method="POST",
        url=config.url(RERANK_PATH, workspace=workspace),
        headers=headers,
        json={
            "model": model,
            "input": {"query": query, "documents": list(documents)},
            "parameters": options,
        },
    )


def parse_rerank_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    model: str,
    documents: Sequence[str],
    top_n: int | None = None,
) -> RerankResult:
    """Parse a native or compatible rerank answer, sorted by score (highest first).

    ``RerankItem.document`` is the returned text, or the input document at ``index`` when
    the service did not echo it, so callers never need to look it up.

    Args:
        top_n: the ``top_n`` sent, when one was: more results than that is malformed.

    Raises:
        APIStatusError: the service answered with an error, or not with JSON.
        APIResponseValidationError: the results are missing or malformed (see above).
    """
    data = load_success_body(status, headers, body)
    try:
        items = _rerank_items(data, documents, top_n)
    except ShapeError as error:
        raise invalid_response(
            error, body, request_id=answer_request_id(data, headers), status=status
        ) from None
    usage = object_or_empty(data.get("usage"))
    # The usage key is UNCONFIRMED (total_tokens vs input_tokens): accept either.
    total = strict_int(usage.get("total_tokens"))
    input_tokens = strict_int(usage.get("input_tokens"))
    return RerankResult(
        results=items,
        model=model,
        usage=Usage(
            input_tokens=input_tokens,
            total_tokens=total if total is not None else input_tokens,
            raw=dict(usage),
        ),
        request_id=answer_request_id(data, headers),
    )


def _rerank_items(
    data: dict[str, Any], documents: Sequence[str], top_n: int | None
) -> list[RerankItem]:
    output = data.get("output")
    results = output.get("results") if isinstance(output, dict) else data.get("results")
    if not isinstance(results, list):
        raise ShapeError("rerank response has no results list")
    if documents and not results:
        raise ShapeError(f"rerank response has no results for {len(documents)} documents")
    if len(results) > (len(documents) if top_n is None else min(top_n, len(documents))):
        raise ShapeError(
            f"rerank response has {len(results)} results for {len(documents)} documents"
            + ("" if top_n is None else f" and top_n={top_n}")
        )
    items = []
    seen: set[int] = set()
    for entry in results:
        index = entry.get("index") if isinstance(entry, dict) else None
        if not is_int(index) or not 0 <= index < len(documents) or index in seen:
            raise ShapeError(f"rerank response has a bad or repeated index {index!r}")
        seen.add(index)
        score = entry.get("relevance_score")
        if not is_number(score) or not math.isfinite(score):
            raise ShapeError(f"rerank response has no finite relevance_score for {index}")
        document = entry.get("document")
        text = document.get("text") if isinstance(document, dict) else document
        items.append(
            RerankItem(
                index=index,
                relevance_score=float(score),
                document=text if isinstance(text, str) else documents[index],
            )
        )
    items.sort(key=lambda item: item.relevance_score, reverse=True)
    return items

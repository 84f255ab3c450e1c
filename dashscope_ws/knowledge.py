"""Bailian knowledge-base retrieval over the API-key route, sans-I/O.

Sources (see also ``docs/apps.md``). The official ``dashscope`` SDK has no retrieve call; the
route and shapes below are those of LlamaIndex's ``llama-index-indices-managed-dashscope``
(``constants.py``, ``retriever.py``, ``utils.py``), which talks to the service with an API key:

* Confirmed there — lookup ``GET {host}/api/v1/indices/pipeline_simple?pipeline_name=NAME``
  answers ``{"code": "Success", "id": "<pipeline id>", ...}``.
* Confirmed there — ``POST {host}/api/v1/indices/pipeline/{pipeline_id}/retrieve`` with a flat
  JSON body ``{"query", "dense_similarity_top_k", "sparse_similarity_top_k", "enable_rewrite",
  "rewrite": [{"model_name", "class_name"}], "enable_reranking", "rerank": [{"model_name"}],
  "rerank_min_score", "rerank_top_n"}`` answers ``{"code": "Success", "nodes": [{"node":
  {<LlamaIndex TextNode dict: "text", "metadata", "id_" ...>}, "score": float}]}``.
* Confirmed there — a business failure has ``code != "Success"`` (HTTP status may be 200).
* Assumed — the workspace header ``X-DashScope-WorkSpace`` scopes the lookup and retrieval as
  for every other call (LlamaIndex sends it); error bodies carry ``code``/``message``/
  ``request_id`` like the rest of the API; ``query_history`` (LlamaIndex misspells it
  ``query_hisory``) is not sent. Parsing is tolerant: a node's text may sit at ``node.text``
  or at the entry's top level, metadata may be missing, a missing score is ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from .config import ClientConfig
from .errors import error_from_response
from .protocol import HTTPRequest, header_value, json_object, parse_error

__all__ = [
    "RetrievedNode",
    "build_pipeline_lookup_request",
    "build_retrieve_request",
    "parse_pipeline_lookup",
    "parse_retrieve_response",
]

PIPELINE_LOOKUP_PATH = "indices/pipeline_simple"
RETRIEVE_PATH = "indices/pipeline/{pipeline_id}/retrieve"


@dataclass(frozen=True)
class RetrievedNode:
    """One knowledge-base chunk with its relevance score.

    Example:
        >>> RetrievedNode(text="Bailian phone", score=0.9, metadata={"doc_name": "x"}).score
        0.9
    """

    text: str
    score: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    node_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def _pipeline_id(index_id: str) -> str:
    if not isinstance(index_id, str) or not index_id.strip():
        raise ValueError("index_id must be a non-empty string")
    return quote(index_id.strip(), safe="")


def build_retrieve_request(
    config: ClientConfig,
    index_id: str,
    query: str,
    *,
    top_k: int | None = None,
    dense_similarity_top_k: int | None = None,
    sparse_similarity_top_k: int | None = None,
    enable_reranking: bool | None = None,
    rerank_model: str | None = None,
    rerank_top_n: int | None = None,
    rerank_min_score: float | None = None,
    enable_rewrite: bool | None = None,
    rewrite_model: str | None = None,
    workspace: str | None = None,
) -> HTTPRequest:
    """The retrieve request for pipeline (index) ``index_id``.

    ``top_k`` is shorthand: it sets ``dense_similarity_top_k`` and ``sparse_similarity_top_k``
    where those are not given, and ``rerank_top_n`` when reranking is on and it is not given.
    Unset options are omitted (the service's defaults apply: 100 / 100 / rerank on).
    """
    if not isinstance(query, str) or not query.strip():
        raise ValueError("query must be a non-empty string")
    for name, value in (("top_k", top_k), ("rerank_top_n", rerank_top_n)):
        if value is not None and (isinstance(value, bool) or value < 1):
            raise ValueError(f"{name} must be a positive integer")
    dense = dense_similarity_top_k if dense_similarity_top_k is not None else top_k
    sparse = sparse_similarity_top_k if sparse_similarity_top_k is not None else top_k
    if rerank_top_n is None and top_k is not None and enable_reranking is not False:
        rerank_top_n = top_k
    body: dict[str, Any] = {"query": query}
    options: dict[str, Any] = {
        "dense_similarity_top_k": dense,
        "sparse_similarity_top_k": sparse,
        "enable_rewrite": enable_rewrite,
        "rewrite": [{"model_name": rewrite_model, "class_name": "DashScopeTextRewrite"}]
        if rewrite_model
        else None,
        "enable_reranking": enable_reranking,
        "rerank": [{"model_name": rerank_model}] if rerank_model else None,
        "rerank_min_score": rerank_min_score,
        "rerank_top_n": rerank_top_n,
    }
    body.update({k: v for k, v in options.items() if v is not None})
    path = RETRIEVE_PATH.format(pipeline_id=_pipeline_id(index_id))
    return HTTPRequest(
        "POST", config.url(path, workspace=workspace), config.headers(workspace=workspace), body
    )


def _business_payload(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The answer object; ``code`` other than ``"Success"`` is an error even under HTTP 200."""
    if status != 200:
        raise parse_error(status, headers, body)
    payload = json_object(body.decode("utf-8", "replace"))
    if payload is None:
        raise error_from_response(
            status, "InvalidResponse", f"response body is not a JSON object: {body[:200]!r}",
            header_value(headers, "x-request-id"),
        )  # fmt: skip
    code = payload.get("code")
    if code not in (None, "", "Success"):
        request_id = payload.get("request_id") or header_value(headers, "x-request-id")
        raise error_from_response(
            400, str(code), str(payload.get("message") or ""), request_id, body=payload
        )
    return payload


def parse_retrieve_response(
    status: int, headers: Mapping[str, str], body: bytes
) -> list[RetrievedNode]:
    """The scored nodes of a retrieve answer, in the service's order (best first).

    Raises:
        APIStatusError: an error answer (HTTP error, or ``code`` other than ``Success``).
    """
    payload = _business_payload(status, headers, body)
    nodes: list[RetrievedNode] = []
    raw_nodes = payload.get("nodes")
    for entry in raw_nodes if isinstance(raw_nodes, list) else []:
        if not isinstance(entry, Mapping):
            continue
        node = entry.get("node")
        node = node if isinstance(node, Mapping) else entry
        metadata = node.get("metadata")
        score = entry.get("score")
        node_id = node.get("id_") or node.get("id")
        nodes.append(
            RetrievedNode(
                text=str(node.get("text") or ""),
                score=float(score)
                if isinstance(score, (int, float)) and not isinstance(score, bool)
                else None,
                metadata=dict(metadata) if isinstance(metadata, Mapping) else {},
                node_id=str(node_id) if node_id else None,
                raw=dict(entry),
            )
        )
    return nodes


def build_pipeline_lookup_request(
    config: ClientConfig, name: str, *, workspace: str | None = None
) -> HTTPRequest:
    """The request that finds a knowledge base's pipeline id from its name."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("the knowledge base name must be a non-empty string")
    url = config.url(PIPELINE_LOOKUP_PATH, workspace=workspace)
    return HTTPRequest(
        "GET",
        f"{url}?{urlencode({'pipeline_name': name})}",
        config.headers(workspace=workspace),
        None,
    )


def parse_pipeline_lookup(status: int, headers: Mapping[str, str], body: bytes) -> str:
    """The pipeline id of a lookup answer.

    Raises:
        APIStatusError: an error answer, or ``NotFound`` (404) when the answer names no id.
    """
    payload = _business_payload(status, headers, body)
    pipeline_id = payload.get("id")
    if not isinstance(pipeline_id, str) or not pipeline_id:
        request_id = payload.get("request_id")
        raise error_from_response(
            404, "NotFound", "no knowledge base has that name", request_id, body=payload
        )
    return pipeline_id

"""Helpers that read the emulator's request log (shared by the retrieval tests)."""

from __future__ import annotations

from typing import Any

from dashscope_ws.emulator import Emulator, RecordedRequest

EMBEDDING_PATH = "/api/v1/services/embeddings/text-embedding/text-embedding"
RERANK_PATH = "/api/v1/services/rerank/text-rerank/text-rerank"
COMPATIBLE_RERANK_PATH = "/compatible-api/v1/reranks"


def embedding_requests(emulator: Emulator) -> list[RecordedRequest]:
    """Embedding requests in the order they arrived."""
    return [r for r in emulator.requests if r.path == EMBEDDING_PATH]


def texts_of(request: RecordedRequest) -> list[str]:
    """The ``input.texts`` an embedding request carried."""
    body: dict[str, Any] = request.json
    return list(body["input"]["texts"])


def parameters_of(request: RecordedRequest) -> dict[str, Any]:
    """The ``parameters`` object of a native request (empty when absent)."""
    return dict(request.json.get("parameters") or {})


def max_in_flight(requests: list[RecordedRequest]) -> int:
    """The most requests the server was handling at one moment (from the log's spans)."""
    edges: list[tuple[float, int]] = []
    for r in requests:
        assert r.finished is not None, "request still in flight"
        # Ends sort before starts at the same instant: touching spans do not overlap.
        edges += [(r.started, 1), (r.finished, -1)]
    peak = current = 0
    for _, step in sorted(edges):
        current += step
        peak = max(peak, current)
    return peak

"""Helpers that read the emulator's request log (shared by the retrieval tests)."""

from __future__ import annotations

from typing import Any, TypeVar

from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator, RecordedRequest

T = TypeVar("T")

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


def on_emulator(cls: type[T], emulator: Emulator, **kwargs: Any) -> T:
    """An adapter object with the sub-account key and workspace, talking to ``emulator``."""
    options: dict[str, Any] = {
        "api_key": SUB_KEY,
        "workspace": SUB_WORKSPACE,
        "base_url": emulator.base_url,
    }
    options.update(kwargs)
    return cls(**options)


def assert_rag_stayed_in_sub_workspace(emulator: Emulator) -> list[str]:
    """Check a RAG run's log: embed, rerank and chat, all 200, all with the sub key in its
    workspace; returns the ``text_type`` of every embedding request, in order."""
    requests = emulator.requests
    paths = {r.path for r in requests}
    assert EMBEDDING_PATH in paths
    assert paths & {RERANK_PATH, COMPATIBLE_RERANK_PATH}
    assert any(r.path.endswith("/generation") for r in requests)
    assert all(r.headers.get("X-DashScope-WorkSpace") == SUB_WORKSPACE for r in requests)
    assert all(r.headers.get("Authorization") == f"Bearer {SUB_KEY}" for r in requests)
    assert all(r.status == 200 for r in requests)
    return [r.json["parameters"]["text_type"] for r in requests if r.path == EMBEDDING_PATH]

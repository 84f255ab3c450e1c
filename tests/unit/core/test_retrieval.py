"""Pure tests of dashscope_ws.retrieval: limits, batching, request bodies and parsing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dashscope_ws.config import ClientConfig
from dashscope_ws.errors import (
    APIResponseValidationError,
    AuthenticationError,
    BadRequestError,
    RateLimitError,
)
from dashscope_ws.retrieval import (
    EMBEDDING_MODELS,
    EmbeddingBatch,
    build_embedding_request,
    build_rerank_request,
    embedding_batches,
    merge_embedding_batches,
    parse_embedding_response,
    parse_rerank_response,
)
from dashscope_ws.types import Usage


@pytest.fixture
def config() -> ClientConfig:
    return ClientConfig.resolve(
        api_key="sk-test", base_url="http://127.0.0.1:9/api/v1", workspace="ws-1", env={}
    )


def body(data: Any) -> bytes:
    return json.dumps(data).encode()


# ------------------------------------------------------------------ limits and batching


@pytest.mark.parametrize(
    ("model", "batch", "default_dim", "dims"),
    [
        ("text-embedding-v1", 25, 1536, (1536,)),
        ("text-embedding-v2", 25, 1536, (1536,)),
        ("text-embedding-v3", 10, 1024, (1024, 768, 512, 256, 128, 64)),
        ("text-embedding-v4", 10, 1024, (2048, 1536, 1024, 768, 512, 256, 128, 64)),
    ],
)
def test_model_table(model: str, batch: int, default_dim: int, dims: tuple[int, ...]) -> None:
    spec = EMBEDDING_MODELS[model]
    assert (spec.max_batch, spec.default_dimension, spec.dimensions) == (batch, default_dim, dims)


def test_batches_preserve_order_and_respect_the_model_limit() -> None:
    texts = [f"t{i}" for i in range(25)]
    batches = embedding_batches(texts, model="text-embedding-v3")
    assert [len(rows) for _, rows in batches] == [10, 10, 5]
    assert [offset for offset, _ in batches] == [0, 10, 20]
    assert [t for _, rows in batches for t in rows] == texts


def test_v1_takes_25_rows_and_unknown_models_10() -> None:
    texts = [str(i) for i in range(26)]
    assert [len(r) for _, r in embedding_batches(texts, model="text-embedding-v1")] == [25, 1]
    assert [len(r) for _, r in embedding_batches(texts, model="my-embedder")] == [10, 10, 6]


def test_batch_size_is_clamped_to_the_model_max_and_can_be_smaller() -> None:
    texts = [str(i) for i in range(12)]
    assert [
        len(r) for _, r in embedding_batches(texts, model="text-embedding-v4", batch_size=25)
    ] == [
        10,
        2,
    ]
    assert [
        len(r) for _, r in embedding_batches(texts, model="text-embedding-v4", batch_size=5)
    ] == [
        5,
        5,
        2,
    ]
    with pytest.raises(ValueError, match="batch_size"):
        embedding_batches(texts, model="text-embedding-v4", batch_size=0)


def test_no_texts_no_batches() -> None:
    assert embedding_batches([], model="text-embedding-v4") == []


# ------------------------------------------------------------------ embedding requests


def test_embedding_request_minimal(config: ClientConfig) -> None:
    request = build_embedding_request(config, model="text-embedding-v4", texts=["a", "b"])
    assert request.method == "POST"
    assert request.url.endswith("/api/v1/services/embeddings/text-embedding/text-embedding")
    assert request.json == {
        "model": "text-embedding-v4",
        "input": {"texts": ["a", "b"]},
        "parameters": {},
    }
    assert request.headers["X-DashScope-WorkSpace"] == "ws-1"
    assert "Authorization" not in request.headers  # added by the transport, from api_key


def test_embedding_request_sends_options_only_when_given(config: ClientConfig) -> None:
    request = build_embedding_request(
        config,
        model="text-embedding-v4",
        texts=["q"],
        text_type="query",
        dimension=512,
        output_type="dense&sparse",
        instruct="Find docs",
        workspace="ws-2",
    )
    assert request.json is not None
    assert request.json["parameters"] == {
        "text_type": "query",
        "dimension": 512,
        "output_type": "dense&sparse",
        "instruct": "Find docs",
    }
    assert request.headers["X-DashScope-WorkSpace"] == "ws-2"


@pytest.mark.parametrize(
    ("model", "dimension"), [("text-embedding-v3", 2048), ("text-embedding-v1", 1024)]
)
def test_dimension_not_offered_is_rejected(
    config: ClientConfig, model: str, dimension: int
) -> None:
    with pytest.raises(ValueError, match="dimension"):
        build_embedding_request(config, model=model, texts=["a"], dimension=dimension)


def test_unknown_model_dimension_is_not_checked(config: ClientConfig) -> None:
    request = build_embedding_request(config, model="future-embedder", texts=["a"], dimension=3)
    assert request.json is not None
    assert request.json["parameters"] == {"dimension": 3}


# ------------------------------------------------------------------ embedding responses


def test_embeddings_are_ordered_by_text_index_not_list_order() -> None:
    data = {
        "output": {
            "embeddings": [
                {"text_index": 1, "embedding": [1.0, 1.5]},
                {"text_index": 0, "embedding": [0.0, 0.5]},
            ]
        },
        "usage": {"total_tokens": 7},
        "request_id": "r-1",
    }
    batch = parse_embedding_response(200, {}, body(data), count=2)
    assert batch.embeddings == [[0.0, 0.5], [1.0, 1.5]]
    assert batch.usage.total_tokens == 7
    assert batch.request_id == "r-1"
    assert batch.sparse == []


@pytest.mark.parametrize(
    "sparse",
    [
        {"indices": [3, 9], "values": [0.5, 0.25]},
        [{"index": 3, "value": 0.5, "token": "a"}, {"index": 9, "value": 0.25, "token": "b"}],
    ],
)
def test_sparse_embedding_accepts_both_shapes(sparse: Any) -> None:
    data = {
        "output": {
            "embeddings": [{"text_index": 0, "embedding": [0.1], "sparse_embedding": sparse}]
        }
    }
    batch = parse_embedding_response(200, {}, body(data), count=1)
    assert batch.sparse[0]["indices"] == [3, 9]
    assert batch.sparse[0]["values"] == [0.5, 0.25]


def test_sparse_only_output_has_no_dense_vectors() -> None:
    data = {
        "output": {
            "embeddings": [{"text_index": 0, "sparse_embedding": {"indices": [1], "values": [0.5]}}]
        }
    }
    batch = parse_embedding_response(200, {}, body(data), count=1)
    assert batch.embeddings == []
    assert batch.sparse == [{"indices": [1], "values": [0.5]}]


@pytest.mark.parametrize(
    "embeddings",
    [
        [{"text_index": 0, "embedding": [0.1]}],  # one row missing
        [{"text_index": 0, "embedding": [0.1]}, {"text_index": 0, "embedding": [0.2]}],  # duplicate
        [{"text_index": 0, "embedding": [0.1]}, {"text_index": 1, "embedding": None}],  # no vector
        [
            {"text_index": 0, "embedding": [0.1]},
            {"text_index": 5, "embedding": [0.2]},
        ],  # out of range
    ],
)
def test_incomplete_embedding_answer_raises_instead_of_returning_none(
    embeddings: list[dict[str, Any]],
) -> None:
    with pytest.raises(APIResponseValidationError):
        parse_embedding_response(200, {}, body({"output": {"embeddings": embeddings}}), count=2)


def test_embedding_error_answers_are_mapped() -> None:
    error = {"code": "InvalidApiKey", "message": "Invalid API-key provided.", "request_id": "r-9"}
    with pytest.raises(AuthenticationError) as info:
        parse_embedding_response(401, {}, body(error), count=1)
    assert info.value.request_id == "r-9"
    with pytest.raises(BadRequestError):  # a 200 carrying a business error
        parse_embedding_response(
            200, {}, body({"code": "InvalidParameter", "message": "x"}), count=1
        )
    # Bodies that are not JSON: tests/unit/core/test_invalid_bodies.py (same rule as chat).


def test_merge_keeps_batch_order_and_sums_tokens() -> None:
    batches = [
        EmbeddingBatch([[0.0], [1.0]], usage=Usage(total_tokens=3), request_id="a"),
        EmbeddingBatch([[2.0]], usage=Usage(total_tokens=4), request_id="b"),
    ]
    result = merge_embedding_batches("text-embedding-v4", batches)
    assert result.embeddings == [[0.0], [1.0], [2.0]]
    assert result.usage.total_tokens == 7
    assert result.request_ids == ("a", "b")
    assert result.model == "text-embedding-v4"


# ------------------------------------------------------------------ rerank


def test_native_rerank_request(config: ClientConfig) -> None:
    request = build_rerank_request(
        config,
        model="gte-rerank-v2",
        query="q",
        documents=["a", "b"],
        top_n=1,
        return_documents=True,
    )
    assert request.url.endswith("/api/v1/services/rerank/text-rerank/text-rerank")
    assert request.json == {
        "model": "gte-rerank-v2",
        "input": {"query": "q", "documents": ["a", "b"]},
        "parameters": {"return_documents": True, "top_n": 1},
    }


def test_qwen3_rerank_uses_the_compatible_endpoint_with_a_flat_body(config: ClientConfig) -> None:
    request = build_rerank_request(
        config,
        model="qwen3-rerank",
        query="q",
        documents=["a"],
        instruct="Rank it",
        workspace="ws-2",
    )
    assert request.url == "http://127.0.0.1:9/compatible-api/v1/reranks"
    assert request.json == {
        "model": "qwen3-rerank",
        "query": "q",
        "documents": ["a"],
        "return_documents": False,
        "instruct": "Rank it",
    }
    assert request.headers["X-DashScope-WorkSpace"] == "ws-2"


def test_native_rerank_response_is_sorted_and_fills_documents() -> None:
    data = {
        "output": {
            "results": [
                {"index": 0, "relevance_score": 0.2},
                {"index": 1, "relevance_score": 0.9, "document": {"text": "echoed"}},
            ]
        },
        "usage": {"input_tokens": 12},
        "request_id": "r-2",
    }
    result = parse_rerank_response(200, {}, body(data), model="gte-rerank-v2", documents=["a", "b"])
    assert [(i.index, i.relevance_score, i.document) for i in result.results] == [
        (1, 0.9, "echoed"),
        (0, 0.2, "a"),
    ]
    assert result.usage.total_tokens == 12
    assert result.request_id == "r-2"
    assert result.model == "gte-rerank-v2"


def test_compatible_rerank_response() -> None:
    data = {
        "id": "req-7",
        "object": "list",
        "model": "qwen3-rerank",
        "results": [{"index": 1, "relevance_score": 0.7, "document": {"text": "b"}}],
        "usage": {"total_tokens": 30},
    }
    result = parse_rerank_response(200, {}, body(data), model="qwen3-rerank", documents=["a", "b"])
    assert [(i.index, i.document) for i in result.results] == [(1, "b")]
    assert result.usage.total_tokens == 30
    assert result.request_id == "req-7"


def test_rerank_errors_are_mapped_in_both_shapes() -> None:
    native = {"code": "Throttling.RateQuota", "message": "slow down", "request_id": "r"}
    with pytest.raises(RateLimitError):
        parse_rerank_response(429, {}, body(native), model="gte-rerank-v2", documents=["a"])
    compatible = {"error": {"code": "invalid_api_key", "message": "bad key"}, "request_id": "r"}
    with pytest.raises(AuthenticationError):
        parse_rerank_response(401, {}, body(compatible), model="qwen3-rerank", documents=["a"])
    bad_index = {"output": {"results": [{"index": 3, "relevance_score": 0.1}]}}
    with pytest.raises(APIResponseValidationError):
        parse_rerank_response(200, {}, body(bad_index), model="gte-rerank-v2", documents=["a"])

"""Embeddings and rerank: limits, dimensions, vectors that retrieve, ordering."""

from __future__ import annotations

import math
from typing import Any

import pytest
from emulator_testkit import EMBED_PATH, RERANK_PATH, Call

from dashscope_ws.emulator import Emulator

DOCS = [
    "Bananas are a yellow tropical fruit rich in potassium.",
    "The Python programming language was created by Guido van Rossum.",
    "巴黎是法国的首都，有埃菲尔铁塔。",
    "Volcanoes erupt molten lava from deep inside the earth.",
]


def embed(call: Call, texts: list[str], model: str = "text-embedding-v4", **params: Any) -> Any:
    return call(EMBED_PATH, {"model": model, "input": {"texts": texts}, "parameters": params})


def vectors(call: Call, texts: list[str], **params: Any) -> list[list[float]]:
    response = embed(call, texts, **params)
    assert response.status_code == 200, response.text
    rows = response.json()["output"]["embeddings"]
    assert [r["text_index"] for r in rows] == list(range(len(texts)))
    return [r["embedding"] for r in rows]


def cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def error_of(response: Any) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["message"]


@pytest.mark.parametrize(
    ("model", "dimension", "expected"),
    [
        ("text-embedding-v4", None, 1024),
        ("text-embedding-v4", 2048, 2048),
        ("text-embedding-v4", 64, 64),
        ("text-embedding-v3", 768, 768),
        ("text-embedding-v2", None, 1536),
        ("text-embedding-v1", None, 1536),
    ],
)
def test_dimensions(call: Call, model: str, dimension: int | None, expected: int) -> None:
    params = {} if dimension is None else {"dimension": dimension}
    (vector,) = vectors(call, ["hello world"], model=model, **params)
    assert len(vector) == expected
    assert math.isclose(sum(x * x for x in vector), 1.0, rel_tol=1e-9)


@pytest.mark.parametrize(
    ("model", "dimension"),
    [("text-embedding-v3", 2048), ("text-embedding-v4", 100), ("text-embedding-v2", 1024)],
)
def test_invalid_dimension(call: Call, model: str, dimension: int) -> None:
    status, code, message = error_of(embed(call, ["x"], model=model, dimension=dimension))
    assert (status, code) == (400, "InvalidParameter")
    assert "dimension" in message


@pytest.mark.parametrize(
    ("model", "limit"),
    [("text-embedding-v4", 10), ("text-embedding-v3", 10), ("text-embedding-v2", 25)],
)
def test_row_limits(call: Call, model: str, limit: int) -> None:
    assert embed(call, ["t"] * limit, model=model).status_code == 200
    assert error_of(embed(call, ["t"] * (limit + 1), model=model)) == (
        400,
        "InvalidParameter",
        f"Value error, batch size is invalid, it should not be larger than {limit}.",
    )


def test_empty_and_overlong_text(call: Call) -> None:
    expected = (400, "InvalidParameter", "Range of input length should be [1, 8192]")
    assert error_of(embed(call, ["fine", ""])) == expected
    assert error_of(embed(call, ["word " * 8193])) == expected
    assert embed(call, ["word " * 8192]).status_code == 200
    assert error_of(embed(call, ["word " * 2049], model="text-embedding-v2"))[2] == (
        "Range of input length should be [1, 2048]"
    )


def test_text_type(call: Call) -> None:
    assert embed(call, ["a"], text_type="query").status_code == 200
    assert embed(call, ["a"], text_type="document").status_code == 200
    assert error_of(embed(call, ["a"], text_type="passage"))[:2] == (400, "InvalidParameter")


def test_vectors_are_deterministic_and_retrieve(call: Call) -> None:
    first = vectors(call, DOCS)
    assert vectors(call, DOCS) == first
    query = vectors(call, ["Who created the Python language?"], text_type="query")[0]
    scores = [cos(query, doc) for doc in first]
    assert max(range(len(DOCS)), key=scores.__getitem__) == 1
    (chinese,) = vectors(call, ["法国的首都是哪里"])
    assert max(range(len(DOCS)), key=lambda i: cos(chinese, first[i])) == 2


def test_usage_and_sparse_output(call: Call) -> None:
    body = embed(call, ["hello world", "你好"], output_type="dense&sparse").json()
    assert body["usage"] == {"total_tokens": 4}
    row = body["output"]["embeddings"][0]
    sparse = row["sparse_embedding"]
    assert len(sparse["indices"]) == len(sparse["values"]) == 2
    assert len(row["embedding"]) == 1024
    only_sparse = embed(call, ["hello"], output_type="sparse").json()["output"]["embeddings"][0]
    assert "embedding" not in only_sparse
    assert only_sparse["sparse_embedding"]["indices"]
    assert error_of(embed(call, ["x"], model="text-embedding-v2", output_type="sparse"))[0] == 400


def rerank(call: Call, query: str, documents: list[str], **params: Any) -> Any:
    body = {"model": "gte-rerank-v2", "input": {"query": query, "documents": documents}}
    return call(RERANK_PATH, {**body, "parameters": params})


def test_rerank_orders_by_relevance(call: Call) -> None:
    response = rerank(call, "Who created the Python programming language?", DOCS)
    assert response.status_code == 200
    body = response.json()
    results = body["output"]["results"]
    assert results[0]["index"] == 1
    scores = [r["relevance_score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s < 1 for s in scores)
    assert sorted(r["index"] for r in results) == [0, 1, 2, 3]
    assert "document" not in results[0]
    assert body["usage"]["total_tokens"] > 0


def test_rerank_top_n_and_documents(call: Call) -> None:
    results = rerank(call, "volcano lava", DOCS, top_n=2, return_documents=True).json()
    top = results["output"]["results"]
    assert len(top) == 2
    assert top[0]["index"] == 3
    assert top[0]["document"] == {"text": DOCS[3]}


def test_rerank_validation(call: Call) -> None:
    assert error_of(rerank(call, "", DOCS))[0] == 400
    assert error_of(rerank(call, "q", []))[0] == 400
    assert error_of(rerank(call, "q", DOCS, top_n=0))[:2] == (400, "InvalidParameter")


def test_compatible_rerank_endpoint(call: Call, emu: Emulator) -> None:
    body = {
        "model": "qwen3-rerank",
        "query": "capital of France 法国首都",
        "documents": DOCS,
        "top_n": 1,
        "return_documents": True,
        "instruct": "Given a query, retrieve relevant passages",
    }
    response = call("/reranks", body, root=emu.compatible_url)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"results", "usage", "id", "request_id"}
    (best,) = answer["results"]
    assert best["index"] == 2
    assert best["document"] == {"text": DOCS[2]}
    assert answer["usage"]["total_tokens"] > 0
    wrong_path = call("/reranks", {**body, "model": "gte-rerank-v2"}, root=emu.compatible_url)
    assert wrong_path.json()["message"] == "url error, please check url！"

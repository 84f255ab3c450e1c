"""Embeddings and rerank through DashScopeClient against the emulator, sync and async."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import pytest
from client_modes import MODES, make_client_fixture, run  # noqa: F401

from dashscope_ws import DashScopeClient, EmbeddingResult, RerankResult
from dashscope_ws.emulator import Emulator
from dashscope_ws.emulator.script import ScriptedReply

MakeClient = Callable[..., DashScopeClient]
TEXTS = [f"sentence number {i}" for i in range(25)]
DOCS = ["Hangzhou is in Zhejiang.", "Rerank models sort documents.", "Bananas are yellow."]


def _assert_one_after_another(emulator: Emulator) -> None:
    requests = emulator.requests
    assert len(requests) == 3
    for earlier, later in itertools.pairwise(requests):
        assert earlier.finished is not None
        assert later.started >= earlier.finished


def _texts_sent(emulator: Emulator) -> list[list[str]]:
    return [r.json["input"]["texts"] for r in emulator.requests]


@MODES
def test_embeddings_are_batched_by_the_model_limit_in_order(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    result = run(mode, make_client(), "embed", TEXTS, model="text-embedding-v3")
    assert isinstance(result, EmbeddingResult)
    sent = _texts_sent(dashscope_emulator)
    assert sorted(len(batch) for batch in sent) == [5, 10, 10]
    assert sorted(t for batch in sent for t in batch) == sorted(TEXTS)
    assert len(result.embeddings) == 25
    assert result.dimension == 1024
    assert len(result.request_ids) == 3
    assert result.usage.total_tokens is not None
    assert result.usage.total_tokens > 0
    # Each vector belongs to its own text: embedding one text alone gives the same vector.
    single = run(mode, make_client(), "embed", [TEXTS[17]], model="text-embedding-v3")
    assert single.embeddings[0] == result.embeddings[17]


@MODES
def test_embedding_options_reach_the_wire(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    result = run(
        mode, make_client(), "embed", ["a query"], model="text-embedding-v4",
        text_type="query", dimension=512,
    )  # fmt: skip
    [request] = dashscope_emulator.requests
    assert request.json["model"] == "text-embedding-v4"
    assert request.json["parameters"] == {"text_type": "query", "dimension": 512}
    assert result.dimension == 512


@MODES
def test_invalid_dimension_fails_before_any_request(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    with pytest.raises(ValueError, match="dimension"):
        run(mode, make_client(), "embed", TEXTS, model="text-embedding-v3", dimension=2048)
    assert dashscope_emulator.requests == []


@MODES
def test_empty_inputs_make_no_request(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    client = make_client()
    assert run(mode, client, "embed", []).embeddings == []
    assert run(mode, client, "rerank", "query", []).results == []
    assert dashscope_emulator.requests == []


def test_sync_batches_are_sent_one_after_another(
    make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    make_client().embed(TEXTS, model="text-embedding-v3")
    _assert_one_after_another(dashscope_emulator)


async def test_async_batches_run_concurrently(
    make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(
        ScriptedReply(kind="embedding", delay_before_first_byte=1.0, times=3)
    )
    client = make_client()
    try:
        result = await client.aembed(TEXTS, model="text-embedding-v3", max_concurrency=3)
    finally:
        await client.aclose()
    assert len(result.embeddings) == 25
    requests = dashscope_emulator.requests
    assert len(requests) == 3
    # All three were in flight at the same time: each started before any finished.
    first_finish = min(r.finished for r in requests if r.finished is not None)
    assert all(r.started < first_finish for r in requests)


async def test_async_concurrency_is_bounded(
    make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(
        ScriptedReply(kind="embedding", delay_before_first_byte=0.3, times=3)
    )
    client = make_client()
    try:
        await client.aembed(TEXTS, model="text-embedding-v3", max_concurrency=1)
    finally:
        await client.aclose()
    _assert_one_after_another(dashscope_emulator)


@MODES
def test_a_failed_batch_is_retried_alone(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    expected = run(mode, make_client(), "embed", TEXTS, model="text-embedding-v3").embeddings
    dashscope_emulator.reset()
    dashscope_emulator.enqueue(ScriptedReply.error(500, "InternalError", "boom", kind="embedding"))
    result = run(mode, make_client(), "embed", TEXTS, model="text-embedding-v3")
    sent = _texts_sent(dashscope_emulator)
    assert len(sent) == 4
    assert [r.status for r in dashscope_emulator.requests].count(500) == 1
    failed = next(r.json["input"]["texts"] for r in dashscope_emulator.requests if r.status == 500)
    assert sent.count(failed) == 2
    assert all(sent.count(batch) == 1 for batch in sent if batch != failed)
    assert result.embeddings == expected


@MODES
@pytest.mark.parametrize("bad", ["", "word " * 8193])
def test_an_empty_or_overlong_text_raises_the_service_error(
    mode: str, bad: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    from dashscope_ws import BadRequestError

    with pytest.raises(BadRequestError) as info:
        run(mode, make_client(), "embed", ["fine", bad], model="text-embedding-v4")
    assert info.value.code == "InvalidParameter"
    assert "input length" in str(info.value.message)
    assert len(dashscope_emulator.requests) == 1  # a 400 is never retried


@MODES
@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("gte-rerank-v2", "/api/v1/services/rerank/text-rerank/text-rerank"),
        ("qwen3-rerank", "/compatible-api/v1/reranks"),
    ],
)
def test_rerank_sends_the_chosen_model_to_its_endpoint(
    mode: str, model: str, path: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    result = run(
        mode, make_client(), "rerank", "What do rerank models do?", DOCS, model=model, top_n=2
    )
    assert isinstance(result, RerankResult)
    assert result.model == model
    [request] = dashscope_emulator.requests
    assert request.path == path
    assert request.json["model"] == model
    assert len(result.results) == 2
    scores = [item.relevance_score for item in result.results]
    assert scores == sorted(scores, reverse=True)
    assert all(item.document == DOCS[item.index] for item in result.results)


@MODES
def test_rerank_errors_are_raised_not_swallowed(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    from dashscope_ws import RateLimitError

    dashscope_emulator.enqueue(ScriptedReply.rate_limited(retry_after=None, kind="rerank", times=3))
    with pytest.raises(RateLimitError):
        run(mode, make_client(), "rerank", "q", DOCS, model="gte-rerank-v2")
    assert len(dashscope_emulator.requests) == 3


async def test_aembed_from_a_fresh_loop_each_time(make_client: MakeClient) -> None:
    client = make_client()
    try:
        first = await client.aembed(["x"], model="text-embedding-v4")
    finally:
        await client.aclose()
    second = await asyncio.create_task(client.aembed(["x"], model="text-embedding-v4"))
    await client.aclose()
    assert first.embeddings == second.embeddings

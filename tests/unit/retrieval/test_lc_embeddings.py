"""DashScopeEmbeddings (LangChain) against the emulator, checked on the wire."""

from __future__ import annotations

import math
from typing import Any

import pytest
from langchain_core.exceptions import ModelPermissionDeniedError
from retrieval_wire import embedding_requests, max_in_flight, on_emulator, parameters_of, texts_of

from dashscope_ws import errors as core_errors
from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator, ScriptedReply
from langchain_dashscope_ws import DashScopeEmbeddings

TEXTS = [f"document number {i} about topic {i % 7}" for i in range(25)]


def make(emu: Emulator, **kwargs: Any) -> DashScopeEmbeddings:
    return on_emulator(DashScopeEmbeddings, emu, **{"max_retries": 2, **kwargs})


async def documents(emb: DashScopeEmbeddings, texts: list[str], mode: str) -> list[list[float]]:
    if mode == "sync":
        return emb.embed_documents(texts)
    return await emb.aembed_documents(texts)


async def query(emb: DashScopeEmbeddings, text: str, mode: str) -> list[float]:
    if mode == "sync":
        return emb.embed_query(text)
    return await emb.aembed_query(text)


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


@MODES
async def test_text_type_per_method(emu: Emulator, mode: str) -> None:
    emb = make(emu)
    await documents(emb, ["a document"], mode)
    await query(emb, "a query", mode)
    sent = [parameters_of(r).get("text_type") for r in embedding_requests(emu)]
    assert sent == ["document", "query"]


@MODES
async def test_v3_batches_of_ten_keep_order(emu: Emulator, mode: str) -> None:
    emb = make(emu, model="text-embedding-v3")
    vectors = await documents(emb, TEXTS, mode)
    requests = embedding_requests(emu)
    assert [len(texts_of(r)) for r in requests] == [10, 10, 5]
    assert sorted(t for r in requests for t in texts_of(r)) == sorted(TEXTS)
    assert all(r.json["model"] == "text-embedding-v3" for r in requests)
    # Order: the 25-text call must agree with one-text calls at the edges of batches.
    for i in (0, 9, 10, 24):
        assert vectors[i] == pytest.approx(emb.embed_documents([TEXTS[i]])[0])


def test_v2_batches_of_twenty_five(emu: Emulator) -> None:
    # The sub workspace is not granted v2; the main key may call every model.
    emb = make(emu, model="text-embedding-v2", api_key=MAIN_KEY, workspace=None)
    assert len(emb.embed_documents(TEXTS + TEXTS[:5])) == 30
    assert [len(texts_of(r)) for r in embedding_requests(emu)] == [25, 5]


def test_batch_size_below_the_limit_is_used(emu: Emulator) -> None:
    make(emu, batch_size=4).embed_documents(TEXTS[:10])
    assert [len(texts_of(r)) for r in embedding_requests(emu)] == [4, 4, 2]


def test_batch_size_above_the_limit_is_capped(emu: Emulator) -> None:
    make(emu, model="text-embedding-v4", batch_size=50).embed_documents(TEXTS)
    assert [len(texts_of(r)) for r in embedding_requests(emu)] == [10, 10, 5]


@MODES
async def test_dimension_sent_and_honoured(emu: Emulator, mode: str) -> None:
    emb = make(emu, dimensions=256)
    vectors = await documents(emb, ["one", "two"], mode)
    vector = await query(emb, "three", mode)
    assert {len(v) for v in [*vectors, vector]} == {256}
    assert all(parameters_of(r)["dimension"] == 256 for r in embedding_requests(emu))
    assert all(isinstance(x, float) for x in vector)
    assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-6)


def test_no_dimension_means_none_sent(emu: Emulator) -> None:
    make(emu).embed_query("x")
    assert "dimension" not in parameters_of(embedding_requests(emu)[0])


@MODES
async def test_workspace_header_and_per_call_override(emu: Emulator, mode: str) -> None:
    emb = make(emu, api_key=MAIN_KEY, workspace="ws-emu-other")
    if mode == "sync":
        emb.embed_documents(["x"])
        emb.embed_documents(["y"], workspace=SUB_WORKSPACE)
        emb.embed_query("z", workspace=SUB_WORKSPACE)
    else:
        await emb.aembed_documents(["x"])
        await emb.aembed_documents(["y"], workspace=SUB_WORKSPACE)
        await emb.aembed_query("z", workspace=SUB_WORKSPACE)
    headers = [r.headers.get("X-DashScope-WorkSpace") for r in embedding_requests(emu)]
    assert headers == ["ws-emu-other", SUB_WORKSPACE, SUB_WORKSPACE]


async def test_async_batches_run_concurrently_up_to_the_bound(emu: Emulator) -> None:
    # A delay per request keeps each batch in flight long enough to overlap.
    emu.enqueue(ScriptedReply(kind="embedding", delay_before_first_byte=0.2, times=5))
    vectors = await make(emu, max_concurrency=2).aembed_documents(TEXTS + TEXTS[:20])
    requests = embedding_requests(emu)
    assert len(vectors) == 45
    assert len(requests) == 5
    assert max_in_flight(requests) == 2


async def test_max_concurrency_one_sends_batches_one_at_a_time(emu: Emulator) -> None:
    emu.enqueue(ScriptedReply(kind="embedding", delay_before_first_byte=0.1, times=3))
    await make(emu, max_concurrency=1).aembed_documents(TEXTS)
    requests = embedding_requests(emu)
    assert len(requests) == 3
    assert max_in_flight(requests) == 1


@MODES
async def test_failed_batch_is_retried_alone(emu: Emulator, mode: str) -> None:
    expected = make(emu).embed_documents(TEXTS)
    emu.reset()
    emu.enqueue(
        ScriptedReply(kind="embedding"),  # the first batch goes through untouched
        ScriptedReply.error(500, "InternalError", "boom", kind="embedding"),
    )
    vectors = await documents(make(emu, max_concurrency=1), TEXTS, mode)
    requests = embedding_requests(emu)
    assert [r.status for r in requests] == [200, 500, 200, 200]
    failed = texts_of(requests[1])
    assert texts_of(requests[2]) == failed
    sent = [t for r in requests for t in texts_of(r)]
    assert sorted(sent) == sorted(TEXTS + failed)
    assert vectors == expected


@MODES
async def test_errors_are_typed_for_langchain_and_core(emu: Emulator, mode: str) -> None:
    emb = make(emu, model="text-embedding-v2")  # not granted to ws-emu-sub
    with pytest.raises(ModelPermissionDeniedError) as caught:
        await documents(emb, ["x"], mode)
    assert isinstance(caught.value, core_errors.PermissionDeniedError)
    assert SUB_KEY not in str(caught.value)


def test_empty_input_makes_no_request(emu: Emulator) -> None:
    assert make(emu).embed_documents([]) == []
    assert embedding_requests(emu) == []


def test_aliases_and_forbidden_extras() -> None:
    emb = DashScopeEmbeddings(model_name="text-embedding-v3", dashscope_api_key="sk-x")  # type: ignore[call-arg, arg-type]
    assert emb.model == "text-embedding-v3"
    assert emb.api_key is not None
    assert emb.api_key.get_secret_value() == "sk-x"
    assert "sk-x" not in repr(emb)
    with pytest.raises(TypeError, match="'modle'; did you mean 'model'"):
        DashScopeEmbeddings(modle="text-embedding-v3")  # type: ignore[call-arg]


def test_instances_do_not_share_clients(emu: Emulator) -> None:
    first = make(emu)
    second = make(emu, api_key=MAIN_KEY, workspace=None)
    first.embed_query("a")
    second.embed_query("b")
    keys = [r.headers["Authorization"] for r in embedding_requests(emu)]
    assert keys == [f"Bearer {SUB_KEY}", f"Bearer {MAIN_KEY}"]

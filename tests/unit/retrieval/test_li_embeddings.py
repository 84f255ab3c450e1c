"""DashScopeEmbedding (LlamaIndex) against the emulator, checked on the wire."""

from __future__ import annotations

from typing import Any

import pytest
from retrieval_wire import embedding_requests, max_in_flight, on_emulator, parameters_of, texts_of

from dashscope_ws import errors as core_errors
from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator, ScriptedReply
from llamaindex_dashscope_ws import DashScopeEmbedding

TEXTS = [f"node text {i} on subject {i % 5}" for i in range(25)]


def make(emu: Emulator, **kwargs: Any) -> DashScopeEmbedding:
    return on_emulator(DashScopeEmbedding, emu, **kwargs)


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


@MODES
async def test_text_type_per_method(emu: Emulator, mode: str) -> None:
    emb = make(emu)
    if mode == "sync":
        emb.get_query_embedding("q")
        emb.get_text_embedding("t")
        emb.get_text_embedding_batch(["a", "b"])
    else:
        await emb.aget_query_embedding("q")
        await emb.aget_text_embedding("t")
        await emb.aget_text_embedding_batch(["a", "b"])
    requests = embedding_requests(emu)
    assert [parameters_of(r).get("text_type") for r in requests] == [
        "query",
        "document",
        "document",
    ]
    assert [texts_of(r) for r in requests] == [["q"], ["t"], ["a", "b"]]
    assert {r.headers["X-DashScope-WorkSpace"] for r in requests} == {SUB_WORKSPACE}


@pytest.mark.parametrize(
    ("model", "requested", "expected"),
    [
        ("text-embedding-v4", None, 10),
        ("text-embedding-v3", 100, 10),
        ("text-embedding-v4", 4, 4),
        ("text-embedding-v2", None, 25),
        ("text-embedding-v1", 64, 25),
    ],
)
def test_embed_batch_size_capped_by_model(model: str, requested: int | None, expected: int) -> None:
    options: dict[str, object] = {"model_name": model}
    if requested is not None:
        options["embed_batch_size"] = requested
    assert DashScopeEmbedding(**options).embed_batch_size == expected  # type: ignore[arg-type]


@MODES
async def test_batch_of_25_on_v3_is_three_requests(emu: Emulator, mode: str) -> None:
    emb = make(emu, model_name="text-embedding-v3", embed_batch_size=100)
    if mode == "sync":
        vectors = emb.get_text_embedding_batch(TEXTS)
    else:
        vectors = await emb.aget_text_embedding_batch(TEXTS)
    requests = embedding_requests(emu)
    assert sorted(len(texts_of(r)) for r in requests) == [5, 10, 10]
    assert len(vectors) == 25
    assert vectors[24] == pytest.approx(emb.get_text_embedding(TEXTS[24]))


def test_dimension_sent(emu: Emulator) -> None:
    vector = make(emu, dimensions=128).get_query_embedding("hello")
    assert len(vector) == 128
    assert parameters_of(embedding_requests(emu)[0])["dimension"] == 128


def test_show_progress_is_honoured(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    make(emu).get_text_embedding_batch(TEXTS[:3], show_progress=True)
    assert "Generating embeddings" in capsys.readouterr().err
    make(emu).get_text_embedding_batch(TEXTS[:3])
    assert "Generating embeddings" not in capsys.readouterr().err


async def test_async_batches_run_concurrently(emu: Emulator) -> None:
    emu.enqueue(ScriptedReply(kind="embedding", delay_before_first_byte=0.3, times=3))
    await make(emu).aget_text_embedding_batch(TEXTS)
    requests = embedding_requests(emu)
    assert len(requests) == 3
    assert max_in_flight(requests) > 1


async def test_num_workers_bounds_batches_in_flight(emu: Emulator) -> None:
    emu.enqueue(ScriptedReply(kind="embedding", delay_before_first_byte=0.2, times=5))
    emb = make(emu, num_workers=2)
    assert len(await emb.aget_text_embedding_batch(TEXTS + TEXTS[:20])) == 45
    requests = embedding_requests(emu)
    assert len(requests) == 5
    assert max_in_flight(requests) == 2


def test_num_workers_defaults_to_max_concurrency() -> None:
    assert DashScopeEmbedding(max_concurrency=3).num_workers == 3
    assert DashScopeEmbedding(num_workers=6).num_workers == 6


@MODES
async def test_errors_propagate_typed(emu: Emulator, mode: str) -> None:
    emb = make(emu, model_name="text-embedding-v1")  # not granted to ws-emu-sub

    async def call() -> object:
        if mode == "sync":
            return emb.get_text_embedding_batch(["x"])
        return await emb.aget_text_embedding_batch(["x"])

    with pytest.raises(core_errors.PermissionDeniedError) as caught:
        await call()
    assert SUB_KEY not in str(caught.value)


def test_key_not_serialised_and_clients_separate(emu: Emulator) -> None:
    first = make(emu)
    second = make(emu, api_key=MAIN_KEY, workspace=None)
    assert SUB_KEY not in repr(first)
    assert SUB_KEY not in first.to_json()
    first.get_query_embedding("a")
    second.get_query_embedding("b")
    keys = [r.headers["Authorization"] for r in embedding_requests(emu)]
    assert keys == [f"Bearer {SUB_KEY}", f"Bearer {MAIN_KEY}"]


@MODES
async def test_instruct_sent_with_both_text_types(emu: Emulator, mode: str) -> None:
    emb = make(emu, instruct="Retrieve the office hours.")
    if mode == "sync":
        emb.get_query_embedding("q")
        emb.get_text_embedding_batch(["a"])
    else:
        await emb.aget_query_embedding("q")
        await emb.aget_text_embedding_batch(["a"])
    sent = [parameters_of(r) for r in embedding_requests(emu)]
    assert [(p["text_type"], p["instruct"]) for p in sent] == [
        ("query", "Retrieve the office hours."),
        ("document", "Retrieve the office hours."),
    ]

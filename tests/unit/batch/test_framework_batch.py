"""``batch_job`` on the four framework classes, against the emulator.

Each class submits its inputs with its own settings, and its handle's results are the types
its online methods return; failed rows come back in place as ``BatchRowError``; a handle is
found again from its state file; the client's usage tracker hears each row once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from llama_index.core.base.llms.types import ChatMessage, ChatResponse

from dashscope_ws import DashScopeClient
from dashscope_ws.batch import BatchJobs, BatchRowError
from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.emulator.batch import BatchTiming
from dashscope_ws.usage import UsageTracker
from langchain_dashscope_ws import ChatDashScope, DashScopeEmbeddings
from llamaindex_dashscope_ws import DashScope, DashScopeEmbedding

FAST = {"poll_interval": 0.02}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def connection(emu: Emulator, **extra: Any) -> dict[str, Any]:
    return {"api_key": MAIN_KEY, "base_url": emu.base_url, **extra}


def uploaded_lines(emu: Emulator) -> list[dict[str, Any]]:
    """Every line of every uploaded input file, in upload order."""
    return [
        json.loads(raw)
        for stored in emu.batches.files.values()
        if stored.purpose == "batch"
        for raw in stored.content.splitlines()
    ]


def test_langchain_chat_batch_job_returns_ai_messages_and_errors_in_place(emu: Emulator) -> None:
    llm = ChatDashScope(**connection(emu), model="qwen-plus", temperature=0.3, max_tokens=50)
    inputs: list[Any] = ["Hi", [SystemMessage("Be brief"), HumanMessage("Bye")], []]
    handle = llm.batch_job(inputs, stop=["END"], name="lc", **FAST)
    results = handle.wait().results()
    assert handle.done
    assert len(results) == 3
    first, second, failed = results
    assert isinstance(first, AIMessage)
    assert isinstance(second, AIMessage)
    assert first.content
    assert first.usage_metadata is not None
    assert first.usage_metadata["input_tokens"] >= 1
    assert first.response_metadata["finish_reason"] == "stop"
    assert isinstance(failed, BatchRowError)
    assert (failed.index, failed.custom_id) == (2, "2")
    assert failed.status_code == 400
    assert "messages" in failed.message
    bodies = [line["body"] for line in uploaded_lines(emu)]
    assert {b["model"] for b in bodies} == {"qwen-plus"}
    assert all(b["temperature"] == 0.3 and b["max_tokens"] == 50 for b in bodies)
    assert all(b["stop"] == ["END"] for b in bodies)
    assert bodies[1]["messages"] == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "Bye"},
    ]
    with pytest.raises(BatchRowError, match="custom_id 2"):
        handle.results(return_exceptions=False)


async def test_langchain_chat_abatch_job_with_per_call_model_and_workspace(emu: Emulator) -> None:
    llm = ChatDashScope(api_key=SUB_KEY, base_url=emu.base_url, workspace=SUB_WORKSPACE)
    handle = await llm.abatch_job(["one", "two"], model="qwen-max", **FAST)
    results = await (await handle.await_done()).aresults()
    assert [type(r) for r in results] == [AIMessage, AIMessage]
    assert all(r.response_metadata["model_name"] == "qwen-max" for r in results)  # type: ignore[union-attr]
    assert all(r.headers["X-DashScope-WorkSpace"] == SUB_WORKSPACE for r in emu.requests)


def test_langchain_embeddings_batch_job_matches_online_vectors(emu: Emulator) -> None:
    emb = DashScopeEmbeddings(**connection(emu), model="text-embedding-v4", dimensions=64)
    handle = emb.batch_job(["alpha", "", "gamma"], **FAST)
    vectors = handle.wait().results()
    assert isinstance(vectors[1], BatchRowError)
    assert vectors[1].code == "InvalidParameter"
    assert vectors[0] == emb.embed_documents(["alpha"])[0]  # the emulator's vectors are stable
    assert isinstance(vectors[2], list)
    assert len(vectors[2]) == 64
    assert {line["body"]["dimensions"] for line in uploaded_lines(emu)} == {64}
    with pytest.raises(TypeError, match="temperature"):
        emb.batch_job(["x"], temperature=0.1)


def test_llamaindex_chat_batch_job_returns_chat_responses(emu: Emulator) -> None:
    llm = DashScope(**connection(emu), model="qwen-plus", top_p=0.5)
    inputs: list[Any] = ["a prompt", [ChatMessage(role="user", content="a message")]]
    handle = llm.batch_job(inputs, seed=7, **FAST)
    responses = handle.wait().results()
    assert all(isinstance(r, ChatResponse) for r in responses)
    assert all(r.message.content for r in responses)  # type: ignore[union-attr]
    assert responses[0].additional_kwargs["usage"]["total_tokens"] > 0  # type: ignore[union-attr]
    bodies = [line["body"] for line in uploaded_lines(emu)]
    assert all(b["top_p"] == 0.5 and b["seed"] == 7 for b in bodies)
    assert bodies[0]["messages"] == [{"role": "user", "content": "a prompt"}]


async def test_llamaindex_embedding_abatch_job_in_order(emu: Emulator) -> None:
    emb = DashScopeEmbedding(**connection(emu), model_name="text-embedding-v4", dimensions=128)
    texts = [f"text {i}" for i in range(7)]
    handle = await emb.abatch_job(texts, max_lines=3, **FAST)
    assert len(handle.batch_ids) == 3  # 7 rows, 3 per file
    vectors = await (await handle.await_done()).aresults()
    assert vectors == await emb.aget_text_embedding_batch(texts)


def test_resume_from_state_file_after_a_restart(emu: Emulator, tmp_path: Path) -> None:
    emu.batches.timing = BatchTiming(validating=0.0, per_line=0.2)
    state = tmp_path / "job.json"
    llm = ChatDashScope(**connection(emu))
    submitted = llm.batch_job(["x", "y"], state_path=state, **FAST)
    assert not submitted.done
    assert submitted.state_path == str(state)
    # A new process: a fresh object with the same settings, and only the state file.
    again = ChatDashScope(**connection(emu)).resume_batch_job(state, poll_interval=0.02)
    assert again.batch_ids == submitted.batch_ids
    results = again.wait().results()
    assert [type(r) for r in results] == [AIMessage, AIMessage]


def test_failed_rows_are_resubmitted_and_merged(emu: Emulator) -> None:
    emb = DashScopeEmbedding(**connection(emu), dimensions=64)
    handle = emb.batch_job(["ok", "", "fine"], **FAST).wait()
    assert [isinstance(r, BatchRowError) for r in handle.results()] == [False, True, False]
    handle.resubmit_failed().wait()  # the empty text fails again, and is still reported
    final = handle.results()
    assert len(final) == 3
    assert isinstance(final[1], BatchRowError)
    assert len(handle.batch_ids) == 2


def test_usage_tracker_hears_each_row_once(emu: Emulator) -> None:
    tracker = UsageTracker()
    llm = ChatDashScope(**connection(emu), usage_tracker=tracker)
    handle = llm.batch_job(["a", "b", []], **FAST).wait()
    handle.results()
    handle.results()  # fetching again records nothing new
    row = tracker.totals(model="qwen-plus")
    assert row.by_kind == {"batch": 2}
    assert row.requests == 2
    assert row.total_tokens > 0


def test_client_batches_is_built_once_and_lazily(emu: Emulator) -> None:
    with DashScopeClient(**connection(emu)) as client:
        assert client._batches is None
        jobs = client.batches
        assert isinstance(jobs, BatchJobs)
        assert client.batches is jobs
        assert jobs.client is client


def test_an_endpoint_override_never_reaches_a_batch_line() -> None:
    from dashscope_ws.batch import chat_lines

    conversations = [[{"role": "user", "content": "Hi"}]]
    line = next(chat_lines(conversations, model="qwen-vl-plus", endpoint="multimodal", top_p=0.5))
    assert "endpoint" not in line.body
    assert line.body["top_p"] == 0.5

"""stream_app_completion / astream_app_completion against the emulator.

These use the core's stream contract (``client._stream(request, new_decoder)`` returning a
``Stream`` object); they pass once the core branch with that contract is merged.
"""

from __future__ import annotations

import asyncio

import pytest
from apps_testkit import MakeClient

from dashscope_ws.apps import AppAccumulator, AppChunk
from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.errors import PermissionDeniedError

QUESTION = "What is the price in yuan of the Bailian X1?"
RAG = {"api_key": SUB_KEY, "workspace": SUB_WORKSPACE}


def _collect(mode: str, make_client: MakeClient, *args: object, **kwargs: object) -> list[AppChunk]:
    client = make_client(**RAG)
    if mode == "sync":
        with client.stream_app_completion(*args, **kwargs) as stream:  # type: ignore[arg-type]
            chunks = list(stream)
        assert stream.request_id
        return chunks

    async def go() -> list[AppChunk]:
        try:
            stream = client.astream_app_completion(*args, **kwargs)  # type: ignore[arg-type]
            return [chunk async for chunk in stream]
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("incremental", [True, False])
def test_stream_yields_deltas_in_both_wire_modes(
    mode: str, incremental: bool, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    whole = make_client(**RAG).app_completion("app-emu-rag", prompt=QUESTION, has_thoughts=True)
    chunks = _collect(
        mode, make_client, "app-emu-rag", prompt=QUESTION, has_thoughts=True,
        incremental_output=incremental,
    )  # fmt: skip
    assert len(chunks) >= 3
    assert "".join(c.text for c in chunks) == whole.text
    assert dashscope_emulator.requests[-1].json["parameters"]["incremental_output"] is incremental
    accumulator = AppAccumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    folded = accumulator.result()
    assert folded.text == whole.text
    assert folded.finish_reason == "stop"
    assert [r.doc_id for r in folded.doc_references] == [r.doc_id for r in whole.doc_references]
    assert [t.action_type for t in folded.thoughts] == ["api", "response"]
    assert folded.session_id


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_stream_refusal_is_typed(mode: str, make_client: MakeClient) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        _collect(mode, make_client, "app-emu-other", prompt="Hi")
    assert caught.value.code == "App.AccessDenied"


def test_stream_can_be_closed_early(make_client: MakeClient) -> None:
    stream = make_client(**RAG).stream_app_completion("app-emu-flow", prompt="Plan a long trip")
    first = next(iter(stream))
    assert first.workflow_message is not None
    stream.close()


# ------------------------------------------------------------------ adapters over the stream


def test_langchain_app_streams_with_metadata_on_the_last_chunk(
    dashscope_emulator: Emulator,
) -> None:
    from langchain_dashscope_ws import ChatDashScopeApp

    app = ChatDashScopeApp(app_id="app-emu-rag", base_url=dashscope_emulator.base_url, **RAG)
    chunks = list(app.stream(QUESTION))
    app.close()
    assert len(chunks) >= 3
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk
    assert "2999" in str(whole.content)
    assert whole.response_metadata["doc_references"][0]["doc_id"] == "doc-emu-x1"


async def test_langchain_app_astream(dashscope_emulator: Emulator) -> None:
    from langchain_dashscope_ws import ChatDashScopeApp

    app = ChatDashScopeApp(app_id="app-emu-rag", base_url=dashscope_emulator.base_url, **RAG)
    text = "".join([str(c.content) async for c in app.astream(QUESTION)])
    await app.aclose()
    assert "2999" in text


def test_llamaindex_streaming_query_fills_sources_at_the_end(
    dashscope_emulator: Emulator,
) -> None:
    from llamaindex_dashscope_ws import DashScopeAppQueryEngine

    engine = DashScopeAppQueryEngine(
        "app-emu-rag", streaming=True, base_url=dashscope_emulator.base_url, **RAG
    )
    response = engine.query(QUESTION)
    text = "".join(response.response_gen)  # type: ignore[union-attr]
    engine.close()
    assert "2999" in text
    assert response.source_nodes[0].node.metadata["doc_id"] == "doc-emu-x1"


def test_llamaindex_chat_engine_streams(dashscope_emulator: Emulator) -> None:
    from llamaindex_dashscope_ws import DashScopeAppChatEngine

    chat = DashScopeAppChatEngine("app-emu-rag", base_url=dashscope_emulator.base_url, **RAG)
    response = chat.stream_chat(QUESTION)
    text = "".join(response.response_gen)
    chat.close()
    assert "2999" in text
    assert response.source_nodes[0].node.metadata["doc_id"] == "doc-emu-x1"
    assert chat.chat_history[-1].content == text

"""Streaming app queries, sync and async: the text, then sources, metadata and the session."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.response.schema import AsyncStreamingResponse, StreamingResponse

from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.errors import PermissionDeniedError
from llamaindex_dashscope_ws import DashScopeAppQueryEngine

QUESTION = "What is the price in yuan of the Bailian X1?"


def _engine(emu: Emulator, app_id: str = "app-emu-rag") -> DashScopeAppQueryEngine:
    return DashScopeAppQueryEngine(
        app_id, streaming=True, remember_session=True, has_thoughts=True,
        api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=emu.base_url,
    )  # fmt: skip


def _check(engine: DashScopeAppQueryEngine, text: str, response: Any) -> None:
    assert "2999" in text
    metadata = response.metadata
    assert response.source_nodes[0].node.metadata["doc_id"] == "doc-emu-x1"
    assert metadata["session_id"] == engine.session_id
    assert metadata["request_id"]
    assert metadata["thoughts"]


def test_sync_streaming_query_fills_sources_and_session(dashscope_emulator: Emulator) -> None:
    with _engine(dashscope_emulator) as engine:
        response = engine.query(QUESTION)
        assert isinstance(response, StreamingResponse)
        assert response.source_nodes == []  # filled when the stream ends
        text = "".join(response.response_gen)
    _check(engine, text, response)


async def test_async_streaming_query_fills_sources_and_session(
    dashscope_emulator: Emulator,
) -> None:
    async with _engine(dashscope_emulator) as engine:
        response = await engine.aquery(QUESTION)
        assert isinstance(response, AsyncStreamingResponse)
        text = "".join([delta async for delta in response.async_response_gen()])
    _check(engine, text, response)


async def test_async_streaming_query_errors_are_typed(dashscope_emulator: Emulator) -> None:
    async with _engine(dashscope_emulator, "app-emu-other") as engine:
        response = await engine.aquery(QUESTION)
        assert isinstance(response, AsyncStreamingResponse)
        with pytest.raises(PermissionDeniedError):
            async for _ in response.async_response_gen():
                pass

"""LangChain and LlamaIndex adapters against the real service."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from llama_index.core.llms import ChatMessage

from langchain_dashscope_ws import ChatDashScope, DashScopeEmbeddings, DashScopeRerank
from llamaindex_dashscope_ws import DashScope

if TYPE_CHECKING:  # the fixture's type; conftest is not importable as a module
    from conftest import LiveSettings

pytestmark = pytest.mark.live

HELLO = "Reply with one short word: hello."
CAP = 16


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"sunny in {city}"


def _chat_model(live: LiveSettings, **kwargs: object) -> ChatDashScope:
    settings: dict[str, object] = {"max_tokens": CAP, "max_retries": 1, **kwargs}
    return ChatDashScope(
        model=live.model, api_key=live.api_key, base_url=live.base_url,
        workspace=live.workspace, **settings,
    )  # fmt: skip


def _llama(live: LiveSettings) -> DashScope:
    return DashScope(
        model=live.model, api_key=live.api_key, base_url=live.base_url,
        workspace=live.workspace, max_tokens=CAP, max_retries=1,
    )  # fmt: skip


def test_langchain_invoke(live: LiveSettings) -> None:
    message = _chat_model(live).invoke(HELLO)
    assert isinstance(message, AIMessage)
    assert isinstance(message.content, str)
    assert message.content.strip()
    assert message.response_metadata["model_name"] == live.model
    assert message.response_metadata["finish_reason"] in {"stop", "length"}
    assert message.response_metadata["request_id"]
    usage = message.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] > 0
    assert 0 < usage["output_tokens"] <= CAP
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_langchain_stream(live: LiveSettings) -> None:
    chunks = list(_chat_model(live).stream(HELLO))
    # A real stream: more than one chunk, and the merged message has the usage once.
    assert len(chunks) > 1
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert isinstance(merged, AIMessageChunk)
    assert isinstance(merged.content, str)
    assert merged.content.strip()
    assert merged.usage_metadata is not None
    assert 0 < merged.usage_metadata["output_tokens"] <= CAP


async def test_langchain_astream(live: LiveSettings) -> None:
    texts = [c.content async for c in _chat_model(live).astream(HELLO)]
    assert "".join(str(t) for t in texts).strip()


def test_langchain_tools_round_trip(live: LiveSettings) -> None:
    model = _chat_model(live, temperature=0.0).bind_tools([get_weather], tool_choice="get_weather")
    question = HumanMessage("What is the weather in Hangzhou right now?")
    first = model.invoke([question])
    assert isinstance(first, AIMessage)
    assert len(first.tool_calls) >= 1
    call = first.tool_calls[0]
    assert call["name"] == "get_weather"
    assert isinstance(call["args"].get("city"), str)
    answer = get_weather.invoke(call["args"])
    follow_up = _chat_model(live, max_tokens=48).bind_tools([get_weather])
    second = follow_up.invoke([question, first, ToolMessage(answer, tool_call_id=call["id"] or "")])
    assert isinstance(second.content, str)
    assert second.content.strip()


def test_langchain_streamed_tool_call(live: LiveSettings) -> None:
    model = _chat_model(live).bind_tools([get_weather], tool_choice="get_weather")
    merged: AIMessageChunk | None = None
    for chunk in model.stream("What is the weather in Hangzhou right now?"):
        assert isinstance(chunk, AIMessageChunk)
        merged = chunk if merged is None else merged + chunk
    assert merged is not None
    assert [c["name"] for c in merged.tool_calls][:1] == ["get_weather"]


def test_langchain_embeddings_and_rerank(live: LiveSettings) -> None:
    embeddings = DashScopeEmbeddings(
        model=live.embedding_model, dimensions=256, api_key=live.api_key,
        base_url=live.base_url, workspace=live.workspace,
    )  # fmt: skip
    vectors = embeddings.embed_documents(["West Lake", "Longjing tea"])
    assert [len(v) for v in vectors] == [256, 256]
    assert len(embeddings.embed_query("tea")) == 256
    reranker = DashScopeRerank(
        model=live.rerank_model, top_n=1, api_key=live.api_key, base_url=live.base_url,
        workspace=live.workspace,
    )  # fmt: skip
    documents = [Document(page_content="Pandas eat bamboo."),
                 Document(page_content="Longjing tea grows near the West Lake.")]  # fmt: skip
    ranked = reranker.compress_documents(documents, "Where does Longjing tea grow?")
    assert [d.page_content for d in ranked] == [documents[1].page_content]


def test_llamaindex_chat(live: LiveSettings) -> None:
    response = _llama(live).chat([ChatMessage(role="user", content=HELLO)])
    assert (response.message.content or "").strip()
    assert response.raw is not None


def test_llamaindex_stream_chat(live: LiveSettings) -> None:
    responses = list(_llama(live).stream_chat([ChatMessage(role="user", content=HELLO)]))
    assert len(responses) > 1
    # Each response carries the cumulative message; the deltas add up to it.
    deltas = "".join(r.delta or "" for r in responses)
    assert deltas.strip()
    assert responses[-1].message.content == deltas


async def test_llamaindex_astream_chat(live: LiveSettings) -> None:
    stream = await _llama(live).astream_chat([ChatMessage(role="user", content=HELLO)])
    responses = [r async for r in stream]
    assert responses
    assert (responses[-1].message.content or "").strip()


def test_llamaindex_complete(live: LiveSettings) -> None:
    assert _llama(live).complete(HELLO).text.strip()

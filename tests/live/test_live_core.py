"""Core client against the real service: chat, streams, tools, embeddings, rerank."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from dashscope_ws import DashScopeClient
from dashscope_ws.accumulate import ChatAccumulator
from dashscope_ws.types import ChatChunk, ChatResult

if TYPE_CHECKING:  # the fixture's type; conftest is not importable as a module
    from conftest import LiveSettings

pytestmark = pytest.mark.live

HELLO = [{"role": "user", "content": "Reply with one short word: hello."}]
CAP = 16  # max_tokens: every reply here is a few tokens

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}
WEATHER_ASK = [{"role": "user", "content": "What is the weather in Hangzhou right now?"}]
FORCE_WEATHER = {"type": "function", "function": {"name": "get_weather"}}


def _assert_reply(result: ChatResult, model: str) -> None:
    assert result.text.strip()
    assert result.finish_reason in {"stop", "length"}
    assert result.request_id
    assert result.model == model
    assert result.usage.input_tokens
    assert result.usage.input_tokens > 0
    assert result.usage.output_tokens
    assert 0 < result.usage.output_tokens <= CAP


def _assert_stream(chunks: list[ChatChunk], model: str) -> None:
    texts = [c.text for c in chunks if c.text]
    assert texts, "the stream carried no text"
    # Incremental output: the last chunk ends the turn and carries the cumulative usage.
    assert chunks[-1].finish_reason in {"stop", "length"}
    assert all(c.finish_reason is None for c in chunks[:-1])
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.output_tokens
    assert usage.output_tokens <= CAP
    accumulator = ChatAccumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    folded = accumulator.result()
    assert folded.text == "".join(texts)
    assert folded.request_id
    assert folded.model == model


def test_chat(client: DashScopeClient, live: LiveSettings) -> None:
    _assert_reply(client.chat(HELLO, model=live.model, max_tokens=CAP), live.model)


def test_stream_chat(client: DashScopeClient, live: LiveSettings) -> None:
    chunks = list(client.stream_chat(HELLO, model=live.model, max_tokens=CAP))
    _assert_stream(chunks, live.model)


async def test_achat(aclient: DashScopeClient, live: LiveSettings) -> None:
    _assert_reply(await aclient.achat(HELLO, model=live.model, max_tokens=CAP), live.model)


async def test_astream_chat(aclient: DashScopeClient, live: LiveSettings) -> None:
    chunks = [c async for c in aclient.astream_chat(HELLO, model=live.model, max_tokens=CAP)]
    _assert_stream(chunks, live.model)


def _assert_weather_call(result: ChatResult) -> dict[str, Any]:
    assert len(result.tool_calls) >= 1
    call = result.tool_calls[0]
    assert call.name == "get_weather"
    assert call.id
    arguments = json.loads(call.arguments)
    assert isinstance(arguments, dict)
    assert "city" in arguments
    return {"id": call.id, "type": "function",
            "function": {"name": call.name, "arguments": call.arguments}}  # fmt: skip


def test_tool_call_round_trip(client: DashScopeClient, live: LiveSettings) -> None:
    first = client.chat(
        WEATHER_ASK, model=live.model, tools=[WEATHER_TOOL], tool_choice=FORCE_WEATHER,
        max_tokens=64,
    )  # fmt: skip
    wire_call = _assert_weather_call(first)
    history = [
        *WEATHER_ASK,
        {"role": "assistant", "content": first.text, "tool_calls": [wire_call]},
        {"role": "tool", "tool_call_id": wire_call["id"], "name": "get_weather",
         "content": '{"city": "Hangzhou", "weather": "sunny, 24 C"}'},
    ]  # fmt: skip
    second = client.chat(history, model=live.model, tools=[WEATHER_TOOL], max_tokens=48)
    assert second.text.strip()
    assert not second.tool_calls


def test_streamed_tool_call(client: DashScopeClient, live: LiveSettings) -> None:
    accumulator = ChatAccumulator()
    for chunk in client.stream_chat(
        WEATHER_ASK, model=live.model, tools=[WEATHER_TOOL], tool_choice=FORCE_WEATHER,
        max_tokens=64,
    ):  # fmt: skip
        accumulator.add(chunk)
    _assert_weather_call(accumulator.result())


TEXTS = [f"Document number {i} is about {topic}." for i, topic in
         enumerate(["rivers", "tea", "silk", "lakes", "bridges", "temples"] * 2)]  # fmt: skip


def test_embed_batches_and_dimension(client: DashScopeClient, live: LiveSettings) -> None:
    # 12 texts > the 10-row limit of v3/v4: two requests, order kept.
    result = client.embed(TEXTS, model=live.embedding_model, dimension=256)
    assert len(result.embeddings) == len(TEXTS)
    assert result.dimension == 256
    assert all(len(vector) == 256 for vector in result.embeddings)
    assert len(result.request_ids) == 2
    assert result.embeddings[0] != result.embeddings[1]
    # The same text embeds to (nearly) the same vector: order was not shuffled.
    again = client.embed([TEXTS[7]], model=live.embedding_model, dimension=256)
    assert again.embeddings[0] == pytest.approx(result.embeddings[7], abs=1e-3)


async def test_aembed(aclient: DashScopeClient, live: LiveSettings) -> None:
    result = await aclient.aembed(TEXTS, model=live.embedding_model, dimension=256)
    assert [len(v) for v in result.embeddings] == [256] * len(TEXTS)
    assert len(result.request_ids) == 2


def test_rerank(client: DashScopeClient, live: LiveSettings) -> None:
    documents = [
        "Pandas eat bamboo for most of the day.",
        "The West Lake is in Hangzhou.",
        "Longjing green tea is grown near the West Lake in Hangzhou.",
    ]
    result = client.rerank(
        "Where is Longjing tea grown?", documents, model=live.rerank_model, top_n=2,
        return_documents=True,
    )  # fmt: skip
    assert result.model == live.rerank_model
    assert len(result.results) == 2
    scores = [item.relevance_score for item in result.results]
    assert scores == sorted(scores, reverse=True)
    assert result.results[0].index == 2
    assert result.results[0].document == documents[2]
    assert result.request_id

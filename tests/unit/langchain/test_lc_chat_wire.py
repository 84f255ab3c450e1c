"""ChatDashScope against the emulator, checked at the wire (the emulator's request log)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.runnables import ConfigurableField

from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator, ScriptedReply
from langchain_dashscope_ws.chat_models import ChatDashScope

MakeChat = Callable[..., ChatDashScope]


def _factory(emulator: Emulator, made: list[ChatDashScope]) -> MakeChat:
    def make(**params: Any) -> ChatDashScope:
        settings: dict[str, Any] = {
            "model": "qwen-plus",
            "api_key": SUB_KEY,
            "workspace": SUB_WORKSPACE,
            "base_url": emulator.base_url,
            "max_retries": 0,
        }
        model = ChatDashScope(**{**settings, **params})
        made.append(model)
        return model

    return make


@pytest.fixture
def make_chat(dashscope_emulator: Emulator) -> Iterator[MakeChat]:
    """ChatDashScope on the emulator (sub key, sub workspace, no retries by default)."""
    made: list[ChatDashScope] = []
    yield _factory(dashscope_emulator, made)
    for model in made:
        model.close()


@pytest.fixture
async def amake_chat(dashscope_emulator: Emulator) -> AsyncIterator[MakeChat]:
    """Like ``make_chat``; closes the aiohttp sessions on the test's own loop."""
    made: list[ChatDashScope] = []
    yield _factory(dashscope_emulator, made)
    for model in made:
        await model.aclose()


def _merge(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return merged


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Get the local time of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def test_tool_call_replay_and_tool_message(
    make_chat: MakeChat, dashscope_emulator: Emulator
) -> None:
    history = [
        HumanMessage("Weather in Hangzhou?"),
        AIMessage(
            content="",
            tool_calls=[{"name": "get_weather", "args": {"city": "杭州"}, "id": "call_1"}],
        ),
        ToolMessage("sunny, 25°C", tool_call_id="call_1"),
    ]
    reply = make_chat().bind_tools([WEATHER_TOOL]).invoke(history)
    assert isinstance(reply, AIMessage)
    sent = dashscope_emulator.requests[-1].json["input"]["messages"]
    assert sent[1]["role"] == "assistant"
    call = sent[1]["tool_calls"][0]
    assert call["id"] == "call_1"
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "杭州"}
    assert sent[2] == {"role": "tool", "content": "sunny, 25°C", "tool_call_id": "call_1"}
    assert "sunny" in reply.text  # the emulator answers from the tool result


def test_workspace_per_call_does_not_touch_the_instance(
    make_chat: MakeChat, dashscope_emulator: Emulator
) -> None:
    llm = make_chat(api_key=MAIN_KEY, workspace=None)
    llm.invoke("hi", workspace=SUB_WORKSPACE)
    llm.invoke("hi")
    first, second = dashscope_emulator.requests
    assert first.headers["X-DashScope-WorkSpace"] == SUB_WORKSPACE
    assert "X-DashScope-WorkSpace" not in second.headers
    assert llm.workspace is None


def test_configurable_workspace_and_model(
    make_chat: MakeChat, dashscope_emulator: Emulator
) -> None:
    llm = make_chat(api_key=MAIN_KEY, workspace=None).configurable_fields(
        workspace=ConfigurableField(id="workspace"), model=ConfigurableField(id="model")
    )
    reply = llm.invoke(
        "hi", config={"configurable": {"workspace": SUB_WORKSPACE, "model": "qwen-max"}}
    )
    request = dashscope_emulator.requests[-1]
    assert request.headers["X-DashScope-WorkSpace"] == SUB_WORKSPACE
    assert request.json["model"] == "qwen-max"
    assert reply.response_metadata["model_name"] == "qwen-max"


def test_every_parameter_reaches_the_wire(
    make_chat: MakeChat, dashscope_emulator: Emulator
) -> None:
    llm = make_chat(
        temperature=0.3,
        top_p=0.8,
        top_k=20,
        max_tokens=50,
        seed=7,
        stop=["END"],
        repetition_penalty=1.1,
        presence_penalty=0.5,
        enable_search=True,
        enable_thinking=False,
        thinking_budget=100,
        model_kwargs={"search_options": {"forced_search": True}, "n": 1},
    )
    llm.invoke("hi", top_k=5, custom_flag="x")
    parameters = dashscope_emulator.requests[-1].json["parameters"]
    expected = {
        "temperature": 0.3,
        "top_p": 0.8,
        "top_k": 5,  # the per-call value wins
        "max_tokens": 50,
        "seed": 7,
        "stop": ["END"],
        "repetition_penalty": 1.1,
        "presence_penalty": 0.5,
        "enable_search": True,
        "enable_thinking": False,
        "thinking_budget": 100,
        "search_options": {"forced_search": True},
        "n": 1,
        "custom_flag": "x",
        "result_format": "message",
    }
    assert {k: parameters.get(k) for k in expected} == expected


def test_stop_per_call_and_on_instance(make_chat: MakeChat, dashscope_emulator: Emulator) -> None:
    make_chat().invoke("hi", stop=["you"])
    make_chat(stop=["me"]).invoke("hi")
    make_chat(stop=[]).invoke("hi")
    params = [r.json["parameters"] for r in dashscope_emulator.requests]
    assert params[0]["stop"] == ["you"]
    assert params[1]["stop"] == ["me"]
    assert "stop" not in params[2]


def test_named_and_single_any_tool_choice(
    make_chat: MakeChat, dashscope_emulator: Emulator
) -> None:
    llm = make_chat()
    named = llm.bind_tools([WEATHER_TOOL, TIME_TOOL], tool_choice="get_time").invoke("hello")
    forced = llm.bind_tools([WEATHER_TOOL], tool_choice="any", parallel_tool_calls=False).invoke(
        "hello"
    )
    first, second = (r.json["parameters"] for r in dashscope_emulator.requests)
    assert first["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}
    assert second["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert second["parallel_tool_calls"] is False
    assert [c["name"] for c in named.tool_calls] == ["get_time"]
    assert [c["name"] for c in forced.tool_calls] == ["get_weather"]


def test_any_of_several_tools_is_refused_before_sending(
    make_chat: MakeChat, dashscope_emulator: Emulator
) -> None:
    bound = make_chat().bind_tools([WEATHER_TOOL, TIME_TOOL], tool_choice="any")
    with pytest.raises(ValueError, match="single named function"):
        bound.invoke("hello")
    assert dashscope_emulator.requests == []
    with pytest.raises(ValueError, match="not a bound tool"):
        make_chat().bind_tools([WEATHER_TOOL], tool_choice="nope")


PARALLEL = [
    {"id": "call_w", "name": "get_weather", "arguments": {"city": "Hangzhou", "days": 3}},
    {"id": "call_t", "name": "get_time", "arguments": '{"city": "Beijing", "tz": "UTC+8"}'},
]


def test_streamed_parallel_tool_calls_equal_the_non_streamed_ones(
    make_chat: MakeChat, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(
        ScriptedReply(tool_calls=PARALLEL), ScriptedReply(tool_calls=PARALLEL)
    )
    llm = make_chat().bind_tools([WEATHER_TOOL, TIME_TOOL], parallel_tool_calls=True)
    invoked = llm.invoke("Weather in Hangzhou and time in Beijing?")
    chunks = list(llm.stream("Weather in Hangzhou and time in Beijing?"))
    assert isinstance(invoked, AIMessage)
    streamed = _merge(chunks)  # type: ignore[arg-type]
    assert len(invoked.tool_calls) == 2
    assert streamed.tool_calls == invoked.tool_calls
    assert streamed.tool_calls[1]["args"] == {"city": "Beijing", "tz": "UTC+8"}
    fragments = [c for c in chunks if c.tool_call_chunks]
    assert len(fragments) > 4  # the arguments really arrived in pieces
    assert invoked.response_metadata["finish_reason"] == "tool_calls"
    assert streamed.response_metadata["finish_reason"] == "tool_calls"


def test_stream_reports_usage_once(make_chat: MakeChat, dashscope_emulator: Emulator) -> None:
    llm = make_chat()
    invoked = llm.invoke("Write two short haikus about the sea.")
    chunks = list(llm.stream("Write two short haikus about the sea."))
    with_usage = [c for c in chunks if c.usage_metadata]
    assert len(chunks) > 2
    assert len(with_usage) == 1
    assert with_usage[0] is chunks[-1]
    assert _merge(chunks).usage_metadata == invoked.usage_metadata  # type: ignore[arg-type]
    assert dashscope_emulator.requests[-1].headers["X-DashScope-SSE"] == "enable"


@pytest.mark.parametrize(
    "params", [{"model": "qwq-plus"}, {"model": "qwen-plus", "enable_thinking": True}]
)
def test_stream_only_models_are_streamed_when_invoked(
    make_chat: MakeChat, dashscope_emulator: Emulator, params: dict[str, Any]
) -> None:
    reply = make_chat(**params).invoke("What is 2 + 2?")
    request = dashscope_emulator.requests[-1]
    assert request.headers["X-DashScope-SSE"] == "enable"
    assert request.json["parameters"]["incremental_output"] is True
    assert reply.additional_kwargs["reasoning_content"]
    assert reply.text
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["output_token_details"]["reasoning"] > 0


def test_reasoning_as_v1_blocks_also_on_tool_call_turns(
    make_chat: MakeChat, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(
        ScriptedReply(reasoning="I should call the weather tool.", tool_calls=PARALLEL[:1])
    )
    llm = make_chat(output_version="v1").bind_tools([WEATHER_TOOL])
    reply = llm.invoke("Weather in Hangzhou?")
    types = [block["type"] for block in reply.content]  # type: ignore[index]
    assert types[0] == "reasoning"
    assert reply.content[0]["reasoning"] == "I should call the weather tool."  # type: ignore[index]
    assert "tool_call" in types
    assert reply.tool_calls[0]["args"] == {"city": "Hangzhou", "days": 3}


def test_streamed_v1_blocks_equal_the_invoked_ones_on_a_tool_call_turn(
    make_chat: MakeChat, dashscope_emulator: Emulator
) -> None:
    turn = ScriptedReply(reasoning="Two tools needed.", text="Checking.", tool_calls=PARALLEL)
    dashscope_emulator.enqueue(turn, turn)
    llm = make_chat(output_version="v1").bind_tools([WEATHER_TOOL, TIME_TOOL])
    invoked = llm.invoke("Weather in Hangzhou and time in Beijing?")
    streamed = _merge(list(llm.stream("Weather in Hangzhou and time in Beijing?")))  # type: ignore[arg-type]

    def without_index(content: Any) -> list[dict[str, Any]]:
        return [{k: v for k, v in block.items() if k != "index"} for block in content]

    assert [block["type"] for block in streamed.content] == [  # type: ignore[index]
        "reasoning",
        "text",
        "tool_call",
        "tool_call",
    ]
    assert without_index(streamed.content) == without_index(invoked.content)
    assert streamed.tool_calls == invoked.tool_calls


async def test_async_stream_and_invoke(amake_chat: MakeChat, dashscope_emulator: Emulator) -> None:
    dashscope_emulator.enqueue(
        ScriptedReply(tool_calls=PARALLEL), ScriptedReply(tool_calls=PARALLEL)
    )
    llm = amake_chat().bind_tools([WEATHER_TOOL, TIME_TOOL], parallel_tool_calls=True)
    invoked = await llm.ainvoke("Weather and time?")
    chunks = [chunk async for chunk in llm.astream("Weather and time?")]
    streamed = _merge(chunks)  # type: ignore[arg-type]
    assert streamed.tool_calls == invoked.tool_calls
    assert len(streamed.tool_calls) == 2
    assert [c.usage_metadata is not None for c in chunks].count(True) == 1
    assert chunks[-1].chunk_position == "last"


def test_model_override_is_reported(make_chat: MakeChat, dashscope_emulator: Emulator) -> None:
    llm = make_chat()
    reply = llm.invoke("hi", model="qwen-max")
    full = _merge(list(llm.stream("hi", model="qwen-turbo")))  # type: ignore[arg-type]
    assert [r.json["model"] for r in dashscope_emulator.requests] == ["qwen-max", "qwen-turbo"]
    assert reply.response_metadata["model_name"] == "qwen-max"
    assert full.response_metadata["model_name"] == "qwen-turbo"
    assert llm.model == "qwen-plus"


def test_images_reach_vl_models_and_are_refused_on_text_models(
    make_chat: MakeChat, dashscope_emulator: Emulator
) -> None:
    message = HumanMessage(
        content=[
            {"type": "text", "text": "Describe"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        ]
    )
    with pytest.raises(ValueError, match="text-only"):
        make_chat().invoke([message])
    assert dashscope_emulator.requests == []
    make_chat(model="qwen-vl-plus").invoke([message])
    request = dashscope_emulator.requests[-1]
    assert request.path.endswith("multimodal-generation/generation")
    assert request.json["input"]["messages"][0]["content"] == [
        {"text": "Describe"},
        {"image": "https://example.com/cat.png"},
    ]


def test_streaming_field_makes_invoke_stream(
    make_chat: MakeChat, dashscope_emulator: Emulator
) -> None:
    reply = make_chat(streaming=True).invoke("hi")
    make_chat().invoke("hi")
    streamed, plain = dashscope_emulator.requests
    assert streamed.headers["X-DashScope-SSE"] == "enable"
    assert "X-DashScope-SSE" not in plain.headers
    assert reply.usage_metadata is not None
    assert reply.response_metadata["finish_reason"] == "stop"

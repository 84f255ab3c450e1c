"""Tool calling, structured output and instrumentation of the DashScope LLM (emulator)."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse
from llama_index.core.callbacks import CallbackManager, CBEventType, LlamaDebugHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from llama_index.core.types import PydanticProgramMode
from pydantic import BaseModel, Field, ValidationError

from dashscope_ws.emulator import Emulator, ScriptedReply
from llamaindex_dashscope_ws import DashScope

MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def mul(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


ADD, MUL = FunctionTool.from_defaults(add), FunctionTool.from_defaults(mul)


class Invoice(BaseModel):
    """An invoice."""

    customer: str
    total: int


async def with_tools(llm: DashScope, mode: str, tools: list[Any], **kw: Any) -> ChatResponse:
    if mode == "sync":
        return llm.chat_with_tools(tools, **kw)
    return await llm.achat_with_tools(tools, **kw)


async def stream_with_tools(
    llm: DashScope, mode: str, tools: list[Any], **kw: Any
) -> list[ChatResponse]:
    if mode == "sync":
        return list(llm.stream_chat_with_tools(tools, **kw))
    return [r async for r in await llm.astream_chat_with_tools(tools, **kw)]


@MODES
async def test_tool_call_and_wire_schema(
    llm: DashScope, dashscope_emulator: Emulator, mode: str
) -> None:
    response = await with_tools(llm, mode, [ADD], user_msg="Add 2 and 3")
    (selection,) = llm.get_tool_calls_from_response(response)
    assert (selection.tool_name, selection.tool_kwargs) == ("add", {"a": 2, "b": 3})
    assert selection.tool_id.startswith("call_")
    parameters = dashscope_emulator.requests[-1].json["parameters"]
    (spec,) = parameters["tools"]
    assert spec["type"] == "function"
    assert spec["function"]["name"] == "add"
    assert spec["function"]["parameters"]["type"] == "object"
    assert spec["function"]["parameters"]["required"] == ["a", "b"]
    assert parameters["parallel_tool_calls"] is False
    assert "tool_choice" not in parameters  # "auto" is the service default
    assert dashscope_emulator.requests[-1].headers["X-DashScope-WorkSpace"] == "ws-emu-sub"


@MODES
async def test_tool_required_forces_the_single_tool(
    llm: DashScope, dashscope_emulator: Emulator, mode: str
) -> None:
    response = await with_tools(llm, mode, [ADD], user_msg="hello", tool_required=True)
    assert [s.tool_name for s in llm.get_tool_calls_from_response(response)] == ["add"]
    wire_choice = dashscope_emulator.requests[-1].json["parameters"]["tool_choice"]
    assert wire_choice == {"type": "function", "function": {"name": "add"}}
    with pytest.raises(ValueError, match="single named function"):
        await with_tools(llm, mode, [ADD, MUL], user_msg="hello", tool_required=True)


@MODES
async def test_stream_with_parallel_tool_calls(
    llm: DashScope, dashscope_emulator: Emulator, mode: str
) -> None:
    responses = await stream_with_tools(
        llm, mode, [ADD, MUL], user_msg="Add and multiply 2 and 3", allow_parallel_tool_calls=True
    )
    assert len(responses) > 1
    selections = llm.get_tool_calls_from_response(responses[-1])
    assert sorted((s.tool_name, tuple(s.tool_kwargs.items())) for s in selections) == [
        ("add", (("a", 2), ("b", 3))),
        ("mul", (("a", 2), ("b", 3))),
    ]
    assert len({s.tool_id for s in selections}) == 2
    assert dashscope_emulator.requests[-1].json["parameters"]["parallel_tool_calls"] is True


@MODES
async def test_parallel_calls_trimmed_unless_allowed(
    llm: DashScope, dashscope_emulator: Emulator, mode: str
) -> None:
    calls = [
        {"id": "call_a", "name": "add", "arguments": '{"a": 1, "b": 2}'},
        {"id": "call_m", "name": "mul", "arguments": {"a": 3, "b": 4}},
    ]
    dashscope_emulator.enqueue(ScriptedReply(tool_calls=calls, times=2))
    one = await with_tools(llm, mode, [ADD, MUL], user_msg="x")
    assert [s.tool_id for s in llm.get_tool_calls_from_response(one)] == ["call_a"]
    both = await with_tools(llm, mode, [ADD, MUL], user_msg="x", allow_parallel_tool_calls=True)
    assert [s.tool_kwargs for s in llm.get_tool_calls_from_response(both)] == [
        {"a": 1, "b": 2},
        {"a": 3, "b": 4},
    ]


@MODES
async def test_malformed_arguments(llm: DashScope, dashscope_emulator: Emulator, mode: str) -> None:
    dashscope_emulator.enqueue(ScriptedReply(tool_calls=[{"name": "add", "arguments": "a=1"}]))
    response = await with_tools(llm, mode, [ADD], user_msg="x")
    with pytest.raises(ValueError, match="tool 'add': neither JSON nor a Python dict"):
        llm.get_tool_calls_from_response(response)
    (lenient,) = llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    assert (lenient.tool_name, lenient.tool_kwargs) == ("add", {})


@MODES
async def test_tool_result_round_trip(
    llm: DashScope, dashscope_emulator: Emulator, mode: str
) -> None:
    question = ChatMessage(role="user", content="Add 2 and 3")
    first = await with_tools(llm, mode, [ADD], user_msg=question)
    (selection,) = llm.get_tool_calls_from_response(first)
    result = ChatMessage(
        role="tool",
        content=str(add(**selection.tool_kwargs)),
        additional_kwargs={"tool_call_id": selection.tool_id},
    )
    second = await with_tools(llm, mode, [ADD], chat_history=[question, first.message, result])
    assert "5" in (second.message.content or "")
    assert llm.get_tool_calls_from_response(second, error_on_no_tool_call=False) == []
    sent = dashscope_emulator.requests[-1].json["input"]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == selection.tool_id
    assert sent[2] == {"role": "tool", "content": "5", "tool_call_id": selection.tool_id}


@MODES
async def test_predict_and_call(llm: DashScope, mode: str) -> None:
    if mode == "sync":
        output = llm.predict_and_call([ADD], "Add 2 and 3")
    else:
        output = await llm.apredict_and_call([ADD], "Add 2 and 3")
    assert output.response == "5"


async def _predict(llm: DashScope, mode: str, **llm_kwargs: Any) -> Invoice:
    prompt = PromptTemplate("Extract the invoice: {text}")
    text = "customer Alice, total 42"
    if mode == "sync":
        return llm.structured_predict(Invoice, prompt, llm_kwargs=llm_kwargs, text=text)
    return await llm.astructured_predict(Invoice, prompt, llm_kwargs=llm_kwargs, text=text)


@MODES
async def test_structured_predict_uses_native_json_schema_where_the_model_has_it(
    llm: DashScope, dashscope_emulator: Emulator, mode: str
) -> None:
    assert await _predict(llm, mode) == Invoice(customer="Alice", total=42)
    parameters = dashscope_emulator.requests[-1].json["parameters"]
    assert "tools" not in parameters
    assert "tool_choice" not in parameters
    spec = parameters["response_format"]["json_schema"]
    assert parameters["response_format"]["type"] == "json_schema"
    assert (spec["name"], spec["description"]) == ("Invoice", "An invoice.")
    assert set(spec["schema"]["required"]) == {"customer", "total"}


def _assert_tool_path(emulator: Emulator) -> None:
    parameters = emulator.requests[-1].json["parameters"]
    assert "response_format" not in parameters
    assert parameters["tool_choice"] == {"type": "function", "function": {"name": "Invoice"}}
    assert set(parameters["tools"][0]["function"]["parameters"]["required"]) == {
        "customer",
        "total",
    }


@MODES
async def test_structured_predict_falls_back_to_a_forced_tool(
    llm: DashScope, dashscope_emulator: Emulator, mode: str
) -> None:
    # A model without json_schema support (per-call override) ...
    assert await _predict(llm, mode, model="qwen-max") == Invoice(customer="Alice", total=42)
    _assert_tool_path(dashscope_emulator)
    assert dashscope_emulator.requests[-1].json["model"] == "qwen-max"
    # ... and FUNCTION mode on a model that has it.
    llm.pydantic_program_mode = PydanticProgramMode.FUNCTION
    assert await _predict(llm, mode) == Invoice(customer="Alice", total=42)
    _assert_tool_path(dashscope_emulator)


@MODES
async def test_as_structured_llm(llm: DashScope, dashscope_emulator: Emulator, mode: str) -> None:
    structured = llm.as_structured_llm(Invoice)
    messages = [ChatMessage(role="user", content="Invoice: customer Bob, total 7")]
    if mode == "sync":
        response = structured.chat(messages)
    else:
        response = await structured.achat(messages)
    assert response.raw == Invoice(customer="Bob", total=7)
    assert dashscope_emulator.requests[-1].json["parameters"]["response_format"]["type"] == (
        "json_schema"
    )


async def test_native_structured_output_rejects_json_that_misses_the_schema(
    llm: DashScope, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(ScriptedReply(text='{"customer": "Alice"}'))
    with pytest.raises(ValidationError, match="total"):
        await _predict(llm, "async")


class _Collector(BaseEventHandler):
    events: list[str] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "Collector"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event.class_name())


@MODES
async def test_instrumentation_events(dashscope_emulator: Emulator, mode: str) -> None:
    debug = LlamaDebugHandler()
    llm = DashScope(
        api_key="sk-emu-main",
        base_url=dashscope_emulator.base_url,
        callback_manager=CallbackManager([debug]),
    )
    collector = _Collector()
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(collector)
    try:
        messages = [ChatMessage(role="user", content="hi")]
        if mode == "sync":
            llm.chat(messages)
            llm.complete("hi")
            list(llm.stream_chat(messages))
        else:
            await llm.achat(messages)
            await llm.acomplete("hi")
            [r async for r in await llm.astream_chat(messages)]
    finally:
        dispatcher.event_handlers.remove(collector)
        await llm.aclose()
    assert len(debug.get_event_pairs(CBEventType.LLM)) == 3
    for name in (
        "LLMChatStartEvent",
        "LLMChatEndEvent",
        "LLMChatInProgressEvent",
        "LLMCompletionStartEvent",
        "LLMCompletionEndEvent",
    ):
        assert name in collector.events, name
    assert collector.events.count("LLMChatStartEvent") == 2

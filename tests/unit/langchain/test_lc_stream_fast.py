"""The per-call shortcuts equal what they replace: unvalidated middle stream chunks and unary
replies equal LangChain's validated objects, precomputed signatures equal inspect's."""

from __future__ import annotations

import inspect
import pickle

import pytest
from langchain_core.load import dumpd
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from dashscope_ws import types
from dashscope_ws.types import ChatChunk, ToolCallDelta, Usage
from langchain_dashscope_ws._convert import (
    StreamConverter,
    chunk_to_message_chunk,
    result_to_chat_result,
    result_to_message,
    usage_to_metadata,
)


@pytest.mark.parametrize(("text", "reasoning"), [("Hello", ""), ("", "step"), ("a", "b")])
def test_fast_chunk_equals_the_validated_one(text: str, reasoning: str) -> None:
    core = ChatChunk(text=text, reasoning=reasoning, request_id="r")
    fast = StreamConverter(model="qwen-plus").generation(core)
    slow = ChatGenerationChunk(message=chunk_to_message_chunk(core, model="qwen-plus"))
    assert type(fast) is type(slow)
    assert type(fast.message) is AIMessageChunk
    assert fast == slow
    assert fast.model_dump() == slow.model_dump()
    assert fast.message.model_fields_set == slow.message.model_fields_set
    assert repr(fast) == repr(slow)
    assert dumpd(fast.message) == dumpd(slow.message)
    assert pickle.loads(pickle.dumps(fast)) == slow  # noqa: S301
    assert fast.message.content_blocks == slow.message.content_blocks
    assert (fast + fast) == (slow + slow)
    fast.message.id = "run-1"  # what BaseChatModel.stream does to every chunk
    assert fast.message.id == "run-1"


def test_chunks_with_tool_calls_or_usage_take_the_validated_path() -> None:
    conv = StreamConverter(model="qwen-plus")
    call = conv.generation(ChatChunk(tool_calls=(ToolCallDelta(0, id="c", name="f"),)))
    assert call.message.tool_call_chunks[0]["name"] == "f"
    usage = Usage(input_tokens=1, output_tokens=2, total_tokens=3)
    last = conv.generation(ChatChunk(finish_reason="stop", usage=usage, request_id="r9"))
    assert last.message.usage_metadata == {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
    assert last.message.response_metadata["request_id"] == "r9"
    assert conv.close() is None


def test_request_id_seen_on_a_fast_chunk_reaches_the_closing_chunk() -> None:
    conv = StreamConverter(model="qwen-plus")
    conv.generation(ChatChunk(text="x", request_id="r1"))
    conv.generation(ChatChunk(tool_calls=(ToolCallDelta(0, id="c", name="f"),)))
    conv.generation(ChatChunk(finish_reason="tool_calls", tool_calls=(ToolCallDelta(0),)))
    closing = conv.close()
    assert closing is not None
    assert closing.response_metadata["request_id"] == "r1"


USAGES = [
    Usage(),
    Usage(input_tokens=3, output_tokens=2, total_tokens=5),
    Usage(input_tokens=3, output_tokens=2, total_tokens=5, cached_tokens=1, reasoning_tokens=1),
]


@pytest.mark.parametrize("usage", USAGES)
@pytest.mark.parametrize(("text", "reasoning"), [("Hello", ""), ("", "step"), ("a", "b")])
def test_fast_unary_result_equals_the_validated_one(
    text: str, reasoning: str, usage: Usage
) -> None:
    core = types.ChatResult(
        text=text, reasoning=reasoning, finish_reason="stop", usage=usage, request_id="r"
    )
    fast = result_to_chat_result(core, model="qwen-plus")
    slow_message = AIMessage(
        content=text,
        additional_kwargs={"reasoning_content": reasoning} if reasoning else {},
        tool_calls=[],
        invalid_tool_calls=[],
        usage_metadata=usage_to_metadata(usage),
        response_metadata=result_to_message(core, model="qwen-plus").response_metadata,
    )
    slow = ChatResult(
        generations=[
            ChatGeneration(message=slow_message, generation_info={"finish_reason": "stop"})
        ],
        llm_output={"model_name": "qwen-plus", "request_id": "r"},
    )
    assert type(fast) is ChatResult
    assert type(fast.generations[0]) is ChatGeneration
    assert type(fast.generations[0].message) is AIMessage
    assert fast == slow
    assert fast.model_dump() == slow.model_dump()
    assert fast.model_fields_set == slow.model_fields_set
    fast_gen, slow_gen = fast.generations[0], slow.generations[0]
    assert fast_gen.model_fields_set == slow_gen.model_fields_set
    assert type(fast_gen.text) is type(slow_gen.text)
    assert fast_gen.message.model_fields_set == slow_gen.message.model_fields_set
    assert repr(fast) == repr(slow)
    assert dumpd(fast_gen.message) == dumpd(slow_gen.message)
    assert pickle.loads(pickle.dumps(fast)) == slow  # noqa: S301
    assert fast_gen.message.content_blocks == slow_gen.message.content_blocks
    fast_gen.message.id = "run-1"  # what BaseChatModel does to the returned message
    fast_gen.message.response_metadata = {"x": 1}
    assert (fast_gen.message.id, fast_gen.message.response_metadata) == ("run-1", {"x": 1})


def test_unary_result_with_tool_calls_takes_the_validated_path() -> None:
    call = types.ToolCall(id="c", name="f", arguments='{"a": 1}')
    core = types.ChatResult(tool_calls=(call,), finish_reason="tool_calls")
    message = result_to_chat_result(core, model="qwen-plus").generations[0].message
    assert isinstance(message, AIMessage)
    assert message.tool_calls == [{"name": "f", "args": {"a": 1}, "id": "c", "type": "tool_call"}]


@pytest.mark.parametrize("name", ["_generate", "_agenerate"])
def test_precomputed_signatures_are_the_ones_inspect_computes(name: str) -> None:
    from langchain_dashscope_ws import ChatDashScope, ChatDashScopeApp, Tongyi

    for cls in (ChatDashScope, ChatDashScopeApp, Tongyi):
        function = cls.__dict__[name]
        stored = function.__signature__
        del function.__signature__
        try:
            assert stored == inspect.signature(function)
        finally:
            function.__signature__ = stored
        extra = {"app_id": "app-1"} if cls is ChatDashScopeApp else {}
        bound = getattr(cls(api_key="sk-x", **extra), name)
        assert "run_manager" in inspect.signature(bound).parameters  # what LangChain asks

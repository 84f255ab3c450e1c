"""The unvalidated fast path for middle stream chunks equals LangChain's validated objects."""

from __future__ import annotations

import pickle

import pytest
from langchain_core.load import dumpd
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from dashscope_ws.types import ChatChunk, ToolCallDelta, Usage
from langchain_dashscope_ws._convert import StreamConverter, chunk_to_message_chunk


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

"""The unvalidated unary ``ChatResponse`` equals the one LlamaIndex's validators build."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole, TextBlock
from llama_index.core.instrumentation.events.llm import LLMChatEndEvent

from dashscope_ws.types import ChatChunk, ChatResult, ToolCall, Usage
from llamaindex_dashscope_ws._responses import to_chat_response

USAGES = [Usage(), Usage(input_tokens=3, output_tokens=2, total_tokens=5, raw={"x": 1})]


def _validated(fast: ChatResponse, text: str) -> ChatResponse:
    return ChatResponse(
        message=ChatMessage(
            role=MessageRole.ASSISTANT, blocks=[TextBlock(text=text)], additional_kwargs={}
        ),
        delta=fast.delta,
        raw=dict(fast.raw),
        additional_kwargs=dict(fast.additional_kwargs),
    )


@pytest.mark.parametrize("usage", USAGES)
@pytest.mark.parametrize("chunk", [None, ChatChunk(text="i", raw={"a": 1})])
@pytest.mark.parametrize("text", ["hi", ""])
def test_fast_response_equals_the_validated_one(
    text: str, chunk: ChatChunk | None, usage: Usage
) -> None:
    result = ChatResult(text=text, finish_reason="stop", usage=usage, request_id="r", model="m")
    fast = to_chat_response(result, chunk=chunk)
    slow = _validated(fast, text)
    readers: list[Any] = [
        lambda r: r,
        lambda r: r.model_dump(),
        lambda r: r.model_dump_json(),
        lambda r: repr(r),
        lambda r: r.model_fields_set,
        lambda r: r.message.model_fields_set,
        lambda r: r.message.blocks[0].model_fields_set,
        lambda r: type(r.message.blocks[0]),
        lambda r: r.message.content,
        lambda r: str(r),
        lambda r: copy.deepcopy(r),
        lambda r: r.model_copy(),
        lambda r: pickle.loads(pickle.dumps(r)),  # noqa: S301
        lambda r: LLMChatEndEvent(messages=[], response=r, span_id="s").model_dump()["response"],
    ]
    for read in readers:
        assert read(fast) == read(slow)
    fast.message.content = "changed"  # assignment behaves as on a validated message
    slow.message.content = "changed"
    assert fast == slow


def test_reasoning_and_tool_calls_take_the_validated_path() -> None:
    call = ToolCall(id="c", name="f", arguments='{"a": 1}')
    result = ChatResult(reasoning="think", tool_calls=(call,), finish_reason="tool_calls")
    message = to_chat_response(result).message
    assert [type(b).__name__ for b in message.blocks] == [
        "ThinkingBlock",
        "TextBlock",
        "ToolCallBlock",
    ]
    assert message.additional_kwargs["tool_calls"][0]["function"]["name"] == "f"
    assert message.additional_kwargs["reasoning_content"] == "think"

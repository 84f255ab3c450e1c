"""Pure conversions between LangChain messages and the core's wire dicts / results."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from dashscope_ws.config import ClientConfig
from dashscope_ws.protocol import build_chat_request
from dashscope_ws.types import ChatChunk, ChatResult, ToolCall, ToolCallDelta, Usage
from langchain_dashscope_ws._convert import (
    StreamConverter,
    chunk_to_message_chunk,
    messages_to_wire,
    result_to_message,
    usage_to_metadata,
)

CONFIG = ClientConfig.resolve(api_key="sk-test", base_url="http://127.0.0.1:1/api/v1", env={})


def sent(messages: list[BaseMessage], model: str) -> list[dict[str, object]]:
    """What goes on the wire: the adapter's neutral content, routed by the core."""
    wire = messages_to_wire(messages, model=model)
    request = build_chat_request(CONFIG, model=model, messages=wire, parameters={}, stream=False)
    assert request.json is not None
    return request.json["input"]["messages"]  # type: ignore[no-any-return]


def test_roles_and_tool_call_replay() -> None:
    ai = AIMessage(
        content="",
        tool_calls=[{"name": "get_weather", "args": {"city": "杭州"}, "id": "call_1"}],
    )
    wire = messages_to_wire(
        [
            SystemMessage("be brief"),
            HumanMessage("weather?"),
            ai,
            ToolMessage("sunny", tool_call_id="call_1"),
            ChatMessage(role="human", content="thanks"),
        ],
        model="qwen-plus",
    )
    assert [m["role"] for m in wire] == ["system", "user", "assistant", "tool", "user"]
    call = wire[2]["tool_calls"][0]
    assert call["id"] == "call_1"
    assert call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert isinstance(call["function"]["arguments"], str)
    assert json.loads(call["function"]["arguments"]) == {"city": "杭州"}
    assert "杭州" in call["function"]["arguments"]  # not \u-escaped
    assert wire[3] == {"role": "tool", "content": "sunny", "tool_call_id": "call_1"}


def test_invalid_tool_calls_are_replayed_with_raw_arguments() -> None:
    ai = AIMessage(
        content="",
        invalid_tool_calls=[
            {"type": "invalid_tool_call", "name": "f", "args": "{'a': 1}", "id": "c9", "error": "x"}
        ],
    )
    (wire,) = messages_to_wire([ai], model="qwen-plus")
    assert wire["tool_calls"][0]["function"] == {"name": "f", "arguments": "{'a': 1}"}


def test_list_content_is_flattened_for_text_models() -> None:
    message = AIMessage(
        content=[
            {"type": "text", "text": "Let me "},
            "check.",
            {"type": "tool_use", "id": "call_1", "name": "f", "input": {}},
            {"type": "reasoning", "reasoning": "hidden"},
        ]
    )
    (wire,) = sent([message], "qwen-plus")
    assert wire["content"] == "Let me check."
    tool = ToolMessage(content=[{"type": "text", "text": "42"}], tool_call_id="call_1")
    assert sent([tool], "qwen-plus")[0]["content"] == "42"


def test_adapter_content_is_neutral_and_the_same_for_every_model() -> None:
    message = HumanMessage(content=[{"type": "text", "text": "a"}, "b"])
    neutral = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert messages_to_wire([message], model="qwen-plus")[0]["content"] == neutral
    assert messages_to_wire([message], model="qwen-vl-plus")[0]["content"] == neutral


def test_plain_text_goes_as_parts_to_multimodal_models() -> None:
    (wire,) = sent([HumanMessage("hi")], "qwen-vl-plus")
    assert wire["content"] == [{"text": "hi"}]


def test_image_on_text_model_is_refused_clearly() -> None:
    message = HumanMessage(
        content=[
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        ]
    )
    with pytest.raises(ValueError, match=r"text-only and cannot take image.*qwen-vl"):
        messages_to_wire([message], model="qwen-plus")
    audio = HumanMessage(content=[{"type": "audio", "url": "https://x/a.wav"}])
    with pytest.raises(ValueError, match=r"cannot take audio input \(messages\[1\]\)"):
        messages_to_wire([HumanMessage("hi"), audio], model="qwen-max")


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"type": "image_url", "image_url": {"url": "https://x/y.png"}}, "https://x/y.png"),
        ({"type": "image_url", "image_url": "https://x/z.png"}, "https://x/z.png"),
        ({"type": "image", "url": "https://x/a.png"}, "https://x/a.png"),
        (
            {"type": "image", "base64": "QUJD", "mime_type": "image/png"},
            "data:image/png;base64,QUJD",
        ),
        (
            {"type": "image", "source_type": "base64", "data": "QUJD", "mime_type": "image/jpeg"},
            "data:image/jpeg;base64,QUJD",
        ),
        (
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/gif", "data": "R0"},
            },
            "data:image/gif;base64,R0",
        ),
    ],
)
def test_images_become_native_parts_on_vl_models(block: dict[str, object], expected: str) -> None:
    message = HumanMessage(content=[{"type": "text", "text": "describe"}, block])
    (wire,) = sent([message], "qwen-vl-plus")
    assert wire["content"] == [{"text": "describe"}, {"image": expected}]


def test_unknown_block_type_is_refused() -> None:
    with pytest.raises(ValueError, match="'file'"):
        messages_to_wire([HumanMessage(content=[{"type": "file", "url": "x"}])], model="qwen-plus")


def test_result_to_message_parses_tool_calls_usage_and_reasoning() -> None:
    result = ChatResult(
        text="",
        reasoning="think first",
        tool_calls=(
            ToolCall(id="c1", name="get_weather", arguments='{"city": "Hangzhou"}', index=0),
            ToolCall(id="c2", name="get_time", arguments="", index=1),
            ToolCall(id="c3", name="bad", arguments="{'key_type': 'SM4'}", index=2),
            ToolCall(id="c4", name="list", arguments="[1, 2]", index=3),
            ToolCall(id="c5", name="cut", arguments='{"a": 1', index=4),
        ),
        finish_reason="tool_calls",
        usage=Usage(
            input_tokens=10, output_tokens=5, total_tokens=15, cached_tokens=4, reasoning_tokens=3
        ),
        request_id="req-1",
        model="qwen-max",
    )
    message = result_to_message(result, model="qwen-plus")
    assert [(c["id"], c["args"]) for c in message.tool_calls] == [
        ("c1", {"city": "Hangzhou"}),
        ("c2", {}),
        ("c3", {"key_type": "SM4"}),  # Qwen's Python-style dict, parsed leniently
    ]
    assert [(c["id"], c["args"]) for c in message.invalid_tool_calls] == [
        ("c4", "[1, 2]"),
        ("c5", '{"a": 1'),
    ]
    assert all(c["error"] for c in message.invalid_tool_calls)
    assert message.additional_kwargs["reasoning_content"] == "think first"
    assert message.usage_metadata == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
        "input_token_details": {"cache_read": 4},
        "output_token_details": {"reasoning": 3},
    }
    assert message.response_metadata == {
        "finish_reason": "tool_calls",
        "model_name": "qwen-max",  # the result's model wins over the fallback
        "request_id": "req-1",
        "model_provider": "dashscope",
    }


def test_usage_without_total_is_summed_and_missing_usage_is_none() -> None:
    assert usage_to_metadata(Usage(input_tokens=3, output_tokens=4)) == {
        "input_tokens": 3,
        "output_tokens": 4,
        "total_tokens": 7,
    }
    assert usage_to_metadata(Usage()) is None
    assert usage_to_metadata(None) is None


def _fragments(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def test_stream_of_fragmented_parallel_tool_calls_merges_to_the_non_streamed_calls() -> None:
    calls = [
        ToolCall(id="call_a", name="get_weather", arguments='{"city": "Hangzhou", "days": 3}'),
        ToolCall(id="call_b", name="get_time", arguments='{"tz": "Asia/Shanghai"}', index=1),
    ]
    core_chunks = [ChatChunk(text="Checking. ", request_id="r")]
    # Interleave 3-character fragments of both calls; the id is repeated on later
    # fragments of call_b (as DashScope sometimes does) and empty on call_a's.
    pieces = [_fragments(c.arguments, 3) for c in calls]
    for index, call in enumerate(calls):
        core_chunks.append(
            ChatChunk(tool_calls=(ToolCallDelta(index=index, id=call.id, name=call.name),))
        )
    for step in range(max(len(p) for p in pieces)):
        deltas = tuple(
            ToolCallDelta(
                index=index, id=("call_b" if index == 1 else ""), arguments=pieces[index][step]
            )
            for index in range(2)
            if step < len(pieces[index])
        )
        core_chunks.append(ChatChunk(tool_calls=deltas, usage=Usage(1, step + 1, step + 2)))
    core_chunks.append(
        ChatChunk(finish_reason="tool_calls", usage=Usage(10, 20, 30), request_id="r")
    )

    converter = StreamConverter(model="qwen-plus")
    lc_chunks = [converter.convert(chunk) for chunk in core_chunks]
    assert converter.close() is None
    merged = lc_chunks[0]
    for chunk in lc_chunks[1:]:
        merged = merged + chunk
    expected = result_to_message(ChatResult(tool_calls=tuple(calls)), model="qwen-plus")
    assert merged.tool_calls == expected.tool_calls
    assert len(merged.tool_calls) == 2
    assert merged.content == "Checking. "
    # Usage is reported once (the final cumulative value), never summed.
    assert [c.usage_metadata is not None for c in lc_chunks].count(True) == 1
    assert merged.usage_metadata == {"input_tokens": 10, "output_tokens": 20, "total_tokens": 30}
    assert merged.response_metadata["model_name"] == "qwen-plus"
    assert merged.response_metadata["finish_reason"] == "tool_calls"
    assert merged.response_metadata["request_id"] == "r"
    assert merged.chunk_position == "last"
    assert lc_chunks[-1].chunk_position == "last"
    assert all(c.chunk_position is None for c in lc_chunks[:-1])


def test_stream_malformed_arguments_become_invalid_tool_calls() -> None:
    converter = StreamConverter(model="qwen-plus")
    chunks = [
        converter.convert(ChatChunk(tool_calls=(ToolCallDelta(0, "c1", "f", "{'a': "),))),
        converter.convert(ChatChunk(tool_calls=(ToolCallDelta(0, None, None, "1}"),))),
        converter.convert(ChatChunk(finish_reason="tool_calls")),
    ]
    merged = chunks[0] + chunks[1] + chunks[2]
    assert merged.tool_calls == []
    assert merged.invalid_tool_calls[0]["args"] == "{'a': 1}"


def test_stream_reasoning_and_final_usage_uses_last_seen_usage() -> None:
    converter = StreamConverter(model="qwq-plus")
    chunks = [
        converter.convert(ChatChunk(reasoning="Let me", usage=Usage(5, 1, 6))),
        converter.convert(ChatChunk(reasoning=" think", usage=Usage(5, 2, 7))),
        converter.convert(ChatChunk(text="42", usage=Usage(5, 3, 8, reasoning_tokens=2))),
        converter.convert(ChatChunk(finish_reason="stop")),  # no usage on the final event
    ]
    merged = chunks[0] + chunks[1] + chunks[2] + chunks[3]
    assert merged.additional_kwargs["reasoning_content"] == "Let me think"
    assert merged.content == "42"
    assert merged.usage_metadata == {
        "input_tokens": 5,
        "output_tokens": 3,
        "total_tokens": 8,
        "output_token_details": {"reasoning": 2},
    }


def test_stream_without_finish_reason_gets_a_closing_chunk() -> None:
    converter = StreamConverter(model="qwen-plus")
    first = converter.convert(ChatChunk(text="hi", usage=Usage(1, 1, 2), request_id="r7"))
    closing = converter.close()
    assert first.usage_metadata is None
    assert isinstance(closing, AIMessageChunk)
    assert closing.chunk_position == "last"
    assert closing.usage_metadata == {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}
    assert closing.response_metadata["request_id"] == "r7"
    assert converter.close() is None


def test_non_final_chunk_has_only_provider_metadata() -> None:
    chunk = chunk_to_message_chunk(ChatChunk(text="a", usage=Usage(1, 1, 2)), model="m")
    assert chunk.response_metadata == {"model_provider": "dashscope"}
    assert chunk.usage_metadata is None


def test_fragments_arriving_with_the_finish_reason_are_not_the_final_chunk() -> None:
    # LangChain reads the final chunk's tool calls as complete calls (v1 content
    # blocks), so the last fragment goes first and close() sends the final chunk.
    converter = StreamConverter(model="qwen-plus")
    first = converter.convert(ChatChunk(tool_calls=(ToolCallDelta(0, "c1", "f", '{"a": '),)))
    finishing = converter.convert(
        ChatChunk(
            tool_calls=(ToolCallDelta(0, None, None, "1}"),),
            finish_reason="tool_calls",
            usage=Usage(2, 3, 5),
        )
    )
    closing = converter.close()
    assert finishing.chunk_position is None
    assert finishing.usage_metadata is None
    assert isinstance(closing, AIMessageChunk)
    assert closing.chunk_position == "last"
    assert closing.response_metadata["finish_reason"] == "tool_calls"
    assert closing.usage_metadata is not None
    assert closing.usage_metadata["total_tokens"] == 5
    merged = first + finishing + closing
    assert merged.tool_calls == [{"name": "f", "args": {"a": 1}, "id": "c1", "type": "tool_call"}]


def test_v1_blocks_keep_streamed_tool_fragments_apart_from_other_blocks() -> None:
    fragment = chunk_to_message_chunk(
        ChatChunk(reasoning="hm", tool_calls=(ToolCallDelta(0, "c1", "f", "{}"),)), model="m"
    )
    assert fragment.content_blocks == [
        {"type": "reasoning", "reasoning": "hm"},
        {"type": "tool_call_chunk", "id": "c1", "name": "f", "args": "{}", "index": "lc_tc_0"},
    ]
    message = result_to_message(
        ChatResult(
            text="ok",
            tool_calls=(
                ToolCall(id="c1", name="f", arguments='{"a": 1}'),
                ToolCall(id="c2", name="g", arguments="{oops"),
            ),
        ),
        model="m",
    )
    assert [block["type"] for block in message.content_blocks] == [
        "text",
        "tool_call",
        "invalid_tool_call",
    ]
    assert message.content_blocks[1] == {
        "type": "tool_call",
        "name": "f",
        "args": {"a": 1},
        "id": "c1",
    }
    foreign = AIMessage(
        content=[{"type": "text", "text": "x"}], response_metadata={"model_provider": "dashscope"}
    )
    assert foreign.content_blocks == [{"type": "text", "text": "x"}]  # generic reading applies

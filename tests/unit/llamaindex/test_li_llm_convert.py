"""Pure conversions of the LlamaIndex LLM: messages, responses, streams, tool calls."""

from __future__ import annotations

import json

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from dashscope_ws.adapters import ToolArgumentsError
from dashscope_ws.types import ChatChunk, ChatResult, ToolCall, ToolCallDelta, Usage
from llamaindex_dashscope_ws._convert import (
    keep_first_tool_call,
    parse_tool_arguments,
    resolve_tool_choice,
    to_wire_message,
    to_wire_messages,
    tool_selections,
)
from llamaindex_dashscope_ws._responses import to_chat_response
from llamaindex_dashscope_ws._stream import StreamFolder

# --------------------------------------------------------------------------- messages


def test_roles_and_plain_text_become_string_content() -> None:
    wire = to_wire_messages(
        [
            ChatMessage(role=MessageRole.SYSTEM, content="be brief"),
            ChatMessage(role=MessageRole.DEVELOPER, content="dev note"),
            ChatMessage(role=MessageRole.USER, blocks=[TextBlock(text="a"), TextBlock(text="b")]),
            ChatMessage(role=MessageRole.ASSISTANT, content="ok"),
        ],
        model="qwen-plus",
    )
    assert wire == [
        {"role": "system", "content": "be brief"},
        {"role": "system", "content": "dev note"},
        {"role": "user", "content": "a\nb"},
        {"role": "assistant", "content": "ok"},
    ]


def test_assistant_tool_calls_from_additional_kwargs_and_tool_result() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
    assistant = ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": [call]})
    tool = ChatMessage(role="tool", content="5", additional_kwargs={"tool_call_id": "call_1"})
    assert to_wire_message(assistant) == {"role": "assistant", "content": "", "tool_calls": [call]}
    assert to_wire_message(tool) == {"role": "tool", "content": "5", "tool_call_id": "call_1"}


def test_tool_call_blocks_are_sent_with_json_string_arguments() -> None:
    message = ChatMessage(
        role="assistant",
        blocks=[
            ThinkingBlock(content="let me think"),
            ToolCallBlock(tool_call_id="c9", tool_name="add", tool_kwargs={"a": 1, "b": 2}),
        ],
    )
    wire = to_wire_message(message)
    assert wire["content"] == ""  # reasoning is never sent back
    (call,) = wire["tool_calls"]
    assert call["id"] == "c9"
    assert call["function"]["name"] == "add"
    assert json.loads(call["function"]["arguments"]) == {"a": 1, "b": 2}


_PICTURE = ChatMessage(
    role="user",
    blocks=[ImageBlock(url="https://example.com/cat.png"), TextBlock(text="what is it?")],
)


def test_image_url_becomes_neutral_parts() -> None:
    # The core routes them (test_li_llm_emulator.py::test_content_is_routed_by_model).
    assert to_wire_message(_PICTURE)["content"] == [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "text", "text": "what is it?"},
    ]


def test_image_for_a_text_only_model_is_refused_before_the_request() -> None:
    with pytest.raises(ValueError, match=r"'qwen-plus' is text-only and cannot take image"):
        to_wire_messages([_PICTURE], model="qwen-plus")


def test_plain_text_stays_a_string_for_every_model() -> None:
    for model in ("qwen-plus", "qwen-vl-max"):
        (wire,) = to_wire_messages([ChatMessage(role="user", content="hi")], model=model)
        assert wire["content"] == "hi"


def test_inline_image_becomes_data_uri() -> None:
    message = ChatMessage(
        role="user", blocks=[ImageBlock(image=b"\x89PNG", image_mimetype="image/png")]
    )
    (part,) = to_wire_message(message)["content"]
    assert part["image_url"]["url"].startswith("data:image/png;base64,")


def test_unsupported_block_raises() -> None:
    message = ChatMessage(role="user", blocks=[DocumentBlock(data=b"%PDF", title="x")])
    with pytest.raises(ValueError, match="DocumentBlock"):
        to_wire_message(message)


# --------------------------------------------------------------------------- responses


def _result(**overrides: object) -> ChatResult:
    fields: dict[str, object] = {
        "text": "Hello",
        "finish_reason": "stop",
        "usage": Usage(input_tokens=7, output_tokens=2, total_tokens=9, reasoning_tokens=4),
        "request_id": "req-1",
        "model": "qwen-plus",
        "raw": {"output": {"choices": []}},
    }
    fields.update(overrides)
    return ChatResult(**fields)  # type: ignore[arg-type]


def test_response_carries_usage_and_request_id_in_raw_and_kwargs() -> None:
    response = to_chat_response(_result())
    assert response.message.content == "Hello"
    assert response.message.role == MessageRole.ASSISTANT
    assert response.raw["request_id"] == "req-1"
    assert response.raw["usage"]["input_tokens"] == 7
    assert response.raw["output"] == {"choices": []}
    kwargs = response.additional_kwargs
    assert kwargs["request_id"] == "req-1"
    assert kwargs["usage"]["total_tokens"] == 9
    assert (kwargs["prompt_tokens"], kwargs["completion_tokens"], kwargs["total_tokens"]) == (
        7,
        2,
        9,
    )
    assert kwargs["finish_reason"] == "stop"
    assert response.delta is None


def test_reasoning_is_a_thinking_block_and_additional_kwarg() -> None:
    response = to_chat_response(_result(reasoning="step 1"))
    thinking = [b for b in response.message.blocks if isinstance(b, ThinkingBlock)]
    assert [(t.content, t.num_tokens) for t in thinking] == [("step 1", 4)]
    assert response.message.additional_kwargs["reasoning_content"] == "step 1"
    assert response.message.content == "Hello"  # the answer excludes the reasoning


def test_tool_calls_in_kwargs_and_blocks() -> None:
    calls = (
        ToolCall(id="c1", name="add", arguments='{"a": 1}', index=0),
        ToolCall(id="c2", name="mul", arguments='{"a": 2}', index=1),
    )
    response = to_chat_response(_result(text="", tool_calls=calls, finish_reason="tool_calls"))
    names = [c["function"]["name"] for c in response.message.additional_kwargs["tool_calls"]]
    assert names == ["add", "mul"]
    blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    assert [(b.tool_call_id, b.tool_name) for b in blocks] == [("c1", "add"), ("c2", "mul")]
    selections = tool_selections(response.message, error_on_no_tool_call=True)
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in selections] == [
        ("c1", "add", {"a": 1}),
        ("c2", "mul", {"a": 2}),
    ]
    # The message round-trips to the wire (agent memory sends it back).
    assert [c["id"] for c in to_wire_message(response.message)["tool_calls"]] == ["c1", "c2"]


def test_keep_first_tool_call_trims_kwargs_and_blocks() -> None:
    calls = (
        ToolCall(id="c1", name="a", arguments="{}"),
        ToolCall(id="c2", name="b", arguments="{}", index=1),
    )
    response = to_chat_response(_result(tool_calls=calls))
    keep_first_tool_call(response)
    assert [s.tool_id for s in tool_selections(response.message, error_on_no_tool_call=True)] == [
        "c1"
    ]
    assert len([b for b in response.message.blocks if isinstance(b, ToolCallBlock)]) == 1


def test_stream_folder_is_cumulative_with_merged_parallel_tool_calls() -> None:
    chunks = [
        ChatChunk(reasoning="think ", request_id="r"),
        ChatChunk(text="Hel", request_id="r"),
        ChatChunk(text="lo", request_id="r"),
        ChatChunk(tool_calls=(ToolCallDelta(0, id="c1", name="add", arguments='{"a"'),)),
        ChatChunk(tool_calls=(ToolCallDelta(1, id="c2", name="mul", arguments='{"b": 2}'),)),
        ChatChunk(
            tool_calls=(ToolCallDelta(0, arguments=": 1}"),),
            finish_reason="tool_calls",
            usage=Usage(input_tokens=3, output_tokens=5, total_tokens=8),
            raw={"usage": {"input_tokens": 3, "output_tokens": 5, "total_tokens": 8}},
        ),
    ]
    folder = StreamFolder()
    responses = [folder.add(chunk) for chunk in chunks]
    assert "".join(r.delta or "" for r in responses) == responses[-1].message.content == "Hello"
    assert responses[0].additional_kwargs["thinking_delta"] == "think "
    assert responses[2].message.content == "Hello"
    assert all(r.additional_kwargs["request_id"] == "r" for r in responses)
    assert all(r.raw["request_id"] == "r" for r in responses)
    last = responses[-1]
    assert last.additional_kwargs["usage"]["total_tokens"] == 8
    assert last.raw["usage"]["total_tokens"] == 8
    assert last.message.additional_kwargs["reasoning_content"] == "think "
    selections = tool_selections(last.message, error_on_no_tool_call=True)
    assert [(s.tool_name, s.tool_kwargs) for s in selections] == [
        ("add", {"a": 1}),
        ("mul", {"b": 2}),
    ]
    # Mid-stream, partial arguments do not break a lenient reader.
    partial = tool_selections(responses[4].message, error_on_no_tool_call=False)
    assert partial[0].tool_name == "add"
    assert partial[1].tool_kwargs == {"b": 2}


# --------------------------------------------------------------------------- tool choice / args

_ONE = [{"type": "function", "function": {"name": "add", "parameters": {}}}]
_TWO = [*_ONE, {"type": "function", "function": {"name": "mul", "parameters": {}}}]


@pytest.mark.parametrize(
    ("specs", "choice", "required", "expected"),
    [
        (_ONE, None, False, None),
        (_ONE, None, True, {"type": "function", "function": {"name": "add"}}),
        (_ONE, "required", False, {"type": "function", "function": {"name": "add"}}),
        (_TWO, "auto", False, "auto"),
        (_TWO, "none", True, "none"),
        (_TWO, "mul", False, {"type": "function", "function": {"name": "mul"}}),
        (_TWO, {"type": "function", "function": {"name": "add"}}, True,
         {"type": "function", "function": {"name": "add"}}),
        (_TWO, {"type": "function", "function": {"name": "mul"}}, False,
         {"type": "function", "function": {"name": "mul"}}),
    ],
)  # fmt: skip
def test_resolve_tool_choice(specs: list, choice: object, required: bool, expected: object) -> None:
    assert resolve_tool_choice(specs, choice, required) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("choice", [None, "required", "any"])
def test_requiring_one_of_several_tools_raises(choice: str | None) -> None:
    with pytest.raises(ValueError, match="single named function"):
        resolve_tool_choice(_TWO, choice, True)


@pytest.mark.parametrize("choice", ["div", {"type": "function", "function": {"name": "div"}}])
def test_tool_choice_must_name_an_offered_tool(choice: object) -> None:
    with pytest.raises(ValueError, match="'div', which is not a bound tool"):
        resolve_tool_choice(_TWO, choice, False)  # type: ignore[arg-type]


def test_parse_tool_arguments() -> None:
    assert parse_tool_arguments('{"a": [1, 2]}', strict=True) == {"a": [1, 2]}
    assert parse_tool_arguments("{'key_type': 'SM4'}", strict=True) == {"key_type": "SM4"}
    assert parse_tool_arguments("", strict=True) == {}
    assert parse_tool_arguments({"a": 1}, strict=True) == {"a": 1}
    with pytest.raises(ToolArgumentsError, match="tool 'add': neither JSON nor a Python dict"):
        parse_tool_arguments("not json", strict=True, name="add")
    with pytest.raises(ValueError, match="not a JSON object"):
        parse_tool_arguments("[1, 2]", strict=True)
    assert parse_tool_arguments('{"a": 1, "b": "x', strict=False)["a"] == 1
    assert parse_tool_arguments("not json", strict=False) == {}


def test_no_tool_call() -> None:
    message = ChatMessage(role="assistant", content="plain answer")
    with pytest.raises(ValueError, match="Expected at least one tool call"):
        tool_selections(message, error_on_no_tool_call=True)
    assert tool_selections(message, error_on_no_tool_call=False) == []


def test_both_adapters_send_the_same_neutral_content() -> None:
    from langchain_core.messages import HumanMessage

    from langchain_dashscope_ws._convert import messages_to_wire

    lc = HumanMessage(
        content=[
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            {"type": "text", "text": "what is it?"},
        ]
    )
    for model in ("qwen-vl-plus", "qwen3-vl-plus"):
        assert messages_to_wire([lc], model=model) == to_wire_messages([_PICTURE], model=model)
    for adapter_call in (
        lambda: messages_to_wire([lc], model="qwen-plus"),
        lambda: to_wire_messages([_PICTURE], model="qwen-plus"),
    ):
        with pytest.raises(ValueError, match="'qwen-plus' is text-only and cannot take image"):
            adapter_call()

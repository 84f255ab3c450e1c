"""StreamFolder: lazily built cumulative messages behave like ordinary ones."""

from __future__ import annotations

import copy
import pickle

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, TextBlock
from llama_index.core.instrumentation.events.llm import LLMChatInProgressEvent

from dashscope_ws.accumulate import ChatAccumulator
from dashscope_ws.types import ChatChunk, ToolCallDelta, Usage
from dashscope_ws.wire import parse_usage
from llamaindex_dashscope_ws._responses import to_chat_response
from llamaindex_dashscope_ws._stream import StreamedMessage, StreamFolder


def _eager(text: str) -> ChatMessage:
    return ChatMessage(role="assistant", blocks=[TextBlock(text=text)])


def _pair() -> tuple[ChatResponse, ChatResponse]:
    folder = StreamFolder()
    return folder.add(ChatChunk(text="Hel")), folder.add(ChatChunk(text="lo"))


def test_lazy_message_equals_an_eager_one_through_every_entry_point() -> None:
    readers = [
        lambda m: m.model_dump(),
        lambda m: m.model_dump_json(),
        lambda m: repr(m).replace(type(m).__name__, "Message"),
        lambda m: dict(m),
        lambda m: copy.copy(m).model_dump(),
        lambda m: copy.deepcopy(m).model_dump(),
        lambda m: m.model_copy().model_dump(),
        lambda m: pickle.loads(pickle.dumps(m)).model_dump(),  # noqa: S301
        lambda m: m.content,
        lambda m: m.blocks,
    ]
    for read in readers:
        first, _ = _pair()  # fresh, untouched lazy messages each time
        assert isinstance(first.message, StreamedMessage)
        assert read(first.message) == read(_eager("Hel"))
    first, _ = _pair()
    assert first.message == _eager("Hel")
    first, _ = _pair()
    assert _eager("Hel") == first.message
    assert first.message != _eager("Hello")


def test_parent_serialisation_after_reading_the_message() -> None:
    first, second = _pair()
    assert second.message.content == "Hello"
    assert first.message.content == "Hel"  # older snapshot read after a newer one
    event = LLMChatInProgressEvent(messages=[], response=first, span_id="s")
    assert event.model_dump()["response"]["message"]["blocks"] == [
        {"block_type": "text", "text": "Hel"}
    ]


def test_final_response_is_built_eagerly() -> None:
    folder = StreamFolder()
    folder.add(ChatChunk(text="a", tool_calls=(ToolCallDelta(0, id="c", name="f"),)))
    last = folder.add(ChatChunk(text="b", finish_reason="stop"))
    assert "blocks" in last.message.__dict__
    dumped = ChatResponse.model_validate(last).model_dump()
    assert dumped["message"]["blocks"][0] == {"block_type": "text", "text": "ab"}
    assert dumped["message"]["additional_kwargs"]["tool_calls"][0]["function"]["name"] == "f"


def _mixed_stream() -> list[ChatChunk]:
    early = parse_usage({"input_tokens": 5, "output_tokens": 1, "total_tokens": 6})
    late = parse_usage(
        {
            "input_tokens": 5,
            "output_tokens": 3,
            "total_tokens": 8,
            "prompt_tokens_details": {"cached_tokens": 2},
            "output_tokens_details": {"reasoning_tokens": 1},
        }
    )
    calls = (ToolCallDelta(1, id="c1", name="mul"), ToolCallDelta(0, id="c0", arguments='{"a"'))
    return [
        ChatChunk(reasoning="th", request_id="r1", raw={"output": {}}),
        ChatChunk(reasoning="ink", usage=early, raw={"usage": {"wire": 1}}),
        ChatChunk(text="Hel", usage=early, model="m", raw={"request_id": "wire"}),
        ChatChunk(text="lo", usage=late, tool_calls=calls, request_id="r2"),
        ChatChunk(tool_calls=(ToolCallDelta(0, name="add", arguments=": 1}"),)),
        ChatChunk(text="!", usage=Usage(output_tokens=4, raw={"extra": [1]}), model="m2"),
        ChatChunk(reasoning="more", finish_reason="tool_calls", usage=late),
    ]


def test_every_response_equals_the_eagerly_converted_one() -> None:
    # to_chat_response of the folded result is the eager reference for every field.
    folder, accumulator = StreamFolder(), ChatAccumulator()
    pairs = []
    for chunk in _mixed_stream():
        accumulator.add(chunk)
        pairs.append((folder.add(chunk), to_chat_response(accumulator.result(), chunk=chunk)))
    for ours, eager in pairs:  # before any message is built
        assert (ours.delta, ours.raw, ours.additional_kwargs) == (
            eager.delta,
            eager.raw,
            eager.additional_kwargs,
        )
    for ours, eager in reversed(pairs):  # older snapshots read after newer ones
        assert ours.message == eager.message
        assert ours.model_dump_json() == eager.model_dump_json()

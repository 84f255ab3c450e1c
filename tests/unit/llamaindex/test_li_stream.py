"""StreamFolder: lazily built in-progress responses behave like ordinary ones."""

from __future__ import annotations

import copy
import json
import pickle
import threading
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, TextBlock
from llama_index.core.instrumentation.events.llm import LLMChatInProgressEvent

from dashscope_ws.accumulate import ChatAccumulator
from dashscope_ws.types import ChatChunk, ChatResult, ToolCallDelta, Usage
from dashscope_ws.wire import parse_usage
from llamaindex_dashscope_ws._responses import to_chat_response
from llamaindex_dashscope_ws._stream import StreamedResponse, StreamFolder


def _eager(text: str) -> ChatMessage:
    return ChatMessage(role="assistant", blocks=[TextBlock(text=text)])


def _pair() -> tuple[ChatResponse, ChatResponse]:
    folder = StreamFolder()
    return folder.add(ChatChunk(text="Hel")), folder.add(ChatChunk(text="lo"))


def _eager_first() -> ChatResponse:
    # What the first response of _pair() is, built eagerly by the unary conversion.
    return to_chat_response(ChatResult(text="Hel"), chunk=ChatChunk(text="Hel"))


def _built_so_far(response: ChatResponse) -> dict[str, Any]:
    return object.__getattribute__(response, "__dict__")  # type: ignore[no-any-return]


READERS = [
    lambda r: r.model_dump(),
    lambda r: r.model_dump_json(),
    lambda r: repr(r).replace(type(r).__name__, "Response"),
    lambda r: str(r),
    lambda r: dict(r),
    lambda r: copy.copy(r).model_dump(),
    lambda r: copy.deepcopy(r).model_dump(),
    lambda r: r.model_copy().model_dump(),
    lambda r: pickle.loads(pickle.dumps(r)).model_dump(),  # noqa: S301
    lambda r: r.message,
    lambda r: r.message.content,
    lambda r: r.raw,
    lambda r: r.additional_kwargs,
    lambda r: r.logprobs,
    lambda r: r.delta,
    lambda r: r.model_fields_set,
    lambda r: vars(r),
    lambda r: LLMChatInProgressEvent(messages=[], response=r, span_id="s").model_dump_json()[-220:],
]


@pytest.mark.parametrize("read", READERS)
def test_lazy_response_equals_an_eager_one_through_every_entry_point(read: Any) -> None:
    first, _ = _pair()  # fresh, untouched lazy responses each time
    assert isinstance(first, StreamedResponse)
    assert set(_built_so_far(first)) == {"delta"}  # nothing but delta built yet
    assert read(first) == read(_eager_first())


def test_lazy_response_equality_both_ways() -> None:
    first, second = _pair()
    assert first == _eager_first()
    first, second = _pair()
    assert _eager_first() == first
    assert first != second
    assert second.message.content == "Hello"


def test_a_field_assigned_before_the_response_is_built_is_kept() -> None:
    first, _ = _pair()
    first.delta = "changed"
    assert first.message.content == "Hel"  # built now
    assert first.delta == "changed"
    assert list(first.__dict__) == list(_eager_first().__dict__)  # eager field order


def test_a_parent_serialises_an_untouched_response_whole() -> None:
    # What an instrumentation handler logging events as JSON sees, before anyone has read
    # the in-progress response (pydantic reads the child's fields through ``__dict__``).
    first, _ = _pair()
    event = LLMChatInProgressEvent(messages=[], response=first, span_id="s")
    assert set(_built_so_far(first)) == {"delta"}  # creating the event built nothing
    dumped = json.loads(event.model_dump_json())["response"]
    assert dumped == json.loads(_eager_first().model_dump_json())
    assert dumped["message"]["blocks"] == [{"block_type": "text", "text": "Hel"}]


def test_older_responses_built_after_newer_ones() -> None:
    first, second = _pair()
    assert second.message.content == "Hello"
    assert first.message.content == "Hel"


def test_final_response_is_built_eagerly() -> None:
    folder = StreamFolder()
    folder.add(ChatChunk(text="a", tool_calls=(ToolCallDelta(0, id="c", name="f"),)))
    last = folder.add(ChatChunk(text="b", finish_reason="stop"))
    assert type(last) is ChatResponse  # what llm_chat_callback hands to LLMChatEndEvent
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
    assert [type(ours) for ours, _ in pairs] == [StreamedResponse] * 6 + [ChatResponse]
    for ours, eager in reversed(pairs):  # older snapshots built after newer ones
        assert ours.message == eager.message
    for ours, eager in pairs:
        assert (ours.delta, ours.raw, ours.additional_kwargs) == (
            eager.delta,
            eager.raw,
            eager.additional_kwargs,
        )
        assert ours.model_dump_json() == eager.model_dump_json()


def _read_content(response: ChatResponse, barrier: threading.Barrier, seen: list[object]) -> None:
    barrier.wait()
    seen.append(response.message.content)


def test_threads_reading_one_untouched_response_all_see_it_built() -> None:
    # Every reader either builds the response or finds it built: never a half-built one.
    for _ in range(50):
        first, _ = _pair()
        barrier, seen = threading.Barrier(6), []
        threads = [
            threading.Thread(target=_read_content, args=(first, barrier, seen)) for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert seen == ["Hel"] * 6

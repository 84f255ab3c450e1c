"""StreamFolder: lazily built cumulative messages behave like ordinary ones."""

from __future__ import annotations

import copy
import pickle

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, TextBlock
from llama_index.core.instrumentation.events.llm import LLMChatInProgressEvent

from dashscope_ws.types import ChatChunk, ToolCallDelta
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

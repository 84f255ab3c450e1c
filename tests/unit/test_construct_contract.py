"""``dashscope_ws._construct`` builds framework objects with ``object.__new__``: that is only
the same as ``cls(...)``'s first step while no class in their MRO defines ``__new__``.
A framework upgrade that adds one must fail here, not silently skip it."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, TextBlock

from llamaindex_dashscope_ws._stream import StreamedResponse

CONSTRUCTED = [
    AIMessage,
    AIMessageChunk,
    ChatGeneration,
    ChatGenerationChunk,
    ChatResult,
    ChatResponse,
    ChatMessage,
    TextBlock,
    StreamedResponse,
]


@pytest.mark.parametrize("cls", CONSTRUCTED, ids=lambda c: c.__name__)
def test_constructed_classes_define_no_new(cls: type) -> None:
    assert cls.__new__ is object.__new__


def test_the_check_would_notice_a_custom_new() -> None:
    class Odd(AIMessage):
        def __new__(cls, *args: object, **kwargs: object) -> Odd:
            return super().__new__(cls)

    assert Odd.__new__ is not object.__new__

"""A blank user turn answered "Range of input length" is a bad request, not context overflow.

The service sends the same message for an empty and for an over-long input; ChatDashScope
passes its user turns to the error translation (as Tongyi and the embeddings do), in every mode.
"""

from __future__ import annotations

from typing import Any

import pytest

from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator, ScriptedReply
from langchain_dashscope_ws import ChatDashScope
from langchain_dashscope_ws.errors import BadRequestError, ContextLengthExceededError

LENGTH = "Range of input length should be [1, 129024]"


async def _run(llm: ChatDashScope, mode: str, text: str) -> Any:
    if mode == "invoke":
        return llm.invoke(text)
    if mode == "ainvoke":
        return await llm.ainvoke(text)
    if mode == "stream":
        return list(llm.stream(text))
    return [chunk async for chunk in llm.astream(text)]


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
@pytest.mark.parametrize(
    ("text", "expected"), [("   ", BadRequestError), ("a long story", ContextLengthExceededError)]
)
async def test_length_answer_maps_by_the_input(
    dashscope_emulator: Emulator, mode: str, text: str, expected: type[Exception]
) -> None:
    dashscope_emulator.enqueue(ScriptedReply(status=400, code="InvalidParameter", message=LENGTH))
    llm = ChatDashScope(
        api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=dashscope_emulator.base_url
    )
    with pytest.raises(BadRequestError) as caught:
        await _run(llm, mode, text)
    assert type(caught.value) is expected

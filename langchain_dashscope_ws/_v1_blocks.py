"""LangChain v1 standard content blocks of ChatDashScope messages.

``message_to_v1_blocks`` is registered (on import) as langchain-core's content-block
translator for ``model_provider="dashscope"``; ``_convert.py`` imports this module, so the
translator is in place whenever ChatDashScope is.
"""

from __future__ import annotations

from typing import Any, cast

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages import content as blocks
from langchain_core.messages.block_translators import register_translator

__all__ = ["PROVIDER", "message_to_v1_blocks"]

PROVIDER = "dashscope"


def message_to_v1_blocks(message: AIMessage) -> list[blocks.ContentBlock]:
    """Standard content blocks of a ChatDashScope message or stream chunk.

    Registered as langchain-core's block translator for ``model_provider="dashscope"``
    (used by ``content_blocks`` and ``output_version="v1"``). Streamed tool-call
    fragments keep DashScope's call index in a namespace of their own (``"lc_tc_0"``,
    as langchain-core's OpenAI translator does): LangChain numbers the other streamed
    blocks 0, 1, ... and merges blocks of equal index, so a bare ``0`` would merge the
    first call into the reasoning or text block before it.

    Raises:
        NotImplementedError: content that is already a list of blocks (not produced
            by ChatDashScope); langchain-core then falls back to its generic reading.
    """
    if not isinstance(message.content, str):
        raise NotImplementedError
    # Plain dicts: mypy's Python 3.10 target cannot see the blocks' optional keys.
    out: list[dict[str, Any]] = []
    reasoning = message.additional_kwargs.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        out.append({"type": "reasoning", "reasoning": reasoning})
    if message.content:
        out.append({"type": "text", "text": message.content})
    if isinstance(message, AIMessageChunk) and message.chunk_position != "last":
        for fragment in message.tool_call_chunks:
            block: dict[str, Any] = {**fragment, "type": "tool_call_chunk"}
            index = block.pop("index", None)
            if index is not None:
                block["index"] = f"lc_tc_{index}"
            out.append(block)
    else:
        out += [{**call, "type": "tool_call"} for call in message.tool_calls]
        out += [{**call, "type": "invalid_tool_call"} for call in message.invalid_tool_calls]
    return cast("list[blocks.ContentBlock]", out)


register_translator(PROVIDER, message_to_v1_blocks, message_to_v1_blocks)

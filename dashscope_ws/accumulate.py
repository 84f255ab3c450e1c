"""Fold streamed :class:`ChatChunk` deltas into one :class:`ChatResult` (pure).

LlamaIndex streams carry the cumulative message, and ``chat()`` on a
stream-only model folds a stream too; both use this one accumulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .types import ChatChunk, ChatResult, ToolCall, Usage

__all__ = ["ChatAccumulator"]


@dataclass
class _ToolCallParts:
    id: str = ""
    name: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)


class ChatAccumulator:
    """Concatenate text, reasoning and tool-call fragments (merged by index).

    ``finish_reason`` and ``usage`` come from the last chunk that had them: usage
    on the wire is already cumulative, so it is never summed.

    Example:
        >>> from dashscope_ws.types import ToolCallDelta
        >>> acc = ChatAccumulator()
        >>> acc.add(ChatChunk(tool_calls=(ToolCallDelta(0, id="c1", name="f", arguments='{"a'),)))
        >>> acc.add(ChatChunk(tool_calls=(ToolCallDelta(0, arguments='": 1}'),)))
        >>> acc.result().tool_calls[0].arguments
        '{"a": 1}'
    """

    def __init__(self) -> None:
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._tools: dict[int, _ToolCallParts] = {}
        self._finish_reason: str | None = None
        self._usage: Usage | None = None
        self._request_id: str | None = None
        self._model: str | None = None
        self._raw: dict[str, Any] = {}

    def add(self, chunk: ChatChunk) -> None:
        """Fold one chunk in."""
        if chunk.text:
            self._text.append(chunk.text)
        if chunk.reasoning:
            self._reasoning.append(chunk.reasoning)
        for delta in chunk.tool_calls:
            parts = self._tools.setdefault(delta.index, _ToolCallParts())
            if delta.id:
                parts.id = delta.id
            if delta.name:
                parts.name.append(delta.name)
            if delta.arguments:
                parts.arguments.append(delta.arguments)
        if chunk.finish_reason is not None:
            self._finish_reason = chunk.finish_reason
        if chunk.usage is not None:
            self._usage = chunk.usage
        self._request_id = chunk.request_id or self._request_id
        self._model = chunk.model or self._model
        if chunk.raw:
            self._raw = chunk.raw

    def result(self) -> ChatResult:
        """The message so far (callable at any point, not only at the end)."""
        return ChatResult(
            text="".join(self._text),
            reasoning="".join(self._reasoning),
            tool_calls=tuple(
                ToolCall(
                    id=parts.id,
                    name="".join(parts.name),
                    arguments="".join(parts.arguments),
                    index=index,
                )
                for index, parts in sorted(self._tools.items())
            ),
            finish_reason=self._finish_reason,
            usage=self._usage or Usage(),
            request_id=self._request_id,
            model=self._model,
            raw=self._raw,
        )

"""Fold streamed :class:`ChatChunk` deltas into one :class:`ChatResult` (pure).

LlamaIndex streams carry the cumulative message, and ``chat()`` on a
stream-only model folds a stream too; both use this one accumulator.

Folding is O(n) overall: :meth:`ChatAccumulator.add` only appends a chunk's pieces,
and :meth:`ChatAccumulator.result` joins just the pieces that arrived since the last
call onto the text it already built, and returns the same object again while nothing
new arrived. (Handing out the whole text after every chunk still copies it: a ``str``
is immutable. Consumers that only need the new part should read the chunk's delta.)
"""

from __future__ import annotations

from typing import Any

from .types import ChatChunk, ChatResult, ToolCall, ToolCallDelta, Usage

__all__ = ["ChatAccumulator"]

_join = "".join  # module-level so that a test can count the pieces joined


class _Text:
    """A growing string: pieces are appended in O(1) and joined once, when read."""

    __slots__ = ("_parts", "_value")

    def __init__(self) -> None:
        self._value = ""
        self._parts: list[str] = []

    def append(self, piece: str) -> None:
        self._parts.append(piece)

    @property
    def value(self) -> str:
        if self._parts:
            self._value += _join(self._parts)
            self._parts.clear()
        return self._value


class _ToolCallParts:
    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id = ""
        self.name = _Text()
        self.arguments = _Text()


class ChatAccumulator:
    """Concatenate text, reasoning and tool-call fragments (merged by index).

    ``finish_reason`` and ``usage`` come from the last chunk that had them: usage
    on the wire is already cumulative, so it is never summed.

    Example:
        >>> from dashscope_ws.types import ToolCallDelta
        >>> acc = ChatAccumulator()
        >>> first = ToolCallDelta(0, id="c1", name="f", arguments='{"a')
        >>> _ = acc.add(ChatChunk(tool_calls=(first,)))
        >>> _ = acc.add(ChatChunk(tool_calls=(ToolCallDelta(0, arguments='": 1}'),)))
        >>> acc.result().tool_calls[0].arguments
        '{"a": 1}'
    """

    def __init__(self) -> None:
        self._text = _Text()
        self._reasoning = _Text()
        self._tools: dict[int, _ToolCallParts] = {}
        self._tool_calls: tuple[ToolCall, ...] = ()
        self._tools_changed = False
        self._finish_reason: str | None = None
        self._usage: Usage | None = None
        self._request_id: str | None = None
        self._model: str | None = None
        self._raw: dict[str, Any] = {}
        self._result: ChatResult | None = None  # cached until the next add()

    def add(self, chunk: ChatChunk) -> ChatChunk:
        """Fold one chunk in (O(size of the chunk)) and return it.

        Streams call it once per chunk; returning the chunk lets them fold with
        ``map(accumulator.add, chunks)`` (no generator frame per chunk).
        """
        self._result = None
        if chunk.text:
            self._text._parts.append(chunk.text)
        if chunk.reasoning:
            self._reasoning._parts.append(chunk.reasoning)
        if chunk.tool_calls:
            self._add_tool_calls(chunk.tool_calls)
        if chunk.finish_reason is not None:
            self._finish_reason = chunk.finish_reason
        if chunk.usage is not None:
            self._usage = chunk.usage
        self._request_id = chunk.request_id or self._request_id
        self._model = chunk.model or self._model
        if chunk.raw:
            self._raw = chunk.raw
        return chunk

    def _add_tool_calls(self, deltas: tuple[ToolCallDelta, ...]) -> None:
        self._tools_changed = True
        for delta in deltas:
            parts = self._tools.get(delta.index)
            if parts is None:
                parts = self._tools[delta.index] = _ToolCallParts()
            if delta.id:
                parts.id = delta.id
            if delta.name:
                parts.name.append(delta.name)
            if delta.arguments:
                parts.arguments.append(delta.arguments)

    def result(self) -> ChatResult:
        """The message so far (callable at any point, not only at the end).

        Repeated calls without a new chunk return the same object: treat it as read-only.
        """
        if self._result is None:
            if self._tools_changed:
                self._tools_changed = False
                self._tool_calls = tuple(
                    ToolCall(
                        id=parts.id,
                        name=parts.name.value,
                        arguments=parts.arguments.value,
                        index=index,
                    )
                    for index, parts in sorted(self._tools.items())
                )
            self._result = ChatResult(
                text=self._text.value,
                reasoning=self._reasoning.value,
                tool_calls=self._tool_calls,
                finish_reason=self._finish_reason,
                usage=self._usage or Usage(),
                request_id=self._request_id,
                model=self._model,
                raw=self._raw,
            )
        return self._result

"""Streamed chunks -> cumulative ``ChatResponse`` objects in O(1) per chunk.

LlamaIndex stream responses carry the message *so far* plus ``delta``. Building that
message eagerly means re-joining the whole reply on every chunk (quadratic: 2.5 s of
CPU for a 32,000-chunk reply). Here each response gets a :class:`StreamedMessage`
that remembers how far the reply had got and builds its blocks on first use, from
fragment lists the folder shares and a join cache that extends itself, so a consumer
reading ``delta`` pays nothing and one reading ``message.content`` on every chunk pays
only for the new text. llama-index-core itself reads only ``delta`` and the last
response of a stream (``llm_chat_callback``).

The final response (the chunk with a finish reason) is built eagerly. An in-progress
message not yet touched has no ``blocks`` in its ``__dict__``: its own ``model_dump``,
``repr``, ``==``, copy and pickle build it first, but a *parent* object serialised by
pydantic (e.g. ``LLMChatInProgressEvent.model_dump()``) sees the message without blocks
until something reads ``response.message``.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    MessageRole,
)
from llama_index.core.bridge.pydantic import PrivateAttr

from dashscope_ws._construct import construct
from dashscope_ws.types import ChatChunk, ChatResult, ToolCall, Usage
from llamaindex_dashscope_ws._responses import chat_response, message_parts, usage_dict

__all__ = ["StreamFolder", "StreamedMessage"]

_ASSISTANT = MessageRole.ASSISTANT  # an Enum class attribute costs a lookup per read

# What a lazy message is built from: the folder, how many text and reasoning fragments
# and which tool calls it had got to, and the reasoning tokens then.
_Snapshot = tuple["StreamFolder", int, int, "tuple[_CallView, ...]", "int | None"]


class StreamedMessage(ChatMessage):
    """A streamed response's cumulative message, built on first use.

    Example:
        >>> folder = StreamFolder()
        >>> first, second = folder.add(ChatChunk(text="Hel")), folder.add(ChatChunk(text="lo"))
        >>> (first.message.content, second.message.content, type(first.message).__name__)
        ('Hel', 'Hello', 'StreamedMessage')
    """

    _snapshot: _Snapshot | None = PrivateAttr(default=None)

    def __getattr__(self, name: str) -> Any:
        if name in ("blocks", "additional_kwargs") and self._materialize():
            return self.__dict__[name]
        return super().__getattr__(name)  # type: ignore[misc]

    def _materialize(self) -> bool:
        private = self.__pydantic_private__
        snapshot = private.get("_snapshot") if private else None
        if snapshot is None:
            return False
        blocks, kwargs = _build(*snapshot)
        # Field order as in an eager ChatMessage, so model_dump_json matches byte for byte.
        role = self.__dict__["role"]
        object.__setattr__(
            self, "__dict__", {"role": role, "additional_kwargs": kwargs, "blocks": blocks}
        )
        private["_snapshot"] = None  # type: ignore[index]
        return True

    def __eq__(self, other: object) -> bool:
        # Equal to a plain ChatMessage with the same content (pydantic's own __eq__
        # requires the same class); Python tries this first for either operand order.
        if not isinstance(other, ChatMessage):
            return NotImplemented
        self._materialize()
        if isinstance(other, StreamedMessage):
            other._materialize()
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]


def _built_first(name: str) -> Any:
    base = getattr(ChatMessage, name)

    def method(self: StreamedMessage, *args: Any, **kwargs: Any) -> Any:
        self._materialize()
        return base(self, *args, **kwargs)

    method.__name__ = name
    return method


# Every pydantic entry point that reads __dict__ directly builds the message first.
for _name in (
    "model_dump", "model_dump_json", "model_copy", "__repr_args__", "__copy__",
    "__deepcopy__", "__getstate__", "__iter__",
):  # fmt: skip
    setattr(StreamedMessage, _name, _built_first(_name))


class _Joined:
    """Fragments of one growing string; ``upto(n)`` joins the first ``n`` (cached)."""

    __slots__ = ("_n", "_text", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self._n = 0
        self._text = ""

    def upto(self, n: int) -> str:
        if n < self._n:  # an older response read after a newer one
            return "".join(self.parts[:n])
        if n > self._n:
            self._text += "".join(self.parts[self._n : n])
            self._n = n
        return self._text


class _Call:
    __slots__ = ("arguments", "id", "index", "name")

    def __init__(self, index: int) -> None:
        self.index = index
        self.id = ""
        self.name = _Joined()
        self.arguments = _Joined()


# How far one tool call had got: the call, its id then, its name and argument counts.
_CallView = tuple[_Call, str, int, int]


def _build(
    folder: StreamFolder,
    n_text: int,
    n_reasoning: int,
    calls: tuple[_CallView, ...],
    reasoning_tokens: int | None,
) -> tuple[list[Any], dict[str, Any]]:
    """The blocks and ``additional_kwargs`` of the message a :data:`_Snapshot` describes
    (the same parts an eager reply gets: ``message_parts``)."""
    so_far = ChatResult(
        text=folder._text.upto(n_text),
        reasoning=folder._reasoning.upto(n_reasoning),
        tool_calls=tuple(
            ToolCall(call_id, call.name.upto(n_name), call.arguments.upto(n_args), call.index)
            for call, call_id, n_name, n_args in calls
        ),
        usage=Usage(reasoning_tokens=reasoning_tokens),
    )
    return message_parts(so_far)


class StreamFolder:
    """Turn streamed chunks into cumulative ``ChatResponse`` objects, O(1) per chunk.

    Shared by the sync and async stream drivers, which only differ in how they
    iterate. ``add`` runs once per chunk under every LlamaIndex stream, hence the
    straight-line code: the message is a :data:`_Snapshot` tuple (no closure), the
    tool-call view is rebuilt only by chunks that carry tool calls, and the usage
    dict only when a new ``Usage`` arrives (DashScope sends one with every event).

    Example:
        >>> folder = StreamFolder()
        >>> [folder.add(ChatChunk(text=t)).message.content for t in ("Hel", "lo")]
        ['Hel', 'Hello']
    """

    def __init__(self) -> None:
        self._text = _Joined()
        self._reasoning = _Joined()
        self._calls: dict[int, _Call] = {}
        self._call_view: tuple[_CallView, ...] = ()
        self._usage = Usage()
        self._usage_dict: dict[str, Any] = {}
        self._request_id: str | None = None
        self._model: str | None = None
        self._finish_reason: str | None = None

    def add(self, chunk: ChatChunk) -> ChatResponse:
        """Fold ``chunk`` in and return the response so far."""
        text, reasoning = chunk.text, chunk.reasoning
        text_parts, reasoning_parts = self._text.parts, self._reasoning.parts
        if text:
            text_parts.append(text)
        if reasoning:
            reasoning_parts.append(reasoning)
        if chunk.tool_calls:
            self._fold_calls(chunk)
        usage = chunk.usage
        if usage is None:
            usage = self._usage
        elif usage is not self._usage:
            self._usage = usage
            self._usage_dict = usage_dict(usage)
        request_id = self._request_id = chunk.request_id or self._request_id
        model = self._model = chunk.model or self._model
        finish = chunk.finish_reason
        if finish is not None:
            self._finish_reason = finish
        snapshot: _Snapshot = (
            self,
            len(text_parts),
            len(reasoning_parts),
            self._call_view,
            usage.reasoning_tokens,
        )
        message = construct(
            StreamedMessage,
            {"role": _ASSISTANT},
            {"role", "blocks", "additional_kwargs"},
            private={"_snapshot": snapshot},
        )
        if finish is not None:
            message._materialize()
        facts = (request_id, self._finish_reason, model, usage, self._usage_dict)
        return chat_response(message, chunk.raw, text, facts, reasoning)

    def _fold_calls(self, chunk: ChatChunk) -> None:
        for delta in chunk.tool_calls:
            call = self._calls.get(delta.index)
            if call is None:
                call = self._calls[delta.index] = _Call(delta.index)
            if delta.id:
                call.id = delta.id
            if delta.name:
                call.name.parts.append(delta.name)
            if delta.arguments:
                call.arguments.parts.append(delta.arguments)
        self._call_view = tuple(
            (c, c.id, len(c.name.parts), len(c.arguments.parts))
            for _, c in sorted(self._calls.items())
        )

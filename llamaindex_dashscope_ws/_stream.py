"""Streamed chunks -> cumulative ``ChatResponse`` objects in O(1) per chunk.

LlamaIndex stream responses carry the message *so far* plus ``delta``. Building that
message eagerly means re-joining the whole reply on every chunk (quadratic: 2.5 s of
CPU for a 32,000-chunk reply), and even built incrementally, a message, its blocks, the
``raw`` and ``additional_kwargs`` dicts and the response itself cost more per chunk than
decoding the event. So every in-progress response is a :class:`StreamedResponse`: it
holds ``delta`` and a snapshot of how far the reply had got (fragment counts into lists
the folder shares, the tool calls, the request facts), and builds everything else on
first use, from a join cache that extends itself: a consumer reading ``delta`` pays
nothing more, one reading ``message.content`` on every chunk pays only for the new text.
llama-index-core itself reads only ``delta`` and the last response of a stream
(``llm_chat_callback``).

The final response (the chunk with a finish reason) is an ordinary, eagerly built
``ChatResponse``. An in-progress one holds only ``delta`` until anything reads another
field or the fields as a whole (``__dict__``: pydantic's serialisers, also of a parent
model such as ``LLMChatInProgressEvent``, ``repr``, ``==``, copy, pickle), which builds
it; from then on it is an ordinary ``ChatResponse`` of a subclass.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import ChatResponse
from llama_index.core.bridge.pydantic import PrivateAttr

from dashscope_ws._construct import construct
from dashscope_ws.types import ChatChunk, ChatResult, ToolCall, Usage
from llamaindex_dashscope_ws._responses import chat_message, chat_response, usage_dict

__all__ = ["StreamFolder", "StreamedResponse"]

# What an in-progress response is built from: the folder; how many text and reasoning
# fragments and which tool calls it had got to; the request id, finish reason, model and
# usage then; the chunk's wire dict, text (``delta``) and reasoning (``thinking_delta``).
_Snapshot = tuple[
    "StreamFolder", int, int, "tuple[_CallView, ...]",
    "str | None", "str | None", "str | None", Usage,
    "dict[str, Any]", str, str,
]  # fmt: skip
# The fields an in-progress response builds on first read (it holds only ``delta``).
_LAZY_FIELDS = frozenset({"message", "raw", "logprobs", "additional_kwargs"})


class StreamedResponse(ChatResponse):
    """An in-progress streamed response, built on first use of anything but ``delta``.

    Example:
        >>> folder = StreamFolder()
        >>> first, second = folder.add(ChatChunk(text="Hel")), folder.add(ChatChunk(text="lo"))
        >>> (first.message.content, second.message.content, type(first).__name__)
        ('Hel', 'Hello', 'StreamedResponse')
    """

    _snapshot: _Snapshot | None = PrivateAttr(default=None)

    def __getattribute__(self, name: str) -> Any:
        # Whatever reads the fields as a whole (pydantic's serialisers, also for a parent
        # model holding this response, repr, copy, pickle, ``vars``) asks for ``__dict__``
        # by name: build first. Only that name pays more than a plain lookup.
        if name == "__dict__":
            _materialize(self)
        return _get(self, name)

    def __getattr__(self, name: str) -> Any:
        # A field missing from ``__dict__`` (not built yet) lands here.
        if name in _LAZY_FIELDS and _materialize(self):
            return _get(self, "__dict__")[name]
        return super().__getattr__(name)  # type: ignore[misc]

    def __eq__(self, other: object) -> bool:
        # Equal to a plain ChatResponse with the same content (pydantic's own __eq__
        # requires the same class); Python tries this first for either operand order.
        if not isinstance(other, ChatResponse):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]


_get = object.__getattribute__


def _materialize(response: StreamedResponse) -> bool:
    """Build ``response``'s fields from its snapshot, once; ``False`` if already built."""
    private = _get(response, "__pydantic_private__")
    snapshot = private.get("_snapshot") if private else None
    if snapshot is None:
        return False
    # The eager response's fields, in its order (model_dump_json matches byte for byte);
    # anything assigned to this one meanwhile (``delta``, say) wins. The snapshot is
    # dropped last: a thread that finds it gone finds the fields already in place.
    values = _build(*snapshot).__dict__
    values.update(_get(response, "__dict__"))
    object.__setattr__(response, "__dict__", values)
    private["_snapshot"] = None
    return True


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
    request_id: str | None,
    finish_reason: str | None,
    model: str | None,
    usage: Usage,
    raw: dict[str, Any],
    delta: str,
    thinking: str,
) -> ChatResponse:
    """The eager ``ChatResponse`` a :data:`_Snapshot` describes (the same builders as a
    unary reply: ``chat_message`` and ``chat_response``)."""
    so_far = ChatResult(
        text=folder._text.upto(n_text),
        reasoning=folder._reasoning.upto(n_reasoning),
        tool_calls=tuple(
            ToolCall(call_id, call.name.upto(n_name), call.arguments.upto(n_args), call.index)
            for call, call_id, n_name, n_args in calls
        ),
        usage=usage,
    )
    facts = (request_id, finish_reason, model, usage, usage_dict(usage))
    return chat_response(chat_message(so_far), raw, delta, facts, thinking)


class StreamFolder:
    """Turn streamed chunks into cumulative ``ChatResponse`` objects, O(1) per chunk.

    Shared by the sync and async stream drivers, which only differ in how they
    iterate. ``add`` runs once per chunk under every LlamaIndex stream, hence the
    straight-line code: an in-progress response is one object holding a :data:`_Snapshot`
    tuple, and the tool-call view is rebuilt only by chunks that carry tool calls.

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
        else:
            self._usage = usage
        finish = chunk.finish_reason
        if finish is not None:
            self._finish_reason = finish
        snapshot: _Snapshot = (
            self,
            len(text_parts),
            len(reasoning_parts),
            self._call_view,
            chunk.request_id or self._request_id,
            self._finish_reason,
            chunk.model or self._model,
            usage,
            chunk.raw,
            text,
            reasoning,
        )
        self._request_id, self._model = snapshot[4], snapshot[6]
        if finish is not None:
            return _build(*snapshot)
        return construct(
            StreamedResponse,
            {"delta": text},
            {"message", "raw", "delta", "additional_kwargs"},
            private={"_snapshot": snapshot},
        )

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

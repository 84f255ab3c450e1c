"""DashScope generation streams (pure): ``ChatStreamDecoder``, bytes in, ``ChatChunk`` out.

Framing is :mod:`dashscope_ws.events` (``SSEDecoder``/``SSEEvent``, re-exported here).
``ChatStreamDecoder`` turns events into :class:`~dashscope_ws.types.ChatChunk` deltas,
raises the mapped error for ``event:error``, raises ``APIResponseValidationError`` for an
event of the wrong shape and refuses a stream that ends before its final event (a
``finish_reason``). An error is never allowed to swallow data: when one read completes
some chunks and then an error, ``feed`` returns the chunks and the error is raised by
the next ``feed``/``close``.

Per event: the data is decoded once, parsed by the C JSON scanner, and read into one
``ChatChunk`` (and one ``Usage``) with ``raw`` the wire dict itself; shape checks are
``__class__`` comparisons. ``python bench/bench_decoder.py`` compares it with the floor of
``split`` + ``json.loads``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from ._stream_usage import stream_usage
from .errors import DashScopeError, StreamProtocolError, error_from_response
from .events import DEFAULT_MAX_LINE_BYTES, SSEDecoder, SSEEvent
from .types import ChatChunk, ToolCallDelta
from .wire import (
    ShapeError,
    error_fields,
    invalid_response,
    is_error_payload,
    json_object,
    normalise_finish_reason,
    read_tool_call,
    request_id_of,
    text_field,
)

__all__ = ["DEFAULT_MAX_LINE_BYTES", "ChatStreamDecoder", "Pulled", "SSEDecoder", "SSEEvent"]

_SNIPPET = 200


_C = TypeVar("_C")
_I = TypeVar("_I")


class DeferredErrors(Generic[_C]):
    """The error rule the stream decoders share: an error never swallows data.

    :meth:`_until_error` decodes items until one raises; the error is kept in ``_failure``
    (every later call of the decoder raises it again) and raised at once if nothing was
    decoded before it, else left for the next ``feed``/``close`` to raise.
    """

    _failure: DashScopeError | None = None

    def _until_error(self, items: Iterable[_I], decode: Callable[[_I], _C | None]) -> list[_C]:
        chunks: list[_C] = []
        for item in items:
            try:
                chunk = decode(item)
            except DashScopeError as error:
                # The server closes after an error: later events are not expected.
                self._failure = error
                if not chunks:
                    raise
                break
            if chunk is not None:
                chunks.append(chunk)
        return chunks


class ChatStreamDecoder(DeferredErrors[ChatChunk]):
    """Bytes of a generation stream in, :class:`ChatChunk` deltas out.

    Raises the mapped :class:`~dashscope_ws.errors.APIStatusError` on an error
    event, :class:`~dashscope_ws.errors.APIResponseValidationError` on an event of the
    wrong shape, and :class:`~dashscope_ws.errors.StreamProtocolError` on invalid JSON,
    an over-long line or, at :meth:`close`, when no chunk carried a ``finish_reason``.
    An error that follows chunks completed by the same :meth:`feed` is deferred: that
    call returns the chunks, the next :meth:`feed` or :meth:`close` raises. After an
    error the decoder stays failed (every later call raises it again).

    Example:
        >>> decoder = ChatStreamDecoder(model="qwen-plus")
        >>> chunks = decoder.feed(
        ...     b'data:{"output":{"choices":[{"message":{"content":"Hi"},'
        ...     b'"finish_reason":"stop"}]},"request_id":"r1"}\\n\\n'
        ... )
        >>> chunks[0].text, chunks[0].finish_reason, decoder.close()
        ('Hi', 'stop', [])
    """

    def __init__(self, *, model: str, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._model = model
        self._sse = SSEDecoder(max_line_bytes=max_line_bytes)
        self._finished = False
        self._events = 0
        self._failure = None
        # Per tool-call index: name emitted so far (to drop repeated names), and the
        # arguments of calls without an index (to turn cumulative snapshots into deltas).
        self._tool_names: dict[int, str] = {}
        self._tool_args: dict[int, str] = {}

    @property
    def finished(self) -> bool:
        """Whether a chunk with a ``finish_reason`` has been seen."""
        return self._finished

    def feed(self, data: bytes) -> list[ChatChunk]:
        """Decode ``data``; returns the chunks it completed (see the deferred error above)."""
        return self._until_error(self._blocks(data), self._block)

    def iter_feed(self, data: bytes) -> Iterator[ChatChunk]:
        """:meth:`feed`, decoding each event only when the consumer asks for the next chunk.

        Nothing is decoded ahead of the consumer (see :class:`Pulled`). An error is raised
        when the consumer reaches it, after every chunk before it; the decoder stays failed.
        """
        # C iterators, no frame of ours per event: _block records its own failure, and an
        # event without data (a comment, a retry line) decodes to None and is dropped.
        return filter(None, map(self._block, self._blocks(data)))

    def _blocks(self, data: bytes) -> list[bytes]:
        """The events ``data`` completed, still raw (bytes: the cyclic GC does not track them)."""
        if self._failure is not None:
            raise self._failure
        try:
            return self._sse.blocks(data)
        except StreamProtocolError as error:
            self._failure = error
            raise

    def close(self) -> list[ChatChunk]:
        """End of input; raises a deferred error, or if the final event never came."""
        if self._failure is None:
            try:
                self._sse.close()  # an unterminated event is discarded (WHATWG)
            except StreamProtocolError as error:
                self._failure = error
            if self._finished and self._failure is None:
                return []
            self._failure = self._failure or StreamProtocolError(
                f"stream ended before its final event ({self._events} events received)"
            )
        raise self._failure

    def _block(self, block: bytes) -> ChatChunk | None:
        """One event's chunk (``None``: no data); an error is kept: the decoder stays failed."""
        try:
            sse = self._sse
            data = sse.result_data(block)  # the common shape, without an SSEEvent
            if data is not None:
                return self._data_chunk(data, None)
            event = sse._generic_event(block)
            if event is None:
                return None
            if event.event == "error":
                self._events += 1
                data = event.data
                raise event_error(event, json_object(data) if data.strip() else {})
            return self._data_chunk(event.data, event)
        except DashScopeError as error:
            self._failure = error
            raise

    def _data_chunk(self, data: str, event: SSEEvent | None) -> ChatChunk | None:
        """The chunk of one non-error event's data (``event``: ``None`` for the fast path's
        ``result`` event under ``HTTP_STATUS/200``, built only if it turns out an error)."""
        self._events += 1
        try:
            # The C scanner behind json.loads, without its wrapper; anything unusual
            # (surrounding whitespace, trailing data, "[DONE]") takes the json.loads road.
            payload, end = _scan_once(data, 0)
            if end != len(data):
                payload = json.loads(data)
        except (StopIteration, ValueError, RecursionError):
            payload = _slow_json(data)
            if payload is _NO_DATA:
                return None
        if payload.__class__ is not dict:
            raise invalid_response("stream event is not a JSON object", data, request_id=None)
        output = payload.get("output")
        if (not output or "error" in payload) and is_error_payload(payload):
            if event is None:
                event = SSEEvent("result", data, http_status=200)
            raise event_error(event, payload)
        try:
            return self._parse(payload, output)
        except ShapeError as error:
            raise invalid_response(error, data, request_id=request_id_of(payload, None)) from None

    def _parse(self, payload: dict[str, Any], output: Any) -> ChatChunk:
        if output.__class__ is not dict:
            raise ShapeError("output is missing or not an object")
        choices = output.get("choices")
        reasoning = ""
        tool_calls: tuple[ToolCallDelta, ...] = ()
        finish = None
        if choices is None:  # result_format "text"
            text = text_field(output.get("text"), "output.text")
        elif choices.__class__ is not list:
            raise ShapeError("output.choices is not a list")
        elif not choices:
            text = ""  # e.g. a usage-only event; the final-event check still applies
        else:
            choice = choices[0]
            if choice.__class__ is not dict:
                raise ShapeError("output.choices[0] is not an object")
            message = choice.get("message")
            if message is None:
                message = choice.get("delta") or {}
            if message.__class__ is not dict:
                raise ShapeError("output.choices[0].message is not an object")
            content = message.get("content")
            text = content if content.__class__ is str else text_field(content, "content")
            reasoning = message.get("reasoning_content") or ""
            if reasoning.__class__ is not str:
                reasoning = text_field(reasoning, "reasoning_content")
            if "tool_calls" in message or "function_call" in message:
                tool_calls = self._tool_deltas(message)
            finish = choice.get("finish_reason")
        if finish.__class__ is not str or not finish or finish == "null":  # "null": generating
            finish = output.get("finish_reason")
            if finish is not None:
                finish = normalise_finish_reason(finish)
        if finish:
            self._finished = True
        usage = payload.get("usage")
        request_id = payload.get("request_id")
        return ChatChunk(
            text,
            reasoning,
            tool_calls,
            finish,
            stream_usage(usage) if usage else None,
            request_id if request_id.__class__ is str else None,
            self._model,
            payload,
        )

    def _tool_deltas(self, message: dict[str, Any]) -> tuple[ToolCallDelta, ...]:
        calls = message.get("tool_calls")
        where = "message.tool_calls"
        if calls is None:
            legacy = message.get("function_call")
            calls = [] if legacy is None else [{"index": 0, "function": legacy}]
            where = "message.function_call"
        elif calls.__class__ is not list:
            raise ShapeError(f"{where} is a {type(calls).__name__}, not a list")
        deltas: list[ToolCallDelta] = []
        for position, call in enumerate(calls):
            index, call_id, name, arguments, _ = read_tool_call(call, f"{where}[{position}]")
            has_index = index is not None
            if index is None:
                index = position
            if name is not None and name == self._tool_names.get(index):
                name = None  # repeated in every fragment/snapshot, not a delta
            elif name is not None:
                self._tool_names[index] = self._tool_names.get(index, "") + name
            if arguments and not has_index:
                # Without an index a call may be a cumulative snapshot: emit only what is new.
                # (Indexed fragments are deltas already: nothing to remember, O(1) per chunk.)
                seen = self._tool_args.get(index, "")
                if seen and arguments.startswith(seen):
                    self._tool_args[index] = arguments
                    arguments = arguments[len(seen) :]
                else:
                    self._tool_args[index] = seen + arguments
            deltas.append(
                ToolCallDelta(index=index, id=call_id, name=name, arguments=arguments or None)
            )
        return tuple(deltas)


class Pulled:
    """A :class:`ChatStreamDecoder` whose ``feed`` decodes as the consumer pulls (streams use it).

    Decoding a whole read at once (64 KiB hold ~250 events when the server is fast) keeps
    ~2,000 objects alive together; the cyclic GC then promotes them to its oldest generation
    and runs full collections of the whole heap more often. Pulled one by one, the stream
    adds no collector work of its own (``python bench/bench_scenarios.py --only b``, column
    "of which GC").
    """

    __slots__ = ("_decoder",)

    def __init__(self, decoder: ChatStreamDecoder) -> None:
        self._decoder = decoder

    def feed(self, data: bytes) -> Iterator[ChatChunk]:
        return self._decoder.iter_feed(data)

    def close(self) -> list[ChatChunk]:
        return self._decoder.close()


def event_error(event: SSEEvent, payload: dict[str, Any] | None) -> DashScopeError:
    """The typed error of an error event (``payload``: its JSON, ``None`` if not JSON).

    Shared by the chat and app stream decoders. An error reported under a 200 status still
    is a client-visible failure, so the status is at least 400.
    """
    status = event.status or event.http_status or 400
    if status < 400:
        status = 400
    if payload is None:
        return error_from_response(status, "Unknown", event.data[:1000], body=event.data)
    code, message, request_id = error_fields(payload)
    return error_from_response(status, code, message, request_id, body=payload)


_NO_DATA = object()


def _slow_json(data: str) -> Any:
    """The slow road of :meth:`ChatStreamDecoder._data_chunk`; ``_NO_DATA`` for empty/[DONE]."""
    data = data.strip()
    if not data or data == "[DONE]":
        return _NO_DATA
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise StreamProtocolError(f"invalid JSON in stream event: {data[:_SNIPPET]!r}") from None


# The C scanner json.loads itself ends in (typeshed does not declare the attribute).
_scan_once: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]

"""Pure push-parsers for DashScope server-sent events.

``SSEDecoder`` follows the WHATWG event-stream rules: lines end in ``\\n``,
``\\r\\n`` or ``\\r`` (a ``\\r\\n`` split across two reads is one line end), comments
are ignored, ``data`` lines are joined with ``\\n`` and an incomplete event at end of
input is discarded. It works on bytes: each read has its line ends normalised to
``\\n`` (two C-level ``replace`` calls, only when a ``\\r`` is present), complete events
are cut at ``b"\\n\\n"`` with ``bytes.find`` and each event is decoded from UTF-8 once,
so a character split across reads is never seen half-decoded. The search resumes where
it stopped, so a multi-megabyte line costs linear time whatever the read size.

Memory is bounded: a line or an event longer than ``max_line_bytes`` (default 16 MiB,
h11's ``max_incomplete_event_size`` idea) raises ``StreamProtocolError`` naming the limit
instead of growing the buffer until the process dies.

``ChatStreamDecoder`` turns events into :class:`~dashscope_ws.types.ChatChunk`
deltas, raises the mapped error for ``event:error``, raises
``APIResponseValidationError`` for an event of the wrong shape and refuses a stream that
ends before its final event (a ``finish_reason``). An error is never allowed to
swallow data: when one read completes some chunks and then an error, ``feed``
returns the chunks and the error is raised by the next ``feed``/``close``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import DashScopeError, StreamProtocolError, error_from_response
from .types import ChatChunk, ToolCallDelta
from .wire import (
    ShapeError,
    error_detail,
    invalid_response,
    is_error_payload,
    json_object,
    normalise_finish_reason,
    parse_usage,
    read_tool_call,
    text_field,
)

__all__ = ["DEFAULT_MAX_LINE_BYTES", "ChatStreamDecoder", "SSEDecoder", "SSEEvent"]

DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
"""Longest line, and largest single event, an ``SSEDecoder`` accepts by default."""
_BOM = b"\xef\xbb\xbf"
_STATUS_PREFIX = b"HTTP_STATUS/"
_SNIPPET = 200


@dataclass(slots=True)
class SSEEvent:
    """One dispatched server-sent event.

    ``status`` is DashScope's optional ``status:`` field and ``http_status`` the
    code from the event's ``:HTTP_STATUS/NNN`` comment; both describe the real
    status of an in-stream error (the HTTP status line already said 200).

    Example:
        >>> SSEDecoder().feed(b"event:result\\ndata:{}\\n\\n")[0].event
        'result'
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None
    status: int | None = None
    http_status: int | None = None


class SSEDecoder:
    """Bytes in, :class:`SSEEvent` out; feed it whatever the socket returns.

    Args:
        max_line_bytes: the longest line, and the largest single event, accepted;
            beyond it ``StreamProtocolError`` is raised and the buffer is dropped.

    Example:
        >>> decoder = SSEDecoder()
        >>> decoder.feed(b"data:hel")
        []
        >>> [e.data for e in decoder.feed(b"lo\\r\\n\\r\\n")]
        ['hello']
    """

    def __init__(self, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        if max_line_bytes < 1:
            raise ValueError(f"max_line_bytes must be at least 1, got {max_line_bytes}")
        self.max_line_bytes = max_line_bytes
        self._buf = bytearray()  # the current, incomplete event (line ends normalised)
        self._scan = 0  # where the next search for b"\n\n" in _buf starts
        self._pending_cr = False  # last read ended in "\r": a leading "\n" is not a new line
        self._head: bytes | None = b""  # bytes seen while a BOM may still be arriving
        self._last_id: str | None = None
        self._error: StreamProtocolError | None = None

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Decode ``data`` and return the events it completed.

        Raises:
            StreamProtocolError: a line or event exceeded ``max_line_bytes`` (when this
                read completed events first, they are returned and the next call raises).
        """
        return [event for block in self.blocks(data) if (event := self._event(block))]

    def close(self) -> list[SSEEvent]:
        """End of input: an event without its blank line is discarded (WHATWG)."""
        if self._error is not None:
            raise self._error
        self._buf = bytearray()
        self._scan = 0
        return []

    def blocks(self, data: bytes) -> list[bytes]:
        """The raw complete events (``\\n``-separated lines) that ``data`` finished."""
        if self._error is not None:
            raise self._error
        if self._head is not None:  # start of stream: drop a BOM, even one split across reads
            data = self._head + data
            if len(data) < 3 and _BOM.startswith(data):
                self._head = data
                return []
            self._head = None
            if data.startswith(_BOM):
                data = data[3:]
        if self._pending_cr:
            self._pending_cr = False
            if data[:1] == b"\n":
                data = data[1:]
        if b"\r" in data:
            self._pending_cr = data[-1:] == b"\r"
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf = self._buf
        limit = self.max_line_bytes
        text = data
        scan = 0
        if buf:
            buf += data
            scan = self._scan
            if buf.find(b"\n\n", scan) < 0:  # still inside one event: nothing to cut
                if len(buf) > limit:
                    return self._fail([])
                self._scan = len(buf) - 1
                return []
            # Events complete: work on bytes (hashable lines, one copy of consumed input).
            text = bytes(buf)
            buf.clear()
        blocks: list[bytes] = []
        start = 0
        find = text.find
        while (end := find(b"\n\n", scan)) >= 0:
            if end - start > limit:
                return self._fail(blocks)
            if end > start:
                blocks.append(text[start:end])
            start = scan = end + 2
        if len(text) - start > limit:
            return self._fail(blocks)
        if start < len(text):
            buf += text[start:] if start else text
        self._scan = len(buf) - 1 if buf else 0
        return blocks

    def _fail(self, blocks: list[bytes]) -> list[bytes]:
        self._buf = bytearray()  # release the memory now
        self._error = StreamProtocolError(
            f"stream line or event exceeds max_line_bytes={self.max_line_bytes}"
        )
        if not blocks:
            raise self._error
        return blocks

    def _event(self, block: bytes) -> SSEEvent | None:
        # Ordered for DashScope's "id / event:result / :HTTP_STATUS/200 / data" events;
        # the exact-line checks are shortcuts, the generic branch is the WHATWG rule.
        data: list[bytes] = []
        event: str | None = None
        retry = status = http_status = None
        for line in block.split(b"\n"):
            if line[:5] == b"data:":
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif line[:1] == b":":  # a comment; DashScope puts the real status in one
                code = _STATUS_COMMENTS.get(line) or _comment_status(line)
                if code is not None:
                    http_status = code
            elif line == b"event:result":
                event = "result"
            elif line[:3] == b"id:":
                value = line[4:] if line[3:4] == b" " else line[3:]
                if b"\0" not in value:
                    self._last_id = value.decode("utf-8", "replace")
            elif line:  # an empty line only occurs at the start of a block: no event
                name, colon, value = line.partition(b":")
                if colon and value[:1] == b" ":
                    value = value[1:]
                if name == b"data":
                    data.append(value)  # "data" without a colon
                elif name == b"event":
                    event = value.decode("utf-8", "replace")
                elif name == b"id":
                    if b"\0" not in value:
                        self._last_id = value.decode("utf-8", "replace")
                elif name == b"retry":
                    if value.isdigit():
                        retry = int(value)
                elif name == b"status" and value.strip().isdigit():
                    status = int(value.strip())
        if not data and not event:
            return None
        return SSEEvent(
            event or "message",
            (data[0] if len(data) == 1 else b"\n".join(data)).decode("utf-8", "replace"),
            self._last_id,
            retry,
            status,
            http_status,
        )


_NO_DATA = object()


def _slow_json(data: str) -> Any:
    """The slow road of :meth:`ChatStreamDecoder._chunk`; ``_NO_DATA`` for empty/[DONE]."""
    data = data.strip()
    if not data or data == "[DONE]":
        return _NO_DATA
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise StreamProtocolError(f"invalid JSON in stream event: {data[:_SNIPPET]!r}") from None


# The C scanner json.loads itself ends in (typeshed does not declare the attribute).
_scan_once: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_STATUS_COMMENTS = {b":HTTP_STATUS/%d" % code: code for code in range(100, 600)}


def _comment_status(line: bytes) -> int | None:
    """The code of an ``:HTTP_STATUS/NNN`` comment written some other way, else ``None``."""
    rest = line[1:].lstrip()
    digits = rest[12:15]
    if rest.startswith(_STATUS_PREFIX) and len(digits) == 3 and digits.isdigit():
        return int(digits)
    return None


class ChatStreamDecoder:
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
        self._failure: DashScopeError | None = None
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
        if self._failure is not None:
            raise self._failure
        try:
            events = self._sse.feed(data)
        except StreamProtocolError as error:
            self._failure = error
            raise
        return self._chunks(events)

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

    def _chunks(self, events: list[SSEEvent]) -> list[ChatChunk]:
        chunks: list[ChatChunk] = []
        for event in events:
            try:
                chunk = self._chunk(event)
            except DashScopeError as error:
                # The server closes after an error: later events are not expected.
                self._failure = error
                if not chunks:
                    raise
                break
            if chunk is not None:
                chunks.append(chunk)
        return chunks

    def _chunk(self, event: SSEEvent) -> ChatChunk | None:
        self._events += 1
        data = event.data
        if event.event == "error":
            raise self._error(event, json_object(data) if data.strip() else {})
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
        if (not payload.get("output") or "error" in payload) and is_error_payload(payload):
            raise self._error(event, payload)
        try:
            return self._parse(payload)
        except ShapeError as error:
            request_id = payload.get("request_id")
            raise invalid_response(
                error, data, request_id=request_id if isinstance(request_id, str) else None
            ) from None

    def _error(self, event: SSEEvent, payload: dict[str, Any] | None) -> DashScopeError:
        status = event.status or event.http_status or 400
        if status < 400:  # an error reported under a 200 status still is a client-visible failure
            status = 400
        if payload is None:
            return error_from_response(status, "Unknown", event.data[:1000], body=event.data)
        detail = error_detail(payload)
        request_id = payload.get("request_id")
        return error_from_response(
            status,
            str(detail.get("code") or "") or None,
            str(detail.get("message") or detail.get("msg") or "") or None,
            request_id if isinstance(request_id, str) else None,
            body=payload,
        )

    def _parse(self, payload: dict[str, Any]) -> ChatChunk:
        output = payload.get("output")
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
            if finish == "null":  # the wire's "still generating"
                finish = None
        if finish is None or finish.__class__ is not str or not finish:
            finish = normalise_finish_reason(output.get("finish_reason"))
        if finish:
            self._finished = True
        usage = payload.get("usage")
        request_id = payload.get("request_id")
        return ChatChunk(
            text,
            reasoning,
            tool_calls,
            finish,
            parse_usage(usage) if usage else None,
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

"""Pure push-parsers for DashScope server-sent events.

``SSEDecoder`` follows the WHATWG event-stream rules: lines end in ``\\n``,
``\\r\\n`` or ``\\r`` (a ``\\r\\n`` split across two reads is one line end), UTF-8
is decoded incrementally, comments are ignored, ``data`` lines are joined with
``\\n`` and an incomplete event at end of input is discarded. Each byte is
scanned once, so a multi-megabyte line costs linear time whatever the read size.

``ChatStreamDecoder`` turns events into :class:`~dashscope_ws.types.ChatChunk`
deltas, raises the mapped error for ``event:error`` and refuses a stream that
ends before its final event (a ``finish_reason``). An error is never allowed to
swallow data: when one read completes some chunks and then an error, ``feed``
returns the chunks and the error is raised by the next ``feed``/``close``.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import DashScopeError, StreamProtocolError, error_from_response
from .protocol import (
    content_text,
    error_detail,
    is_error_payload,
    json_object,
    normalise_finish_reason,
    parse_usage,
)
from .types import ChatChunk, ToolCallDelta

__all__ = ["ChatStreamDecoder", "SSEDecoder", "SSEEvent"]

_LINE_END = re.compile(r"\r\n|\r|\n")
_HTTP_STATUS = re.compile(r"^\s*HTTP_STATUS/(\d{3})")
_SNIPPET = 200


@dataclass(frozen=True)
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

    Example:
        >>> decoder = SSEDecoder()
        >>> decoder.feed(b"data:hel")
        []
        >>> [e.data for e in decoder.feed(b"lo\\r\\n\\r\\n")]
        ['hello']
    """

    def __init__(self) -> None:
        # utf-8-sig drops a leading BOM even when it is split across reads.
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._partial: list[str] = []  # pieces of the current, unterminated line
        self._pending_cr = False  # last read ended in "\r": a leading "\n" is not a new line
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None
        self._status: int | None = None
        self._http_status: int | None = None

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Decode ``data`` and return the events it completed."""
        return self._feed_text(self._decoder.decode(data))

    def close(self) -> list[SSEEvent]:
        """End of input: an event without its blank line is discarded (WHATWG)."""
        events = self._feed_text(self._decoder.decode(b"", final=True))
        self._partial.clear()
        self._reset_event()
        return events

    def _feed_text(self, text: str) -> list[SSEEvent]:
        if not text:
            return []
        events: list[SSEEvent] = []
        start = 0
        if self._pending_cr:
            self._pending_cr = False
            if text[0] == "\n":
                start = 1
        for match in _LINE_END.finditer(text, start):
            if self._partial:
                self._partial.append(text[start : match.start()])
                line = "".join(self._partial)
                self._partial.clear()
            else:
                line = text[start : match.start()]
            event = self._process_line(line)
            if event is not None:
                events.append(event)
            start = match.end()
        if start < len(text):
            self._partial.append(text[start:])
        elif text[-1] == "\r":
            self._pending_cr = True
        return events

    def _process_line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            status = _HTTP_STATUS.match(line[1:])
            if status:
                self._http_status = int(status.group(1))
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self._retry = int(value)
        elif name == "status" and value.strip().isdigit():
            self._status = int(value.strip())
        return None

    def _dispatch(self) -> SSEEvent | None:
        event: SSEEvent | None = None
        if self._data or self._event:
            event = SSEEvent(
                event=self._event or "message",
                data="\n".join(self._data),
                id=self._last_id,
                retry=self._retry,
                status=self._status,
                http_status=self._http_status,
            )
        self._reset_event()
        return event

    def _reset_event(self) -> None:
        self._data = []
        self._event = ""
        self._retry = None
        self._status = None
        self._http_status = None


class ChatStreamDecoder:
    """Bytes of a generation stream in, :class:`ChatChunk` deltas out.

    Raises the mapped :class:`~dashscope_ws.errors.APIStatusError` on an error
    event and :class:`~dashscope_ws.errors.StreamProtocolError` on invalid JSON
    or, at :meth:`close`, when no chunk carried a ``finish_reason``. An error that
    follows chunks completed by the same :meth:`feed` is deferred: that call returns
    the chunks, the next :meth:`feed` or :meth:`close` raises. After an error the
    decoder stays failed (every later call raises it again).

    Example:
        >>> decoder = ChatStreamDecoder(model="qwen-plus")
        >>> chunks = decoder.feed(
        ...     b'data:{"output":{"choices":[{"message":{"content":"Hi"},'
        ...     b'"finish_reason":"stop"}]},"request_id":"r1"}\\n\\n'
        ... )
        >>> chunks[0].text, chunks[0].finish_reason, decoder.close()
        ('Hi', 'stop', [])
    """

    def __init__(self, *, model: str) -> None:
        self._model = model
        self._sse = SSEDecoder()
        self._finished = False
        self._events = 0
        self._failure: DashScopeError | None = None
        # Per tool-call index: name and arguments emitted so far (to turn
        # cumulative snapshots into deltas and drop repeated names).
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
        return self._chunks(self._sse.feed(data))

    def close(self) -> list[ChatChunk]:
        """End of input; raises a deferred error, or if the final event never came."""
        if self._failure is None:
            # Only flushes an unterminated line, which WHATWG discards: no event can
            # complete here, so nothing is lost by raising below.
            chunks = self._chunks(self._sse.close())
            if self._finished and self._failure is None:
                return chunks
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
        data = event.data.strip()
        if event.event == "error":
            raise self._error(event, json_object(data) if data else {})
        if not data or data == "[DONE]":
            return None
        payload = json_object(data)
        if payload is None:
            raise StreamProtocolError(f"invalid JSON in stream event: {data[:_SNIPPET]!r}")
        if is_error_payload(payload):
            raise self._error(event, payload)
        return self._parse(payload)

    def _error(self, event: SSEEvent, payload: dict[str, Any] | None) -> DashScopeError:
        status = event.status or event.http_status or 400
        if status < 400:  # an error reported under a 200 status still is a client-visible failure
            status = 400
        if payload is None:
            return error_from_response(status, "Unknown", event.data[:1000], body=event.data)
        detail = error_detail(payload)
        return error_from_response(
            status,
            str(detail.get("code") or "") or None,
            str(detail.get("message") or detail.get("msg") or "") or None,
            payload.get("request_id"),
            body=payload,
        )

    def _parse(self, payload: dict[str, Any]) -> ChatChunk:
        output = payload.get("output")
        output = output if isinstance(output, Mapping) else {}
        choices = output.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
            choice = choices[0]
            message = choice.get("message") or choice.get("delta") or {}
            text = content_text(message.get("content"))
            finish = normalise_finish_reason(choice.get("finish_reason"))
            reasoning = message.get("reasoning_content") or ""
            tool_calls = self._tool_deltas(message)
        else:
            text = content_text(output.get("text"))
            finish = None
            reasoning, tool_calls = "", ()
        finish = finish or normalise_finish_reason(output.get("finish_reason"))
        if finish:
            self._finished = True
        usage = payload.get("usage")
        return ChatChunk(
            text=text,
            reasoning=reasoning if isinstance(reasoning, str) else "",
            tool_calls=tool_calls,
            finish_reason=finish,
            usage=parse_usage(usage) if isinstance(usage, Mapping) and usage else None,
            request_id=payload.get("request_id"),
            model=self._model,
            raw=payload,
        )

    def _tool_deltas(self, message: Mapping[str, Any]) -> tuple[ToolCallDelta, ...]:
        calls = message.get("tool_calls")
        if not isinstance(calls, list):
            legacy = message.get("function_call")
            calls = [{"index": 0, "function": legacy}] if isinstance(legacy, Mapping) else []
        deltas: list[ToolCallDelta] = []
        for position, call in enumerate(calls):
            if not isinstance(call, Mapping):
                continue
            has_index = isinstance(call.get("index"), int)
            index: int = call["index"] if has_index else position
            function = call.get("function")
            function = function if isinstance(function, Mapping) else {}
            name = function.get("name") or None
            if name is not None and name == self._tool_names.get(index):
                name = None  # repeated in every fragment/snapshot, not a delta
            elif name is not None:
                self._tool_names[index] = self._tool_names.get(index, "") + name
            arguments = function.get("arguments")
            if arguments is not None and not isinstance(arguments, str):
                arguments = json.dumps(arguments, ensure_ascii=False)
            seen = self._tool_args.get(index, "")
            if arguments and not has_index and seen and arguments.startswith(seen):
                # Cumulative snapshot (no index): emit only what is new.
                arguments = arguments[len(seen) :]
            if arguments:
                self._tool_args[index] = seen + arguments
            deltas.append(
                ToolCallDelta(
                    index=index,
                    id=call.get("id") or None,
                    name=name,
                    arguments=arguments or None,
                )
            )
        return tuple(deltas)

"""Scripted replies (fault injection) and the request log.

A :class:`ScriptedReply` replaces what the emulated model would have said, or makes the
service fail in a chosen way. Replies are consumed first-in first-out by the next request whose
endpoint kind matches. Authentication, workspace, model-permission and request validation
run *before* a scripted reply is consumed (a script models the model's output or a service
failure, not a gateway that forgot who you are): a rejected request leaves the script queued.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .behaviour import Reply

__all__ = [
    "KINDS",
    "RecordedRequest",
    "RequestLog",
    "ScriptQueue",
    "ScriptedReply",
    "scripted_reply",
]

KINDS = frozenset({"chat", "embedding", "rerank", "app", "retrieve"})


@dataclass
class ScriptedReply:
    """One scripted answer or failure for the next matching request.

    Attributes:
        text: exact reply text (chat and app endpoints).
        tool_calls: tool calls to return, each ``{"name", "arguments": str | dict, "id"?}``.
        reasoning: ``reasoning_content`` streamed/returned before the text.
        usage: overrides of the computed ``usage`` fields (final values).
        finish_reason: final ``finish_reason`` (default ``"stop"``, or ``"tool_calls"``).
        status, code, message: an HTTP error answered before any byte of the reply
            (or, with ``error_after_chunks``, the mid-stream ``event:error``).
        error_after_chunks: send this many chunks, then an ``event:error`` (streams only;
            a non-streaming request gets the error as its response).
        error_status_line: also write a ``status:<code>`` line in the error event (the 1.x
            SDK reads the status from it; the real service is not known to send one).
        drop_after_chunks: send this many chunks, then close the connection without the final
            event (a non-streaming request is dropped before any response byte).
        delay_before_first_byte: seconds to wait before answering.
        delay_between_chunks: seconds to wait between stream chunks.
        retry_after: seconds for a ``Retry-After`` header; alone it means 429
            ``Throttling.RateQuota``.
        headers: extra response headers.
        kind: ``"chat"``, ``"embedding"``, ``"rerank"``, ``"app"``, ``"retrieve"`` (knowledge
            bases) or ``None`` (any request).
        times: how many requests this reply answers.

    Example:
        >>> ScriptedReply(text="Hello!").text
        'Hello!'
        >>> ScriptedReply.error(500, "InternalError", "boom").status
        500
    """

    text: str | None = None
    tool_calls: list[Mapping[str, Any]] | None = None
    reasoning: str | None = None
    usage: Mapping[str, Any] | None = None
    finish_reason: str | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    error_after_chunks: int | None = None
    error_status_line: bool = False
    drop_after_chunks: int | None = None
    delay_before_first_byte: float = 0.0
    delay_between_chunks: float = 0.0
    retry_after: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    kind: str | None = None
    times: int = 1

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)} or None, not {self.kind!r}")
        if self.times < 1:
            raise ValueError("times must be >= 1")

    @classmethod
    def error(cls, status: int, code: str, message: str, **options: Any) -> ScriptedReply:
        """A failure answered before streaming, e.g. ``error(500, "InternalError", "boom")``."""
        return cls(status=status, code=code, message=message, **options)

    @classmethod
    def rate_limited(cls, retry_after: float | None = 1.0, **options: Any) -> ScriptedReply:
        """A 429 ``Throttling.RateQuota`` answer with an optional ``Retry-After`` header."""
        return cls(
            status=429,
            code="Throttling.RateQuota",
            message="Requests rate limit exceeded, please try again later.",
            retry_after=retry_after,
            **options,
        )

    def error_body(self) -> tuple[int, str, str] | None:
        """(status, code, message) of the scripted failure, or ``None`` if there is none."""
        if self.status is None and self.retry_after is None and self.error_after_chunks is None:
            return None
        status = self.status or (429 if self.retry_after is not None else 500)
        default_code = {
            429: "Throttling.RateQuota",
            400: "InvalidParameter",
            401: "InvalidApiKey",
            403: "AccessDenied",
            404: "NotFound",
        }.get(status, "InternalError")
        default_message = {
            "Throttling.RateQuota": "Requests rate limit exceeded, please try again later.",
            "InternalError": "An internal error has occured, please try again later or "
            "contact service support.",
        }.get(self.code or default_code, "Scripted error.")
        return status, self.code or default_code, self.message or default_message


class ScriptQueue:
    """Thread-safe FIFO of scripted replies, matched by endpoint kind.

    Example:
        >>> queue = ScriptQueue()
        >>> queue.add(ScriptedReply(text="e", kind="embedding"), ScriptedReply(text="c"))
        >>> queue.take("chat").text
        'c'
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[list[Any]] = []  # [reply, remaining uses]

    def add(self, *replies: ScriptedReply) -> None:
        with self._lock:
            self._items.extend([reply, reply.times] for reply in replies)

    def take(self, kind: str) -> ScriptedReply | None:
        with self._lock:
            for position, item in enumerate(self._items):
                reply: ScriptedReply = item[0]
                if reply.kind is None or reply.kind == kind:
                    item[1] -= 1
                    if item[1] == 0:
                        del self._items[position]
                    return reply
        return None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it.

    Attributes:
        method: HTTP method.
        path: request path (no query string), e.g. ``/api/v1/services/aigc/...``.
        headers: request headers, case-insensitive (``headers["x-dashscope-workspace"]``).
        json: the parsed JSON body, or ``None`` if there was none or it did not parse.
        started: ``time.monotonic()`` when the request arrived.
        finished: ``time.monotonic()`` when the response ended (``None`` while in flight).
        status: the HTTP status answered (``None`` while in flight or if dropped early).

    Example:
        >>> from multidict import CIMultiDict
        >>> r = RecordedRequest("POST", "/x", CIMultiDict({"A": "1"}), None, 1.0, 2.0, 200)
        >>> r.headers["a"]
        '1'
    """

    method: str
    path: str
    # Not in repr: the log must never print the Authorization header (the key).
    headers: Mapping[str, str] = field(repr=False)
    json: Any
    started: float
    finished: float | None = None
    status: int | None = None


class RequestLog:
    """Thread-safe list of :class:`RecordedRequest`, updated in place when a response ends.

    Example:
        >>> log = RequestLog()
        >>> log.open(RecordedRequest("POST", "/x", {}, None, 1.0))
        0
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RecordedRequest] = []

    def open(self, record: RecordedRequest) -> int:
        with self._lock:
            self._items.append(record)
            return len(self._items) - 1

    def close(self, index: int, opened: RecordedRequest, record: RecordedRequest) -> None:
        with self._lock:
            # A reset() while the request was in flight leaves nothing to update.
            if index < len(self._items) and self._items[index] is opened:
                self._items[index] = record

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def scripted_reply(scripted: ScriptedReply | None) -> Reply | None:
    """The answer a scripted reply dictates, or ``None`` when it leaves that to the model."""
    if scripted is None or (
        scripted.text is None and scripted.tool_calls is None and scripted.reasoning is None
    ):
        return None
    calls = []
    for call in scripted.tool_calls or []:
        arguments = call.get("arguments", "{}")
        calls.append(
            {
                "id": str(call.get("id") or f"call_{uuid.uuid4().hex[:22]}"),
                "name": str(call["name"]),
                "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
            }
        )
    finish = scripted.finish_reason or ("tool_calls" if calls else "stop")
    return Reply(
        content=scripted.text or "",
        reasoning=scripted.reasoning or "",
        tool_calls=calls,
        finish_reason=finish,
    )

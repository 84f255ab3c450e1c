"""Bailian applications (agent, RAG and workflow apps), sans-I/O: build, parse, decode, fold.

The result types and the parsing of one answer live in :mod:`dashscope_ws._app_answers`
and are re-exported here (import them from ``dashscope_ws.apps``).

Wire facts and their sources (see also ``docs/apps.md``):

* Confirmed — route ``POST {base}/api/v1/apps/{app_id}/completion`` (no ``/services/``), the
  workspace in ``X-DashScope-WorkSpace``, streaming via ``X-DashScope-SSE: enable``: official
  Application API page ("应用调用") and SDK ``dashscope/app/application.py``.
* Confirmed — body fields: ``input.prompt | messages``, ``input.session_id``, ``memory_id``,
  ``biz_params``, ``image_list``, ``file_list``, ``doc_tag_codes``, ``doc_reference_type``;
  ``parameters.has_thoughts``, ``rag_options``, ``incremental_output`` (the SDK puts every
  extra keyword, ``rag_options`` included, into ``parameters``) and a top-level ``"model": ""``
  the SDK always sends: SDK ``application.py`` (``_build_input_parameters``) and a capture.
* Confirmed — answer fields ``output.text / finish_reason / session_id / thoughts[] /
  doc_references[] / workflow_message`` and ``usage.models[]``: Application API page and SDK
  ``dashscope/app/application_response.py``.
* Assumed (parsed tolerantly) — stream chunks are whole ``output`` snapshots like the unary
  answer; ``thoughts`` / ``doc_references`` may arrive on any chunk (the last non-empty list
  wins); ``workflow_message.node_is_completed`` is a JSON boolean or a string (both seen);
  ``finish_reason`` is the string ``"null"`` while generating (as for models). Text arrives
  cumulative unless ``incremental_output`` is true (the SDK's merge logic implies it); the
  decoder turns both into deltas.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._app_answers import (
    AppChunk,
    AppResult,
    AppThought,
    DocReference,
    ModelUsage,
    WorkflowMessage,
    answer_fields,
    answer_text,
    parse_app_response,
)
from .config import ClientConfig
from .errors import StreamProtocolError
from .protocol import (
    HTTPRequest,
    is_error_payload,
    json_object,
)
from .sse import DeferredErrors, SSEDecoder, SSEEvent, event_error

__all__ = [
    "AppAccumulator",
    "AppChunk",
    "AppResult",
    "AppStreamDecoder",
    "AppThought",
    "DocReference",
    "ModelUsage",
    "WorkflowMessage",
    "app_path",
    "build_app_request",
    "parse_app_response",
]

# Bailian app ids are 32 hex characters in practice; accept any id-like token, reject anything
# that could change the URL path (assumed: the docs do not spell the alphabet out).
_APP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z")
_SNIPPET = 200


# --------------------------------------------------------------------------- requests


def app_path(app_id: str) -> str:
    """The completion path of ``app_id`` relative to ``/api/v1``; validates the id."""
    if not isinstance(app_id, str) or not _APP_ID.match(app_id):
        raise ValueError(f"invalid app_id {app_id!r}: letters, digits, '_' and '-' only")
    return f"apps/{app_id}/completion"


def build_app_request(
    config: ClientConfig,
    app_id: str,
    *,
    prompt: str | None = None,
    messages: Sequence[Mapping[str, Any]] | None = None,
    session_id: str | None = None,
    memory_id: str | None = None,
    biz_params: Mapping[str, Any] | None = None,
    rag_options: Mapping[str, Any] | None = None,
    has_thoughts: bool | None = None,
    image_list: Sequence[str] | None = None,
    file_list: Sequence[str] | None = None,
    doc_tag_codes: Sequence[str] | None = None,
    doc_reference_type: str | None = None,
    stream: bool = False,
    incremental_output: bool | None = None,
    workspace: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> HTTPRequest:
    """The HTTP request for one app call.

    ``parameters`` adds other ``parameters`` fields (``temperature``, ``top_p``, ``seed``,
    ``flow_stream_mode`` ...). Passing both ``prompt`` and ``messages`` appends the prompt as a
    last user message, as the official SDK does.

    Raises:
        ValueError: invalid ``app_id``, or neither ``prompt`` nor ``messages``.
    """
    path = app_path(app_id)
    if not prompt and not messages:
        raise ValueError("app_completion needs prompt= or messages=")
    body_input: dict[str, Any] = {}
    if messages:
        body_input["messages"] = [dict(m) for m in messages]
        if prompt:
            body_input["messages"].append({"role": "user", "content": prompt})
    else:
        body_input["prompt"] = prompt
    optional_input = {
        "session_id": session_id or None,
        "memory_id": memory_id,
        "biz_params": dict(biz_params) if biz_params else None,
        "image_list": list(image_list) if image_list else None,
        "file_list": list(file_list) if file_list else None,
        "doc_tag_codes": list(doc_tag_codes) if doc_tag_codes is not None else None,
        "doc_reference_type": doc_reference_type or None,
    }
    body_input.update({k: v for k, v in optional_input.items() if v is not None})
    wire_parameters: dict[str, Any] = dict(parameters or {})
    optional_parameters = {
        "has_thoughts": has_thoughts,
        "rag_options": dict(rag_options) if rag_options is not None else None,
        "incremental_output": incremental_output,
    }
    wire_parameters.update({k: v for k, v in optional_parameters.items() if v is not None})
    body: dict[str, Any] = {"model": "", "input": body_input, "parameters": wire_parameters}
    return HTTPRequest(
        "POST",
        config.url(path, workspace=workspace),
        config.headers(workspace=workspace, stream=stream),
        body,
    )


# --------------------------------------------------------------------------- streams


class AppStreamDecoder(DeferredErrors[AppChunk]):
    """Bytes of an app stream in, :class:`AppChunk` deltas out (``feed`` / ``close``).

    ``incremental`` says how the request asked for text: cumulative snapshots (the default)
    are turned into deltas here. If a snapshot does not extend the text so far (the service
    restarted a node's text), the whole snapshot is the delta. Raises the mapped
    :class:`~dashscope_ws.errors.APIStatusError` on an error event, and
    :class:`~dashscope_ws.errors.StreamProtocolError` for invalid JSON or, at :meth:`close`,
    when no event carried a ``finish_reason``.

    Example:
        >>> decoder = AppStreamDecoder(incremental=False)
        >>> [c.text for c in decoder.feed(b'data:{"output":{"text":"He"}}\\n\\n')]
        ['He']
        >>> [c.text for c in decoder.feed(
        ...     b'data:{"output":{"text":"Hello","finish_reason":"stop"}}\\n\\n')]
        ['llo']
        >>> decoder.close()
        []
    """

    def __init__(self, *, incremental: bool = False) -> None:
        self._incremental = incremental
        self._sse = SSEDecoder()
        self._seen = ""  # cumulative mode: the snapshot so far
        self._finished = False
        self._events = 0
        self._failure = None

    def feed(self, data: bytes) -> list[AppChunk]:
        """Decode ``data``; returns the chunks it completed."""
        if self._failure is not None:
            raise self._failure
        return self._chunks(self._sse.feed(data))

    def close(self) -> list[AppChunk]:
        """End of input; raises if the stream failed or ended before its final event."""
        if self._failure is None:
            chunks = self._chunks(self._sse.close())
            if self._finished and self._failure is None:
                return chunks
            self._failure = self._failure or StreamProtocolError(
                f"app stream ended before its final event ({self._events} events received)"
            )
        raise self._failure

    def _chunks(self, events: list[SSEEvent]) -> list[AppChunk]:
        return self._until_error(events, self._chunk)

    def _chunk(self, event: SSEEvent) -> AppChunk | None:
        self._events += 1
        data = event.data.strip()
        if event.event == "error":
            raise event_error(event, json_object(data) if data else {})
        if not data or data == "[DONE]":
            return None
        payload = json_object(data)
        if payload is None:
            raise StreamProtocolError(f"invalid JSON in app stream event: {data[:_SNIPPET]!r}")
        if is_error_payload(payload):
            raise event_error(event, payload)
        fields = answer_fields(payload)
        self._finished = self._finished or fields["finish_reason"] is not None
        return AppChunk(text=self._delta(answer_text(payload)), raw=payload, **fields)

    def _delta(self, text: str) -> str:
        if self._incremental:
            return text
        previous, self._seen = self._seen, text
        if text.startswith(previous):
            return text[len(previous) :]
        return text


class AppAccumulator:
    """Fold :class:`AppChunk` deltas into one :class:`AppResult` (O(1) per chunk).

    Example:
        >>> acc = AppAccumulator()
        >>> acc.add(AppChunk(text="He", session_id="s"))
        >>> acc.add(AppChunk(text="llo", finish_reason="stop"))
        >>> acc.result().text, acc.result().session_id
        ('Hello', 's')
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._last: dict[str, Any] = {}

    def add(self, chunk: AppChunk) -> None:
        """Take one chunk; list fields keep their last non-empty value, scalars their last."""
        self._parts.append(chunk.text)
        for name in ("session_id", "finish_reason", "workflow_message", "request_id"):
            value = getattr(chunk, name)
            if value is not None:
                self._last[name] = value
        for name in ("thoughts", "doc_references", "usage"):
            value = getattr(chunk, name)
            if value:
                self._last[name] = value
        if chunk.raw:
            self._last["raw"] = chunk.raw

    def result(self) -> AppResult:
        """The answer folded so far."""
        return AppResult(text="".join(self._parts), **self._last)

"""Bailian applications (agent, RAG and workflow apps), sans-I/O: build, parse, decode, fold.

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
from dataclasses import dataclass, field
from typing import Any

from .config import ClientConfig
from .errors import DashScopeError, StreamProtocolError, error_from_response
from .protocol import (
    HTTPRequest,
    error_detail,
    is_error_payload,
    json_object,
    load_success_body,
    normalise_finish_reason,
)
from .sse import SSEDecoder, SSEEvent

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


@dataclass(frozen=True)
class DocReference:
    """One knowledge-base passage a RAG app cited (``output.doc_references[]``).

    ``reference_index`` is the entry's 1-based position: with ``doc_reference_type="indexed"``
    the answer text cites ``[1]``, ``[2]`` ... in that order.

    Example:
        >>> DocReference(index_id="1", doc_name="Manual", text="...", reference_index=1).doc_name
        'Manual'
    """

    index_id: str | None = None
    title: str | None = None
    doc_id: str | None = None
    doc_name: str | None = None
    doc_url: str | None = None
    text: str = ""
    biz_id: str | None = None
    images: tuple[str, ...] = ()
    page_number: tuple[int, ...] = ()
    reference_index: int = 0
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AppThought:
    """One step of an app's plan (``has_thoughts=True``): retrieval, plugin call, answer.

    Example:
        >>> AppThought(action_type="api", action_name="searchDocument").action_name
        'searchDocument'
    """

    thought: str | None = None
    action_type: str | None = None
    action_name: str | None = None
    action: str | None = None
    action_input_stream: str | None = None
    action_input: Any = None
    observation: str | None = None
    response: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkflowMessage:
    """A workflow node's message (``output.workflow_message``).

    Example:
        >>> WorkflowMessage(node_id="End_1", content="done", node_is_completed=True).content
        'done'
    """

    node_id: str | None = None
    node_name: str | None = None
    node_type: str | None = None
    node_status: str | None = None
    node_is_completed: bool | None = None
    node_msg_seq_id: int | None = None
    role: str | None = None
    content: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelUsage:
    """Tokens one model behind the app used (``usage.models[]``).

    Example:
        >>> ModelUsage("qwen-plus", 10, 3).output_tokens
        3
    """

    model_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class AppResult:
    """A whole app answer.

    Example:
        >>> AppResult(text="Hi", session_id="s1").session_id
        's1'
    """

    text: str = ""
    session_id: str | None = None
    finish_reason: str | None = None
    thoughts: tuple[AppThought, ...] = ()
    doc_references: tuple[DocReference, ...] = ()
    workflow_message: WorkflowMessage | None = None
    usage: tuple[ModelUsage, ...] = ()
    request_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AppChunk:
    """One stream event of an app answer; ``text`` is always the *new* text (a delta).

    Example:
        >>> AppChunk(text="Hel").text
        'Hel'
    """

    text: str = ""
    session_id: str | None = None
    finish_reason: str | None = None
    thoughts: tuple[AppThought, ...] = ()
    doc_references: tuple[DocReference, ...] = ()
    workflow_message: WorkflowMessage | None = None
    usage: tuple[ModelUsage, ...] = ()
    request_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


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


# --------------------------------------------------------------------------- answers


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def parse_doc_references(value: Any) -> tuple[DocReference, ...]:
    """``output.doc_references`` -> typed references (non-objects are skipped)."""
    refs = []
    for position, ref in enumerate(_mappings(value), start=1):
        images = ref.get("images")
        pages = ref.get("page_number")
        refs.append(
            DocReference(
                index_id=_str(ref.get("index_id")),
                title=_str(ref.get("title")),
                doc_id=_str(ref.get("doc_id")),
                doc_name=_str(ref.get("doc_name")),
                doc_url=_str(ref.get("doc_url")),
                text=str(ref.get("text") or ""),
                biz_id=_str(ref.get("biz_id")),
                images=tuple(str(i) for i in images) if isinstance(images, list) else (),
                page_number=tuple(
                    p
                    for p in (_int(n) for n in (pages if isinstance(pages, list) else []))
                    if p is not None
                ),
                reference_index=_int(ref.get("index")) or position,
                raw=dict(ref),
            )
        )
    return tuple(refs)


def parse_thoughts(value: Any) -> tuple[AppThought, ...]:
    """``output.thoughts`` -> typed thoughts."""
    names = ("thought", "action_type", "action_name", "action", "action_input_stream")
    return tuple(
        AppThought(
            **{name: _str(item.get(name)) for name in names},
            action_input=item.get("action_input"),
            observation=_str(item.get("observation")),
            response=_str(item.get("response")),
            raw=dict(item),
        )
        for item in _mappings(value)
    )


def parse_workflow_message(value: Any) -> WorkflowMessage | None:
    """``output.workflow_message`` -> :class:`WorkflowMessage` (``None`` when absent)."""
    if not isinstance(value, Mapping):
        return None
    message = value.get("message")
    message = message if isinstance(message, Mapping) else {}
    return WorkflowMessage(
        node_id=_str(value.get("node_id")),
        node_name=_str(value.get("node_name")),
        node_type=_str(value.get("node_type")),
        node_status=_str(value.get("node_status")),
        node_is_completed=_bool(value.get("node_is_completed")),
        node_msg_seq_id=_int(value.get("node_msg_seq_id")),
        role=_str(message.get("role")),
        content=str(message.get("content") or ""),
        raw=dict(value),
    )


def parse_model_usage(value: Any) -> tuple[ModelUsage, ...]:
    """``usage.models`` -> per-model usage."""
    models = value.get("models") if isinstance(value, Mapping) else None
    return tuple(
        ModelUsage(
            _str(m.get("model_id")), _int(m.get("input_tokens")), _int(m.get("output_tokens"))
        )
        for m in _mappings(models)
    )


def _fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    output = payload.get("output")
    output = output if isinstance(output, Mapping) else {}
    return {
        "session_id": _str(output.get("session_id")),
        "finish_reason": normalise_finish_reason(output.get("finish_reason")),
        "thoughts": parse_thoughts(output.get("thoughts")),
        "doc_references": parse_doc_references(output.get("doc_references")),
        "workflow_message": parse_workflow_message(output.get("workflow_message")),
        "usage": parse_model_usage(payload.get("usage")),
        "request_id": _str(payload.get("request_id")),
    }


def _text(payload: Mapping[str, Any]) -> str:
    output = payload.get("output")
    text = output.get("text") if isinstance(output, Mapping) else None
    return text if isinstance(text, str) else ""


def parse_app_response(status: int, headers: Mapping[str, str], body: bytes) -> AppResult:
    """Parse a unary app answer.

    Raises:
        APIStatusError: the mapped subclass for an error answer (``InvalidAppId``,
            ``App.AccessDenied``, ``FlowNotPublished`` ...).
    """
    payload = load_success_body(status, headers, body)
    return AppResult(text=_text(payload), raw=payload, **_fields(payload))


# --------------------------------------------------------------------------- streams


class AppStreamDecoder:
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
        self._failure: DashScopeError | None = None

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
        chunks: list[AppChunk] = []
        for event in events:
            try:
                chunk = self._chunk(event)
            except DashScopeError as error:
                self._failure = error  # the service closes after an error
                if not chunks:
                    raise
                break
            if chunk is not None:
                chunks.append(chunk)
        return chunks

    def _chunk(self, event: SSEEvent) -> AppChunk | None:
        self._events += 1
        data = event.data.strip()
        if event.event == "error":
            raise _event_error(event, json_object(data) if data else {})
        if not data or data == "[DONE]":
            return None
        payload = json_object(data)
        if payload is None:
            raise StreamProtocolError(f"invalid JSON in app stream event: {data[:_SNIPPET]!r}")
        if is_error_payload(payload):
            raise _event_error(event, payload)
        fields = _fields(payload)
        self._finished = self._finished or fields["finish_reason"] is not None
        return AppChunk(text=self._delta(_text(payload)), raw=payload, **fields)

    def _delta(self, text: str) -> str:
        if self._incremental:
            return text
        previous, self._seen = self._seen, text
        if text.startswith(previous):
            return text[len(previous) :]
        return text


def _event_error(event: SSEEvent, payload: dict[str, Any] | None) -> DashScopeError:
    status = max(event.status or event.http_status or 400, 400)
    if payload is None:
        return error_from_response(status, "Unknown", event.data[:1000], body=event.data)
    detail = error_detail(payload)
    return error_from_response(
        status,
        _str(detail.get("code")),
        _str(detail.get("message") or detail.get("msg")),
        _str(payload.get("request_id")),
        body=payload,
    )


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

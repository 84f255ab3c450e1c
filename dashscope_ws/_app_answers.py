"""Bailian app answers (pure): the result types and the parsing of one answer's fields.

Split from :mod:`dashscope_ws.apps` (which re-exports every public name here): the types
and field readers are shared by the unary parser and the stream decoder. The wire facts and
their sources are in that module's docstring; every field is read tolerantly (a wrong type
reads as absent), as the answer shapes beyond the documented ones are assumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .wire import load_success_body, normalise_finish_reason

__all__ = [
    "AppChunk",
    "AppResult",
    "AppThought",
    "DocReference",
    "ModelUsage",
    "WorkflowMessage",
    "answer_fields",
    "answer_text",
    "parse_app_response",
    "parse_doc_references",
    "parse_model_usage",
    "parse_thoughts",
    "parse_workflow_message",
    "str_or_none",
]


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
class _AppFields:
    """The fields an app answer and each of its stream events share."""

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
class AppResult(_AppFields):
    """A whole app answer.

    Example:
        >>> AppResult(text="Hi", session_id="s1").session_id
        's1'
    """


@dataclass(frozen=True)
class AppChunk(_AppFields):
    """One stream event of an app answer; ``text`` is always the *new* text (a delta).

    Example:
        >>> AppChunk(text="Hel").text
        'Hel'
    """


# --------------------------------------------------------------------------- answers


def str_or_none(value: Any) -> str | None:
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
                index_id=str_or_none(ref.get("index_id")),
                title=str_or_none(ref.get("title")),
                doc_id=str_or_none(ref.get("doc_id")),
                doc_name=str_or_none(ref.get("doc_name")),
                doc_url=str_or_none(ref.get("doc_url")),
                text=str(ref.get("text") or ""),
                biz_id=str_or_none(ref.get("biz_id")),
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
            **{name: str_or_none(item.get(name)) for name in names},
            action_input=item.get("action_input"),
            observation=str_or_none(item.get("observation")),
            response=str_or_none(item.get("response")),
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
        node_id=str_or_none(value.get("node_id")),
        node_name=str_or_none(value.get("node_name")),
        node_type=str_or_none(value.get("node_type")),
        node_status=str_or_none(value.get("node_status")),
        node_is_completed=_bool(value.get("node_is_completed")),
        node_msg_seq_id=_int(value.get("node_msg_seq_id")),
        role=str_or_none(message.get("role")),
        content=str(message.get("content") or ""),
        raw=dict(value),
    )


def parse_model_usage(value: Any) -> tuple[ModelUsage, ...]:
    """``usage.models`` -> per-model usage."""
    models = value.get("models") if isinstance(value, Mapping) else None
    return tuple(
        ModelUsage(
            str_or_none(m.get("model_id")),
            _int(m.get("input_tokens")),
            _int(m.get("output_tokens")),
        )
        for m in _mappings(models)
    )


def answer_fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    output = payload.get("output")
    output = output if isinstance(output, Mapping) else {}
    return {
        "session_id": str_or_none(output.get("session_id")),
        "finish_reason": normalise_finish_reason(output.get("finish_reason")),
        "thoughts": parse_thoughts(output.get("thoughts")),
        "doc_references": parse_doc_references(output.get("doc_references")),
        "workflow_message": parse_workflow_message(output.get("workflow_message")),
        "usage": parse_model_usage(payload.get("usage")),
        "request_id": str_or_none(payload.get("request_id")),
    }


def answer_text(payload: Mapping[str, Any]) -> str:
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
    return AppResult(text=answer_text(payload), raw=payload, **answer_fields(payload))

"""Reading an app-completion request body (pure): what was asked, and how to answer it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .apps import Document, IndexSpec
from .behaviour import message_text
from .validate import GENERIC, MISSING_MESSAGES
from .wire import invalid

__all__ = ["AppCall", "read_app_call"]

MAX_PIPELINES = 5  # rag_options.pipeline_ids (Application API page: "最多5个")


@dataclass(frozen=True)
class AppCall:
    """The parts of an app request the emulated app acts on.

    Example:
        >>> read_app_call({"input": {"prompt": "Hi"}}, {}, None).question
        'Hi'
    """

    messages: list[Mapping[str, Any]]
    question: str
    session_id: str | None
    has_thoughts: bool
    biz_params: Any
    documents: tuple[Document, ...]
    indexed: bool
    incremental: bool


def read_app_call(
    body: Mapping[str, Any], indices: Mapping[str, IndexSpec], workspace: str | None
) -> AppCall:
    """Validate ``body`` and extract the call.

    ``rag_options.pipeline_ids`` add the documents of those knowledge bases of the caller's
    workspace (others are ignored: assumed, the service's answer is undocumented).

    Raises:
        ServiceError: 400 InvalidParameter for a missing prompt or malformed fields.
    """
    raw_input = body.get("input")
    if not isinstance(raw_input, Mapping):
        raise invalid(MISSING_MESSAGES)
    messages: Any = raw_input.get("messages")
    if isinstance(raw_input.get("prompt"), str) and raw_input["prompt"]:
        messages = [*(messages or []), {"role": "user", "content": raw_input["prompt"]}]
    if not isinstance(messages, list) or not messages:
        raise invalid(MISSING_MESSAGES)
    if not all(isinstance(m, Mapping) for m in messages):
        raise invalid(GENERIC)
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise invalid(GENERIC)
    rag_options = parameters.get("rag_options") or {}
    if not isinstance(rag_options, Mapping):
        raise invalid(GENERIC)
    pipeline_ids = rag_options.get("pipeline_ids") or []
    if not isinstance(pipeline_ids, list) or len(pipeline_ids) > MAX_PIPELINES:
        raise invalid(f"Value error, pipeline_ids should be a list of at most {MAX_PIPELINES}.")
    documents: list[Document] = []
    for pipeline_id in pipeline_ids:
        index = indices.get(str(pipeline_id))
        if index is not None and index.workspace == workspace:
            documents.extend(index.documents)
    session_id = raw_input.get("session_id")
    return AppCall(
        messages=messages,
        question=message_text(messages[-1].get("content")),
        session_id=str(session_id) if session_id else None,
        has_thoughts=parameters.get("has_thoughts") is True,
        biz_params=raw_input.get("biz_params"),
        documents=tuple(documents),
        indexed=raw_input.get("doc_reference_type") == "indexed",
        incremental=parameters.get("incremental_output") is True,
    )

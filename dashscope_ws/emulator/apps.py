"""Emulated Bailian applications: configuration, access rules, sessions and answers (pure).

Apps are configured per id (``docs/apps.md``): the workspace that owns them, a kind
(``agent``, ``rag`` or ``workflow``), documents (RAG) and whether the app is published.
Knowledge bases ("indices", answered by ``emulator/knowledge.py``) are configured the same way.

Confirmed service behaviour (Application API page, error-code page): ``403 App.AccessDenied``
"App access denied."; ``400 FlowNotPublished`` exists; the workspace header selects a
sub-workspace's apps. Assumed (the docs are silent): an unknown app id answers
``400 InvalidAppId`` "App id is invalid" (the official SDK's own test fixture), an app of
another workspace — or of a sub-workspace called without its header — answers
``App.AccessDenied``, and ``FlowNotPublished`` carries "Flow has not been published.".
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .behaviour import message_text, plan_reply
from .chat import app_body, app_payloads
from .tokenizer import count_tokens, words
from .vectors import cosine, dense_vector
from .wire import ServiceError

__all__ = [
    "APP_KINDS",
    "AppAnswer",
    "AppSessions",
    "AppSpec",
    "Document",
    "IndexSpec",
    "answer_app",
    "app_stream",
    "authorize_app",
    "default_apps",
    "default_indices",
    "parse_apps",
    "parse_indices",
    "rank",
]

APP_KINDS = frozenset({"agent", "rag", "workflow"})
APP_MODEL = "qwen-plus"  # what the emulated apps run on, reported in usage.models
VECTOR_DIMENSION = 256
MAX_SESSIONS = 1000  # remembered conversations (oldest forgotten first)
MAX_REFERENCES = 3
NOT_FOUND_TEXT = "I could not find that in the knowledge base."


@dataclass(frozen=True)
class Document:
    """One document of an emulated knowledge base or RAG app.

    Example:
        >>> Document("doc-1", "Manual", "The X1 has a 6.7 inch screen.").name
        'Manual'
    """

    doc_id: str
    name: str
    text: str
    title: str | None = None
    url: str | None = None
    images: tuple[str, ...] = ()
    page_number: int = 0


@dataclass(frozen=True)
class AppSpec:
    """One emulated app. ``workspace=None`` means the account's default workspace.

    Example:
        >>> AppSpec("rag", "ws-emu-sub").published
        True
    """

    kind: str
    workspace: str | None = None
    documents: tuple[Document, ...] = ()
    published: bool = True


@dataclass(frozen=True)
class IndexSpec:
    """One emulated knowledge base (a retrieval pipeline).

    Example:
        >>> IndexSpec("ws-emu-sub", "manual").name
        'manual'
    """

    workspace: str | None
    name: str
    documents: tuple[Document, ...] = ()


_PHONE_DOCS = (
    Document(
        "doc-emu-x1",
        "Bailian X1 phone",
        "The Bailian X1 phone has a 6.7 inch OLED screen. The Bailian X1 costs 2999 yuan. "
        "Its battery lasts two days.",
        title="Bailian X1 product introduction",
        url="https://example.invalid/x1.pdf",
        page_number=1,
    ),
    Document(
        "doc-emu-warranty",
        "Warranty policy",
        "Every Bailian phone has a two year warranty. Screen repairs are free in the first year.",
        title="Warranty",
    ),
    Document(
        "doc-emu-watch",
        "Bailian watch",
        "The Bailian watch measures heart rate and sleep. It is waterproof to 50 metres.",
        title="Bailian watch introduction",
    ),
)


def default_apps() -> dict[str, AppSpec]:
    """The apps every emulator has unless the config file lists its own."""
    return {
        "app-emu-agent": AppSpec("agent"),
        "app-emu-rag": AppSpec("rag", "ws-emu-sub", _PHONE_DOCS),
        "app-emu-flow": AppSpec("workflow", "ws-emu-sub"),
        "app-emu-draft": AppSpec("workflow", "ws-emu-sub", published=False),
        "app-emu-other": AppSpec("agent", "ws-emu-other"),
    }


def default_indices() -> dict[str, IndexSpec]:
    """The knowledge bases every emulator has unless the config file lists its own."""
    return {"idx-emu-manual": IndexSpec("ws-emu-sub", "emu-manual", _PHONE_DOCS)}


# --------------------------------------------------------------------------- config


def _documents(raw: Any, where: str) -> tuple[Document, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"{where}: documents must be a list")
    docs = []
    for number, item in enumerate(raw, start=1):
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, Mapping) or not isinstance(item.get("text"), str):
            raise ValueError(f"{where}: each document needs a 'text' string")
        doc_id = str(item.get("doc_id") or f"{where}-doc-{number}")
        images = item.get("images") or []
        docs.append(
            Document(
                doc_id=doc_id,
                name=str(item.get("name") or doc_id),
                text=item["text"],
                title=item.get("title"),
                url=item.get("url"),
                images=tuple(str(i) for i in images),
                page_number=int(item.get("page_number", 0)),
            )
        )
    return tuple(docs)


def parse_apps(raw: Mapping[str, Any]) -> dict[str, AppSpec]:
    """The ``apps`` section of an emulator config: app id -> spec."""
    apps = {}
    for app_id, item in raw.items():
        if not isinstance(item, Mapping):
            raise ValueError(f"app {app_id!r}: expected an object")
        kind = item.get("kind", "agent")
        if kind not in APP_KINDS:
            raise ValueError(f"app {app_id!r}: unknown kind {kind!r}")
        apps[str(app_id)] = AppSpec(
            kind=kind,
            workspace=item.get("workspace"),
            documents=_documents(item.get("documents"), str(app_id)),
            published=bool(item.get("published", True)),
        )
    return apps


def parse_indices(raw: Mapping[str, Any]) -> dict[str, IndexSpec]:
    """The ``indices`` section of an emulator config: pipeline id -> knowledge base."""
    indices = {}
    for index_id, item in raw.items():
        if not isinstance(item, Mapping):
            raise ValueError(f"index {index_id!r}: expected an object")
        indices[str(index_id)] = IndexSpec(
            workspace=item.get("workspace"),
            name=str(item.get("name") or index_id),
            documents=_documents(item.get("documents"), str(index_id)),
        )
    return indices


# --------------------------------------------------------------------------- rules


def authorize_app(apps: Mapping[str, AppSpec], app_id: str, workspace: str | None) -> AppSpec:
    """The app ``app_id`` if the caller's (already authenticated) workspace owns it.

    Raises:
        ServiceError: 400 InvalidAppId, 403 App.AccessDenied, 400 FlowNotPublished.
    """
    spec = apps.get(app_id)
    if spec is None:
        raise ServiceError(400, "InvalidAppId", "App id is invalid")
    if spec.workspace != workspace:
        raise ServiceError(403, "App.AccessDenied", "App access denied.")
    if not spec.published:
        raise ServiceError(400, "FlowNotPublished", "Flow has not been published.")
    return spec


class AppSessions:
    """Conversations remembered by ``session_id`` (bounded, oldest forgotten first).

    Example:
        >>> sessions = AppSessions()
        >>> sessions.add("s1", "My name is Ada.")
        >>> sessions.turns("s1")
        ['My name is Ada.']
    """

    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self._turns: OrderedDict[str, list[str]] = OrderedDict()
        self._limit = limit

    def clear(self) -> None:
        """Forget every conversation."""
        self._turns.clear()

    def turns(self, session_id: str) -> list[str]:
        """The user's earlier turns in ``session_id`` (oldest first)."""
        return list(self._turns.get(session_id, []))

    def add(self, session_id: str, user_text: str) -> None:
        """Remember one more user turn."""
        self._turns.setdefault(session_id, []).append(user_text)
        self._turns.move_to_end(session_id)
        while len(self._turns) > self._limit:
            self._turns.popitem(last=False)


# --------------------------------------------------------------------------- answers


def rank(documents: Sequence[Document], query: str) -> list[tuple[Document, float]]:
    """Documents by relevance to ``query`` (emulator embeddings), scores in (0, 1)."""
    query_vector = dense_vector(query, VECTOR_DIMENSION)
    scored = []
    for document in documents:
        similarity = cosine(query_vector, dense_vector(document.text, VECTOR_DIMENSION))
        scored.append((document, min(max((similarity + 1) / 2, 1e-6), 1 - 1e-6)))
    scored.sort(key=lambda pair: -pair[1])
    return scored


def _best_sentence(documents: Sequence[Document], query: str) -> tuple[str, int] | None:
    asked = words(query)
    best: tuple[str, int] | None = None
    best_overlap = 0
    for position, document in enumerate(documents):
        for sentence in document.text.replace("。", "。\n").replace(". ", ".\n").splitlines():
            overlap = len(asked & words(sentence))
            if overlap > best_overlap:
                best, best_overlap = (sentence.strip(), position), overlap
    return best


@dataclass(frozen=True)
class AppAnswer:
    """What an emulated app says, before it is written as a body or a stream."""

    text: str
    thoughts: list[dict[str, Any]] = field(default_factory=list)
    doc_references: list[dict[str, Any]] = field(default_factory=list)
    workflow: bool = False
    prompt_tokens: int = 0


def _reference(document: Document, index: int) -> dict[str, Any]:
    return {
        "index_id": str(index),
        "title": document.title or document.name,
        "doc_id": document.doc_id,
        "doc_name": document.name,
        "doc_url": document.url,
        "text": f"[Document Name]:{document.name}\n[Content]:{document.text}",
        "biz_id": None,
        "images": list(document.images),
        "page_number": [document.page_number],
    }


def answer_app(
    spec: AppSpec,
    messages: Sequence[Mapping[str, Any]],
    earlier_turns: Sequence[str],
    *,
    has_thoughts: bool = False,
    biz_params: Any = None,
    extra_documents: Sequence[Document] = (),
    indexed: bool = False,
    scripted_text: str | None = None,
) -> AppAnswer:
    """The app's answer to the conversation (``earlier_turns`` come from the session)."""
    question = message_text(messages[-1].get("content")) if messages else ""
    prompt_tokens = sum(count_tokens(t) for t in earlier_turns) + sum(
        count_tokens(message_text(m.get("content"))) for m in messages
    )
    references: list[dict[str, Any]] = []
    thoughts: list[dict[str, Any]] = []
    if spec.kind == "rag":
        # An index named in rag_options may hold the app's own documents: cite each once.
        pool = {d.doc_id: d for d in [*spec.documents, *extra_documents]}
        found = [d for d, score in rank(list(pool.values()), question) if score > 0.5]
        found = found[:MAX_REFERENCES]
        best = _best_sentence(found, question)
        text = NOT_FOUND_TEXT if best is None else best[0]
        if best is not None and indexed:
            text += f"<ref>[{best[1] + 1}]</ref>"
        references = [_reference(d, i) for i, d in enumerate(found, start=1)]
        thoughts.append(
            {
                "thought": "Search the knowledge base for the question.",
                "action_type": "api",
                "action_name": "searchDocument",
                "action": "searchDocument",
                "action_input_stream": question,
                "action_input": {"query": question},
                "observation": json.dumps([r["doc_name"] for r in references], ensure_ascii=False),
            }
        )
    else:
        # Earlier turns (the session's, and the user's in ``messages``) become context the
        # emulated model can quote ("What is my name?"), as an app given either remembers.
        sent = [message_text(m.get("content")) for m in messages[:-1] if m.get("role") == "user"]
        turns = [*earlier_turns, *sent]
        context = [{"role": "system", "content": " ".join(turns)}] if turns else []
        text = plan_reply(APP_MODEL, [*context, *messages], {}, thinking=False).content
        if spec.kind == "workflow" and isinstance(biz_params, Mapping) and biz_params:
            text += " biz_params: " + json.dumps(biz_params, ensure_ascii=False, sort_keys=True)
    if scripted_text is not None:
        text = scripted_text
    thoughts.append({"thought": "Answer the user.", "action_type": "response", "response": text})
    return AppAnswer(
        text=text,
        thoughts=thoughts if has_thoughts else [],
        doc_references=references,
        workflow=spec.kind == "workflow",
        prompt_tokens=prompt_tokens,
    )


def _decorate(
    body: dict[str, Any], answer: AppAnswer, *, final: bool, sequence: int
) -> dict[str, Any]:
    output = body["output"]
    if final and answer.thoughts:
        output["thoughts"] = answer.thoughts
    if final and answer.doc_references:
        output["doc_references"] = answer.doc_references
    if answer.workflow:
        output["workflow_message"] = {
            "node_id": "End_emu",
            "node_name": "End",
            "node_type": "End",
            "node_status": "success" if final else "executing",
            "node_msg_seq_id": sequence,
            "message": {"role": "assistant", "content": output["text"]},
            "node_is_completed": final,
        }
    return body


def app_answer_body(answer: AppAnswer, session_id: str, request_id: str) -> dict[str, Any]:
    """The unary answer body."""
    body = app_body(
        answer.text,
        session_id,
        APP_MODEL,
        answer.prompt_tokens,
        count_tokens(answer.text),
        "stop",
        request_id,
    )
    return _decorate(body, answer, final=True, sequence=1)


def app_stream(
    answer: AppAnswer, session_id: str, incremental: bool, request_id: str
) -> Iterator[dict[str, Any]]:
    """Stream payloads: text in cumulative or incremental form; references on the last one."""
    payloads = app_payloads(
        answer.text, session_id, APP_MODEL, answer.prompt_tokens, incremental, request_id
    )
    for sequence, body in enumerate(payloads, start=1):
        final = body["output"]["finish_reason"] == "stop"
        yield _decorate(body, answer, final=final, sequence=sequence)

"""LangChain classes over Bailian apps and knowledge bases, workspace-aware.

``ChatDashScopeApp`` is a chat model whose "model" is an app (agent, RAG or workflow) built in
the Model Studio console: messages in; the app's text out, with its ``doc_references``,
``thoughts``, ``workflow_message`` and ``session_id`` in ``response_metadata``.
``DashScopeKnowledgeBaseRetriever`` retrieves scored chunks from a knowledge base (native async).
Wire details and what is confirmed: ``docs/apps.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForLLMRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from dashscope_ws.apps import AppChunk, AppResult, DocReference, ModelUsage
from dashscope_ws.knowledge import RetrievedNode
from dashscope_ws.types import Usage
from langchain_dashscope_ws._convert import usage_to_metadata
from langchain_dashscope_ws._settings import DashScopeClientSettings, signatures_computed_once
from langchain_dashscope_ws.errors import translate_errors

__all__ = ["ChatDashScopeApp", "DashScopeKnowledgeBaseRetriever", "doc_references_to_documents"]

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}
# Keywords a single call may pass (``app.invoke(..., biz_params=...)``); the rest is refused.
_PER_CALL = frozenset(
    {
        "app_id", "session_id", "workspace", "stop", "parameters", "has_thoughts",
        "rag_options", "biz_params", "memory_id", "doc_reference_type", "image_list",
        "file_list",
    }
)  # fmt: skip


def doc_references_to_documents(references: Iterable[DocReference]) -> list[Document]:
    """An app's ``doc_references`` as LangChain ``Document``s (metadata: the source fields).

    Example:
        >>> ref = DocReference(doc_id="d1", doc_name="Manual", text="X1 costs 2999.")
        >>> doc_references_to_documents([ref])[0].metadata["doc_name"]
        'Manual'
    """
    documents = []
    for ref in references:
        metadata = {k: v for k, v in dataclasses.asdict(ref).items() if k not in ("text", "raw")}
        metadata["images"] = list(ref.images)
        metadata["page_number"] = list(ref.page_number)
        documents.append(Document(page_content=ref.text, metadata=metadata, id=ref.doc_id))
    return documents


def _wire_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    wire = []
    for message in messages:
        role = _ROLES.get(message.type)
        if role is None:
            raise ValueError(
                f"an app takes system, user and assistant messages, not {message.type!r}"
            )
        wire.append({"role": role, "content": message.text})
    return wire


def _usage(models: Sequence[ModelUsage]) -> UsageMetadata | None:
    """The app's tokens over every model it ran (per model: ``response_metadata``)."""
    if not models:
        return None
    inputs = sum(m.input_tokens or 0 for m in models)
    outputs = sum(m.output_tokens or 0 for m in models)
    return usage_to_metadata(Usage(input_tokens=inputs, output_tokens=outputs))


def _metadata(result: AppResult | AppChunk, app_id: str) -> dict[str, Any]:
    return {
        "app_id": app_id,
        "session_id": result.session_id,
        "finish_reason": result.finish_reason,
        "request_id": result.request_id,
        "doc_references": [r.raw or dataclasses.asdict(r) for r in result.doc_references],
        "thoughts": [t.raw or dataclasses.asdict(t) for t in result.thoughts],
        "workflow_message": result.workflow_message.raw if result.workflow_message else None,
        "model_usage": [dataclasses.asdict(u) for u in result.usage],
    }


@signatures_computed_once
class ChatDashScopeApp(DashScopeClientSettings, BaseChatModel):
    """A Bailian app (agent, RAG or workflow) as a LangChain chat model.

    The whole conversation is sent as ``messages`` (so ``RunnableWithMessageHistory`` and
    LangGraph keep the history), unless a ``session_id`` is in use: then only the last user
    message is sent and the service supplies the history. ``remember_session=True`` keeps the
    session id the app returns on this object; ``session_id=`` per call overrides it.
    Per call, ``has_thoughts``, ``rag_options``, ``biz_params``, ``memory_id``,
    ``doc_reference_type``, ``image_list``, ``file_list``, ``parameters`` and ``workspace`` may
    be passed too (``app.invoke(text, biz_params={...})``).

    Args:
        app_id: the app id from the console.
        session_id: continue this service-side conversation.
        remember_session: keep the returned ``session_id`` for the next calls.
        has_thoughts: ask for the app's retrieval / plugin steps (in ``response_metadata``).
        rag_options, biz_params, memory_id, doc_reference_type: as in ``app_completion``.
        api_key, workspace, base_url, ...: connection settings (the app's workspace!).

    Example:
        >>> from langchain_dashscope_ws import ChatDashScopeApp
        >>> app = ChatDashScopeApp(app_id="app-emu-rag", workspace="ws-emu-sub")  # doctest: +SKIP
        >>> reply = app.invoke("What does the X1 cost?")  # doctest: +SKIP
        >>> reply.response_metadata["doc_references"][0]["doc_name"]  # doctest: +SKIP
        'Bailian X1 phone'
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())

    app_id: str
    session_id: str | None = None
    remember_session: bool = False
    has_thoughts: bool | None = None
    rag_options: dict[str, Any] | None = None
    biz_params: dict[str, Any] | None = None
    memory_id: str | None = None
    doc_reference_type: str | None = Field(default=None, pattern="^(simple|indexed)$")
    temperature: float | None = Field(default=None, ge=0, lt=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    seed: int | None = Field(default=None, ge=0)
    max_tokens: int | None = Field(default=None, ge=1)
    """Sent as ``parameters.max_tokens`` (assumed: the app API docs list only temperature,
    top_p, top_k and seed; the SDK passes any extra keyword through to ``parameters``)."""
    streaming: bool = False
    """Make ``invoke`` stream under the hood (LangChain's convention)."""
    stop: list[str] | None = None
    """Apps have no stop sequences: a non-empty list raises ``ValueError`` on a call."""
    _session: str | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "dashscope-app"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"app_id": self.app_id, "workspace": self.workspace}

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": "DASHSCOPE_API_KEY"}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="dashscope",
            ls_model_name=str(kwargs.get("app_id") or kwargs.get("model") or self.app_id),
            ls_model_type="chat",
        )
        if self.temperature is not None:
            params["ls_temperature"] = self.temperature
        if self.max_tokens is not None:
            params["ls_max_tokens"] = self.max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    def _parameters(self, extra: Any) -> dict[str, Any] | None:
        fields = {"temperature": self.temperature, "top_p": self.top_p, "seed": self.seed}
        fields["max_tokens"] = self.max_tokens
        merged = {k: v for k, v in fields.items() if v is not None} | dict(extra or {})
        return merged or None

    def _request(self, messages: Sequence[BaseMessage], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The ``app_completion`` keywords (``app_id`` included) for one call."""
        unknown = set(kwargs) - _PER_CALL - {"model"}
        if unknown:
            raise TypeError(f"unexpected keyword arguments for an app call: {sorted(unknown)}")
        if kwargs.get("stop") or self.stop:
            raise ValueError("apps do not support stop sequences")
        session = kwargs.get("session_id") or self.session_id or self._session
        wire = _wire_messages(messages)
        request: dict[str, Any] = {
            # Per call: app_id= (or model=, LangChain's name for what a chat model runs).
            "app_id": kwargs.get("app_id") or kwargs.get("model") or self.app_id,
            "session_id": session,
            "has_thoughts": kwargs.get("has_thoughts", self.has_thoughts),
            "rag_options": kwargs.get("rag_options", self.rag_options),
            "biz_params": kwargs.get("biz_params", self.biz_params),
            "memory_id": kwargs.get("memory_id", self.memory_id),
            "doc_reference_type": kwargs.get("doc_reference_type", self.doc_reference_type),
            "image_list": kwargs.get("image_list"),
            "file_list": kwargs.get("file_list"),
            "workspace": kwargs.get("workspace"),
            "parameters": self._parameters(kwargs.get("parameters")),
        }
        if session and wire and wire[-1]["role"] == "user":
            request["prompt"] = wire[-1]["content"]  # the service holds the history
        else:
            request["messages"] = wire
        return request

    def _remember(self, session_id: str | None) -> None:
        if self.remember_session and session_id:
            self._session = session_id

    def _result(self, result: AppResult, app_id: str) -> ChatResult:
        self._remember(result.session_id)
        message = AIMessage(
            content=result.text,
            response_metadata=_metadata(result, app_id),
            usage_metadata=_usage(result.usage),
            id=result.request_id,
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, {"stop": stop, **kwargs})
        with translate_errors():
            return self._result(self._get_client().app_completion(**request), request["app_id"])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, {"stop": stop, **kwargs})
        with translate_errors():
            result = await self._get_client().aapp_completion(**request)
        return self._result(result, request["app_id"])

    def _chunk(self, chunk: AppChunk, app_id: str) -> ChatGenerationChunk:
        self._remember(chunk.session_id)
        final = chunk.finish_reason is not None
        message = AIMessageChunk(
            content=chunk.text,
            response_metadata=_metadata(chunk, app_id) if final else {},
            usage_metadata=_usage(chunk.usage) if final else None,
            chunk_position="last" if final else None,
        )
        return ChatGenerationChunk(message=message)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = self._request(messages, {"stop": stop, **kwargs})
        with translate_errors():
            stream = self._get_client().stream_app_completion(**request)
            with stream:
                for chunk in stream:
                    generation = self._chunk(chunk, request["app_id"])
                    if run_manager is not None:
                        run_manager.on_llm_new_token(chunk.text, chunk=generation)
                    yield generation

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        request = self._request(messages, {"stop": stop, **kwargs})
        # `async with`: an early stop releases the connection now, as the sync path does.
        with translate_errors():
            async with self._get_client().astream_app_completion(**request) as stream:
                async for chunk in stream:
                    generation = self._chunk(chunk, request["app_id"])
                    if run_manager is not None:
                        await run_manager.on_llm_new_token(chunk.text, chunk=generation)
                    yield generation


def _document(node: RetrievedNode) -> Document:
    return Document(
        page_content=node.text, metadata={**node.metadata, "score": node.score}, id=node.node_id
    )


class DashScopeKnowledgeBaseRetriever(DashScopeClientSettings, BaseRetriever):
    """A Bailian knowledge base as a LangChain retriever (sync and native async).

    Give ``index_id`` (the pipeline id) or ``index_name`` (looked up once, then cached).
    Documents carry the chunk's metadata plus ``score``.

    Example:
        >>> from langchain_dashscope_ws import DashScopeKnowledgeBaseRetriever
        >>> kb = DashScopeKnowledgeBaseRetriever(
        ...     index_name="emu-manual", workspace="ws-emu-sub", top_k=3)  # doctest: +SKIP
        >>> kb.invoke("warranty")[0].metadata["score"]  # doctest: +SKIP
        0.71
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    index_id: str | None = None
    index_name: str | None = None
    top_k: int | None = Field(default=5, ge=1)
    dense_similarity_top_k: int | None = Field(default=None, ge=0, le=100)
    sparse_similarity_top_k: int | None = Field(default=None, ge=0, le=100)
    enable_reranking: bool | None = None
    rerank_model: str | None = None
    rerank_top_n: int | None = Field(default=None, ge=1)
    rerank_min_score: float | None = None
    _resolved: str | None = PrivateAttr(default=None)

    def _options(self) -> dict[str, Any]:
        if not self.index_id and not self.index_name:
            raise ValueError("give index_id or index_name")
        names = (
            "top_k", "dense_similarity_top_k", "sparse_similarity_top_k", "enable_reranking",
            "rerank_model", "rerank_top_n", "rerank_min_score",
        )  # fmt: skip
        return {name: getattr(self, name) for name in names}

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        options = self._options()
        client = self._get_client()
        with translate_errors():
            index_id = self.index_id or self._resolved
            if index_id is None:
                index_id = self._resolved = client.pipeline_id(str(self.index_name))
            nodes = client.retrieve(index_id, query, **options)
        return [_document(node) for node in nodes]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        options = self._options()
        client = self._get_client()
        with translate_errors():
            index_id = self.index_id or self._resolved
            if index_id is None:
                index_id = self._resolved = await client.apipeline_id(str(self.index_name))
            nodes = await client.aretrieve(index_id, query, **options)
        return [_document(node) for node in nodes]

"""LlamaIndex classes over Bailian apps and knowledge bases, workspace-aware.

``DashScopeAppQueryEngine`` asks an app (agent, RAG or workflow): the answer is the app's
text, ``source_nodes`` are its ``doc_references``. ``DashScopeKnowledgeBaseRetriever``
retrieves scored chunks from a knowledge base with native async, so it drops into
``RetrieverQueryEngine`` next to our ``DashScopeRerank``. LlamaIndex's query engines and
retrievers are not pydantic models, so the connection settings live in a small settings
object (:class:`AppConnection`) each instance owns. Wire details: ``docs/apps.md``.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import (
    RESPONSE_TYPE,
    AsyncStreamingResponse,
    Response,
    StreamingResponse,
)
from llama_index.core.callbacks import CallbackManager
from llama_index.core.prompts.mixin import PromptMixinType
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from dashscope_ws._adapter_settings import check_arguments
from dashscope_ws._closeable import Closeable
from dashscope_ws.apps import AppAccumulator, AppResult, DocReference
from dashscope_ws.client import DashScopeClient
from dashscope_ws.knowledge import RetrievedNode
from llamaindex_dashscope_ws._settings import DashScopeClientSettings

__all__ = [
    "AppConnection",
    "DashScopeAppQueryEngine",
    "DashScopeKnowledgeBaseRetriever",
    "doc_references_to_nodes",
]


class AppConnection(DashScopeClientSettings):
    """Connection settings and the cached client of one app engine or retriever.

    Example:
        >>> AppConnection(api_key="sk-x", workspace="ws-1").workspace
        'ws-1'
    """

    def __init__(self, *, owner: Any = None, **data: Any) -> None:
        # Errors name the engine the connection settings were given to (and may suggest
        # one of its own parameters, for a misspelt one).
        if owner is not None:
            hints = inspect.signature(owner).parameters
            check_arguments(owner.__name__, data, self._arguments(), hints=hints)
        super().__init__(**data)

    def client(self) -> DashScopeClient:
        """The core client for these settings (built on first use)."""
        return self._get_client()


class _Owned(Closeable):
    """``close`` / ``aclose`` (and ``with`` / ``async with``) over the :class:`AppConnection`."""

    connection: AppConnection

    def close(self) -> None:
        """Release the connection pools (the object stays usable)."""
        self.connection.close()

    async def aclose(self) -> None:
        """Async :meth:`close`."""
        await self.connection.aclose()


def doc_references_to_nodes(references: tuple[DocReference, ...]) -> list[NodeWithScore]:
    """An app's ``doc_references`` as source nodes (no score: the app reports none)."""
    nodes = []
    for ref in references:
        metadata = {k: v for k, v in dataclasses.asdict(ref).items() if k not in ("text", "raw")}
        metadata["images"] = list(ref.images)
        metadata["page_number"] = list(ref.page_number)
        node = TextNode(text=ref.text, id_=ref.doc_id or None, metadata=metadata)
        nodes.append(NodeWithScore(node=node, score=None))
    return nodes


def _metadata(result: AppResult) -> dict[str, Any]:
    return {
        "session_id": result.session_id,
        "request_id": result.request_id,
        "thoughts": [t.raw for t in result.thoughts],
        "workflow_message": result.workflow_message.raw if result.workflow_message else None,
        "model_usage": [dataclasses.asdict(u) for u in result.usage],
    }


_DOC_REFERENCE_TYPES = ("simple", "indexed")


# The app options both engines take (ChatDashScopeApp's, which also takes them per call).
APP_OPTIONS = (
    "has_thoughts", "rag_options", "biz_params", "memory_id", "doc_reference_type",
    "image_list", "file_list", "parameters",
)  # fmt: skip


def app_options(scope: Mapping[str, Any]) -> dict[str, Any]:
    """The ``app_completion`` keywords an app engine sends with every call, picked from its
    constructor's ``locals()`` and checked as LangChain's ``ChatDashScopeApp`` checks them.

    Example:
        >>> app_options({"memory_id": "m1", "self": None})["memory_id"]
        'm1'
        >>> app_options({"doc_reference_type": "full"})
        Traceback (most recent call last):
        ...
        ValueError: doc_reference_type must be 'simple' or 'indexed', not 'full'
    """
    options = {name: scope.get(name) for name in APP_OPTIONS}
    kind = options["doc_reference_type"]
    if kind is not None and kind not in _DOC_REFERENCE_TYPES:
        raise ValueError(f"doc_reference_type must be 'simple' or 'indexed', not {kind!r}")
    return options


class DashScopeAppQueryEngine(_Owned, BaseQueryEngine):
    """A Bailian app as a LlamaIndex query engine.

    ``Response.source_nodes`` are the app's ``doc_references``; ``Response.metadata`` holds
    ``session_id``, ``thoughts``, ``workflow_message``, per-model usage and ``request_id``.
    With ``remember_session=True`` each query continues the app's last session.

    Args:
        app_id: the app id from the console.
        streaming: ``query`` returns a ``StreamingResponse`` (sources filled at the end).
        session_id: continue this service-side conversation.
        remember_session: keep the returned ``session_id`` for the next queries.
        has_thoughts, rag_options, biz_params, memory_id, doc_reference_type, image_list,
            file_list, parameters: sent with every query, as in
            ``DashScopeClient.app_completion`` (``parameters``: ``temperature``, ``top_p``,
            ``seed``, ...).
        api_key, workspace, base_url, ...: connection settings (the app's workspace).

    Example:
        >>> from llamaindex_dashscope_ws import DashScopeAppQueryEngine
        >>> engine = DashScopeAppQueryEngine(
        ...     app_id="app-emu-rag", workspace="ws-emu-sub")  # doctest: +SKIP
        >>> response = engine.query("What does the X1 cost?")  # doctest: +SKIP
        >>> response.source_nodes[0].node.metadata["doc_name"]  # doctest: +SKIP
        'Bailian X1 phone'
    """

    def __init__(
        self,
        app_id: str,
        *,
        streaming: bool = False,
        session_id: str | None = None,
        remember_session: bool = False,
        has_thoughts: bool | None = None,
        rag_options: dict[str, Any] | None = None,
        biz_params: dict[str, Any] | None = None,
        memory_id: str | None = None,
        doc_reference_type: str | None = None,
        image_list: list[str] | None = None,
        file_list: list[str] | None = None,
        parameters: dict[str, Any] | None = None,
        callback_manager: CallbackManager | None = None,
        **connection: Any,
    ) -> None:
        super().__init__(callback_manager)
        self._options = app_options(locals())
        self.connection = AppConnection(owner=type(self), **connection)
        self.app_id = app_id
        self.streaming = streaming
        self.session_id = session_id
        self.remember_session = remember_session

    def _get_prompt_modules(self) -> PromptMixinType:
        return {}

    def _request(self, query_bundle: QueryBundle) -> dict[str, Any]:
        return {"prompt": query_bundle.query_str, "session_id": self.session_id, **self._options}

    def _response(self, result: AppResult) -> Response:
        if self.remember_session and result.session_id:
            self.session_id = result.session_id
        return Response(
            response=result.text,
            source_nodes=doc_references_to_nodes(result.doc_references),
            metadata=_metadata(result),
        )

    def _finish(
        self, accumulator: AppAccumulator, sources: list[NodeWithScore], metadata: dict[str, Any]
    ) -> None:
        """A finished stream's source nodes and metadata, filled into the response's containers.

        Filled in place: the streaming response object already holds these containers.
        """
        final = self._response(accumulator.result())
        sources.extend(final.source_nodes)
        metadata.update(final.metadata or {})

    def _query(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        client = self.connection.client()
        if not self.streaming:
            return self._response(client.app_completion(self.app_id, **self._request(query_bundle)))
        sources: list[NodeWithScore] = []
        metadata: dict[str, Any] = {}

        def texts() -> Generator[str, None, None]:
            accumulator = AppAccumulator()
            with client.stream_app_completion(self.app_id, **self._request(query_bundle)) as stream:
                for chunk in stream:
                    accumulator.add(chunk)
                    yield chunk.text
            self._finish(accumulator, sources, metadata)

        return StreamingResponse(response_gen=texts(), source_nodes=sources, metadata=metadata)

    async def _aquery(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        client = self.connection.client()
        if not self.streaming:
            result = await client.aapp_completion(self.app_id, **self._request(query_bundle))
            return self._response(result)
        sources: list[NodeWithScore] = []
        metadata: dict[str, Any] = {}

        async def texts() -> AsyncGenerator[str, None]:
            accumulator = AppAccumulator()
            stream = client.astream_app_completion(self.app_id, **self._request(query_bundle))
            async with stream:  # an early stop releases the connection now, as in sync
                async for chunk in stream:
                    accumulator.add(chunk)
                    yield chunk.text
            self._finish(accumulator, sources, metadata)

        return AsyncStreamingResponse(response_gen=texts(), source_nodes=sources, metadata=metadata)


def _node(node: RetrievedNode) -> NodeWithScore:
    return NodeWithScore(
        node=TextNode(text=node.text, id_=node.node_id or None, metadata=dict(node.metadata)),
        score=node.score,
    )


class DashScopeKnowledgeBaseRetriever(_Owned, BaseRetriever):
    """A Bailian knowledge base as a LlamaIndex retriever (sync and native async).

    Give ``index_id`` (the pipeline id) or ``index_name`` (looked up once, then cached).

    Args:
        index_id: the knowledge base's pipeline id.
        index_name: its name instead of the id.
        top_k, dense_similarity_top_k, sparse_similarity_top_k, enable_reranking,
            rerank_model, rerank_top_n, rerank_min_score: as in ``DashScopeClient.retrieve``.
        api_key, workspace, base_url, ...: connection settings (the index's workspace).

    Example:
        >>> from llama_index.core.query_engine import RetrieverQueryEngine
        >>> from llamaindex_dashscope_ws import DashScopeKnowledgeBaseRetriever, DashScopeRerank
        >>> retriever = DashScopeKnowledgeBaseRetriever(
        ...     index_name="emu-manual", workspace="ws-emu-sub", top_k=10)  # doctest: +SKIP
        >>> engine = RetrieverQueryEngine.from_args(
        ...     retriever, node_postprocessors=[DashScopeRerank(top_n=3)])  # doctest: +SKIP
    """

    def __init__(
        self,
        index_id: str | None = None,
        *,
        index_name: str | None = None,
        top_k: int | None = 5,
        dense_similarity_top_k: int | None = None,
        sparse_similarity_top_k: int | None = None,
        enable_reranking: bool | None = None,
        rerank_model: str | None = None,
        rerank_top_n: int | None = None,
        rerank_min_score: float | None = None,
        callback_manager: CallbackManager | None = None,
        **connection: Any,
    ) -> None:
        if not index_id and not index_name:
            raise ValueError("give index_id or index_name")
        super().__init__(callback_manager)
        self.connection = AppConnection(owner=type(self), **connection)
        self.index_id = index_id
        self.index_name = index_name
        self._options: dict[str, Any] = {
            "top_k": top_k,
            "dense_similarity_top_k": dense_similarity_top_k,
            "sparse_similarity_top_k": sparse_similarity_top_k,
            "enable_reranking": enable_reranking,
            "rerank_model": rerank_model,
            "rerank_top_n": rerank_top_n,
            "rerank_min_score": rerank_min_score,
        }

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        client = self.connection.client()
        if self.index_id is None:
            self.index_id = client.pipeline_id(str(self.index_name))
        nodes = client.retrieve(self.index_id, query_bundle.query_str, **self._options)
        return [_node(node) for node in nodes]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        client = self.connection.client()
        if self.index_id is None:
            self.index_id = await client.apipeline_id(str(self.index_name))
        nodes = await client.aretrieve(self.index_id, query_bundle.query_str, **self._options)
        return [_node(node) for node in nodes]

"""LlamaIndex node postprocessor backed by DashScope rerank models.

Emits the same events as llama-index's own rerankers: ``ReRankStartEvent`` /
``ReRankEndEvent`` through the instrumentation dispatcher, and a
``CBEventType.RERANKING`` callback event around the request. The chosen model is
always the one called; errors propagate as the core's typed exceptions.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.bridge.pydantic import Field
from llama_index.core.callbacks import CBEventType, EventPayload

# Re-exported without __all__ by llama-index-core, hence the ignore.
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from dashscope_ws.types import RerankResult
from llamaindex_dashscope_ws._settings import DashScopeClientSettings

__all__ = ["DashScopeRerank"]

dispatcher = get_dispatcher(__name__)


class DashScopeRerank(DashScopeClientSettings, BaseNodePostprocessor):
    """Rerank retrieved nodes with a DashScope rerank model.

    Returns at most ``top_n`` nodes, most relevant first, each a new ``NodeWithScore``
    whose ``score`` is the rerank ``relevance_score``.

    Args:
        model: rerank model, e.g. ``"gte-rerank-v2"`` or ``"qwen3-rerank"``.
        top_n: how many nodes to keep.
        instruct: custom task instruction, where the model supports one.
        keep_retrieval_score: copy the retriever's score into
            ``node.metadata["retrieval_score"]`` before replacing it.
        api_key, workspace, base_url, region, workspace_in_host, timeout, connect_timeout,
            max_retries, allow_insecure_http: as for
            :class:`~llamaindex_dashscope_ws.DashScopeEmbedding`.

    Example:
        >>> from llamaindex_dashscope_ws import DashScopeRerank
        >>> rerank = DashScopeRerank(model="gte-rerank-v2", top_n=2, workspace="ws-emu-sub")
        >>> engine = index.as_query_engine(
        ...     similarity_top_k=6, node_postprocessors=[rerank]
        ... )  # doctest: +SKIP
        >>> nodes = rerank.postprocess_nodes(
        ...     retrieved, query_str="capital of France"
        ... )  # doctest: +SKIP
    """

    model: str = Field(default="gte-rerank-v2", description="Rerank model.")
    top_n: int = Field(default=3, ge=1, description="Number of nodes to return.")
    instruct: str | None = Field(default=None, description="Custom task instruction.")
    keep_retrieval_score: bool = Field(
        default=False, description="Keep the retrieval score in metadata['retrieval_score']."
    )
    return_documents: bool = Field(
        default=False,
        description="Accepted for llama-index-postprocessor-dashscope-rerank code: the nodes "
        "are returned either way, so the service is never asked to echo the texts.",
    )

    @classmethod
    def class_name(cls) -> str:
        """Name used in LlamaIndex serialisation."""
        return "DashScopeRerank"

    def _start(self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None) -> QueryBundle:
        dispatcher.event(
            ReRankStartEvent(
                query=query_bundle, nodes=nodes, top_n=self.top_n, model_name=self.model
            )
        )
        if query_bundle is None:
            raise ValueError("DashScopeRerank needs a query: pass query_str or query_bundle.")
        return query_bundle

    def _payload(self, nodes: list[NodeWithScore], query: QueryBundle) -> dict[str, Any]:
        return {
            EventPayload.NODES: nodes,
            EventPayload.MODEL_NAME: self.model,
            EventPayload.QUERY_STR: query.query_str,
            EventPayload.TOP_K: self.top_n,
        }

    def _request(self, nodes: list[NodeWithScore], query: QueryBundle) -> dict[str, Any]:
        texts = [n.node.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
        return {
            "query": query.query_str,
            "documents": texts,
            "model": self.model,
            "top_n": min(self.top_n, len(texts)),
            "instruct": self.instruct,
        }

    def _ranked(self, nodes: list[NodeWithScore], result: RerankResult) -> list[NodeWithScore]:
        ranked = []
        for item in sorted(result.results, key=lambda i: i.relevance_score, reverse=True):
            source = nodes[item.index]
            if self.keep_retrieval_score:
                source.node.metadata["retrieval_score"] = source.score
            ranked.append(NodeWithScore(node=source.node, score=item.relevance_score))
        return ranked[: self.top_n]

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        query = self._start(nodes, query_bundle)
        ranked: list[NodeWithScore] = []
        if nodes:
            with self.callback_manager.event(
                CBEventType.RERANKING, payload=self._payload(nodes, query)
            ) as event:
                ranked = self._ranked(
                    nodes, self._get_client().rerank(**self._request(nodes, query))
                )
                event.on_end(payload={EventPayload.NODES: ranked})
        dispatcher.event(ReRankEndEvent(nodes=ranked))
        return ranked

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        query = self._start(nodes, query_bundle)
        ranked: list[NodeWithScore] = []
        if nodes:
            with self.callback_manager.event(
                CBEventType.RERANKING, payload=self._payload(nodes, query)
            ) as event:
                result = await self._get_client().arerank(**self._request(nodes, query))
                ranked = self._ranked(nodes, result)
                event.on_end(payload={EventPayload.NODES: ranked})
        dispatcher.event(ReRankEndEvent(nodes=ranked))
        return ranked

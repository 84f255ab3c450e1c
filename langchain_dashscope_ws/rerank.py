"""LangChain document compressor backed by DashScope rerank models.

The chosen model is always the one called (``gte-rerank-v2`` on the native rerank
endpoint, ``qwen3-rerank`` on the compatible one: the core routes by model). Errors
propagate as typed exceptions instead of the ``AttributeError`` older integrations
raised on any API failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field

from dashscope_ws.types import RerankResult
from langchain_dashscope_ws._settings import DashScopeClientSettings
from langchain_dashscope_ws.errors import translate_errors

__all__ = ["DashScopeRerank"]


class DashScopeRerank(DashScopeClientSettings, BaseDocumentCompressor):
    """Rerank retrieved documents with a DashScope rerank model.

    Returned documents are copies of the inputs, most relevant first, with the score in
    ``metadata["relevance_score"]``; use it as the compressor of a
    ``ContextualCompressionRetriever`` (``langchain-classic``) or after any retriever.

    Args:
        model: rerank model, e.g. ``"gte-rerank-v2"`` or ``"qwen3-rerank"``.
        top_n: how many documents to keep (``None`` keeps all, reordered).
        instruct: custom task instruction, where the model supports one.
        api_key, workspace, base_url, region, workspace_in_host, timeout, connect_timeout,
            max_retries, allow_insecure_http: as for
            :class:`~langchain_dashscope_ws.DashScopeEmbeddings`.

    Example:
        >>> from langchain_core.documents import Document
        >>> from langchain_dashscope_ws import DashScopeRerank
        >>> rerank = DashScopeRerank(model="gte-rerank-v2", top_n=2,
        ...                          workspace="ws-emu-sub")  # doctest: +SKIP
        >>> docs = [Document(page_content="杭州是浙江省的省会"),
        ...         Document(page_content="Paris is the capital of France")]
        >>> best = rerank.compress_documents(docs, "capital of France?")  # doctest: +SKIP
        >>> [d.metadata["relevance_score"] for d in best]  # doctest: +SKIP
        [0.83, 0.12]
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())

    model: str = "gte-rerank-v2"
    top_n: int | None = Field(default=3, ge=1)
    instruct: str | None = None

    def _options(self, count: int, workspace: str | None) -> dict[str, Any]:
        return {
            "model": self.model,
            # Never ask for more rows than there are documents: the service's handling
            # of a larger top_n is undocumented.
            "top_n": min(self.top_n, count) if self.top_n is not None else None,
            "instruct": self.instruct,
            "workspace": workspace,
        }

    @staticmethod
    def _ranked(documents: Sequence[Document], result: RerankResult) -> list[Document]:
        ranked = []
        for item in sorted(result.results, key=lambda i: i.relevance_score, reverse=True):
            source = documents[item.index]
            metadata = {**source.metadata, "relevance_score": item.relevance_score}
            ranked.append(source.model_copy(update={"metadata": metadata}))
        return ranked

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
        *,
        workspace: str | None = None,
    ) -> Sequence[Document]:
        """Rerank ``documents`` against ``query``; most relevant first.

        Args:
            documents: retrieved documents (not modified).
            query: the user's query.
            callbacks: unused (kept for the ``BaseDocumentCompressor`` signature).
            workspace: per-call workspace, overriding the instance's.
        """
        if not documents:
            return []
        texts = [doc.page_content for doc in documents]
        with translate_errors():
            result = self._get_client().rerank(query, texts, **self._options(len(texts), workspace))
        return self._ranked(documents, result)

    async def acompress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
        *,
        workspace: str | None = None,
    ) -> Sequence[Document]:
        """Async ``compress_documents`` (native async, no thread pool)."""
        if not documents:
            return []
        texts = [doc.page_content for doc in documents]
        with translate_errors():
            result = await self._get_client().arerank(
                query, texts, **self._options(len(texts), workspace)
            )
        return self._ranked(documents, result)

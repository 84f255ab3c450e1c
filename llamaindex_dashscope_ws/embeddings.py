"""LlamaIndex ``BaseEmbedding`` for DashScope text-embedding models, workspace-aware.

Queries are embedded with ``text_type="query"`` and nodes with ``text_type="document"``.
``embed_batch_size`` defaults to, and is capped at, the model's row limit (v1/v2: 25,
v3/v4: 10) so that each LlamaIndex batch is exactly one request. With
``show_progress=True`` LlamaIndex's sync ``get_text_embedding_batch`` advances its bar
once per text, the async ``aget_text_embedding_batch`` once per batch (request). The
async methods call the core's aiohttp transport directly (no thread pool).
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field, model_validator

from dashscope_ws.retrieval import DEFAULT_EMBEDDING_BATCH, EMBEDDING_MODELS
from llamaindex_dashscope_ws._settings import DashScopeClientSettings
from llamaindex_dashscope_ws.batch import EmbeddingBatchJobs

__all__ = ["DashScopeEmbedding"]

_DEFAULT_MODEL = "text-embedding-v4"


def _row_limit(model: str) -> int:
    spec = EMBEDDING_MODELS.get(model)
    return spec.max_batch if spec and spec.max_batch else DEFAULT_EMBEDDING_BATCH


class DashScopeEmbedding(DashScopeClientSettings, BaseEmbedding, EmbeddingBatchJobs):
    """DashScope text embeddings (``text-embedding-v1`` .. ``v4``) for LlamaIndex.

    Args:
        model_name: embedding model.
        dimensions: output vector length (v3/v4 only; the model default when ``None``).
        embed_batch_size: texts per request; defaults to and is capped at the model's
            row limit (v1/v2 25, v3/v4 10).
        max_concurrency: cap on concurrent requests inside one async call; ``None``
            (default) uses the client's adaptive limit, shared by every async call (it
            grows while calls succeed and halves on 429, see ``DashScopeClient.aembed``),
            so ``aget_text_embedding_batch`` gathers all batches and the client paces them.
            When set, it is also the default ``num_workers``.
        instruct: custom task instruction (text-embedding-v4 only).
        text_type: ``text_type`` sent with texts (nodes), ``"document"`` by default (a
            ``DashScopeTextEmbeddingType`` works too); queries are always ``"query"``.
        api_key: API key; defaults to ``DASHSCOPE_API_KEY``.
        workspace: workspace id, sent as ``X-DashScope-WorkSpace``; defaults to
            ``DASHSCOPE_WORKSPACE``.
        base_url, region, workspace_in_host, timeout, connect_timeout, max_retries,
            allow_insecure_http: see ``ClientConfig``; ``close()``/``aclose()`` or
            ``with``/``async with`` release the cached client.

    Example:
        >>> from llama_index.core import Settings
        >>> from llamaindex_dashscope_ws import DashScopeEmbedding
        >>> Settings.embed_model = DashScopeEmbedding(
        ...     model_name="text-embedding-v4", dimensions=512, workspace="ws-emu-sub"
        ... )  # doctest: +SKIP
        >>> len(Settings.embed_model.get_query_embedding("Where is Hangzhou?"))  # doctest: +SKIP
        512
    """

    model_name: str = Field(default=_DEFAULT_MODEL, description="Embedding model.")
    dimensions: int | None = Field(default=None, gt=0, description="Output vector length.")
    max_concurrency: int | None = Field(
        default=None, ge=1, description="Cap on concurrent requests per call (adaptive if None)."
    )
    instruct: str | None = Field(default=None, description="Custom task instruction (v4).")
    text_type: str = Field(
        default="document",
        pattern="^(query|document)$",
        description="text_type of texts (nodes); queries are always embedded as 'query'.",
    )

    @model_validator(mode="before")
    @classmethod
    def _fit_batches(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        limit = _row_limit(data.get("model_name") or _DEFAULT_MODEL)
        requested = data.get("embed_batch_size")
        data["embed_batch_size"] = limit if requested is None else min(int(requested), limit)
        if data.get("num_workers") is None and data.get("max_concurrency"):
            data["num_workers"] = data["max_concurrency"]
        return data

    @classmethod
    def class_name(cls) -> str:
        """Name used in LlamaIndex serialisation."""
        return "DashScopeEmbedding"

    def _options(self, text_type: str) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "text_type": text_type,
            "dimension": self.dimensions,
            "instruct": self.instruct,
            "batch_size": self.embed_batch_size,
        }

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._get_client().embed([query], **self._options("query")).embeddings[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._get_client().embed(texts, **self._options(self.text_type)).embeddings

    async def _aget_query_embedding(self, query: str) -> Embedding:
        result = await self._get_client().aembed([query], **self._options("query"))
        return result.embeddings[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self._aget_text_embeddings([text]))[0]

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        result = await self._get_client().aembed(
            texts, max_concurrency=self.max_concurrency, **self._options(self.text_type)
        )
        return result.embeddings

"""LangChain ``Embeddings`` for DashScope text-embedding models, workspace-aware.

``embed_documents`` sends ``text_type="document"`` and ``embed_query`` sends
``text_type="query"``: the v3/v4 models embed the two sides of an asymmetric search
differently, and the older integrations never put ``text_type`` on the wire. Inputs
larger than the model's row limit (v1/v2: 25, v3/v4: 10) are split by the core;
async batches run concurrently under the client's adaptive limit (it grows while calls
succeed and halves on 429; ``max_concurrency`` caps it).
"""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings
from pydantic import AliasChoices, ConfigDict, Field

from langchain_dashscope_ws._settings import DashScopeClientSettings
from langchain_dashscope_ws.batch import EmbeddingBatchJobs
from langchain_dashscope_ws.errors import translate_errors

__all__ = ["DashScopeEmbeddings"]


class DashScopeEmbeddings(DashScopeClientSettings, Embeddings, EmbeddingBatchJobs):
    """DashScope text embeddings (``text-embedding-v1`` .. ``v4``) for LangChain.

    Args:
        model: embedding model (alias ``model_name``).
        dimensions: output vector length (v3/v4 only; the model default when ``None``).
        batch_size: rows per request; capped by the model's limit (v1/v2 25, v3/v4 10).
        max_concurrency: cap on concurrent batch requests in the async methods; ``None``
            (default) uses the client's adaptive limit (``DashScopeClient.aembed``).
        instruct: custom task instruction (text-embedding-v4 only).
        api_key: API key (alias ``dashscope_api_key``); defaults to ``DASHSCOPE_API_KEY``.
        workspace: workspace id, sent as ``X-DashScope-WorkSpace``.
        base_url, region, workspace_in_host, timeout, connect_timeout, max_retries,
            allow_insecure_http: see ``ClientConfig``; ``close()``/``aclose()`` or
            ``with``/``async with`` release the cached client.

    Example:
        >>> from langchain_dashscope_ws import DashScopeEmbeddings
        >>> emb = DashScopeEmbeddings(model="text-embedding-v4", dimensions=512,
        ...                           workspace="ws-emu-sub")  # doctest: +SKIP
        >>> vectors = emb.embed_documents(["杭州是浙江的省会", "Paris"])  # doctest: +SKIP
        >>> len(emb.embed_query("Where is Hangzhou?"))  # doctest: +SKIP
        512
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())

    # validation_alias (not alias) so that type checkers see `model=` in the signature.
    model: str = Field(
        default="text-embedding-v4", validation_alias=AliasChoices("model", "model_name")
    )
    dimensions: int | None = Field(default=None, gt=0)
    batch_size: int | None = Field(default=None, ge=1)
    max_concurrency: int | None = Field(default=None, ge=1)
    instruct: str | None = None

    def _options(self, text_type: str, workspace: str | None) -> dict[str, Any]:
        return {
            "model": self.model,
            "text_type": text_type,
            "dimension": self.dimensions,
            "instruct": self.instruct,
            "batch_size": self.batch_size,
            "workspace": workspace,
        }

    def embed_documents(
        self, texts: list[str], *, workspace: str | None = None
    ) -> list[list[float]]:
        """Embed texts to be searched (``text_type="document"``).

        Args:
            texts: the documents; any number (batched by the core).
            workspace: per-call workspace, overriding the instance's.
        """
        with translate_errors(texts):
            result = self._get_client().embed(texts, **self._options("document", workspace))
        return result.embeddings

    def embed_query(self, text: str, *, workspace: str | None = None) -> list[float]:
        """Embed a search query (``text_type="query"``)."""
        with translate_errors([text]):
            result = self._get_client().embed([text], **self._options("query", workspace))
        return result.embeddings[0]

    async def aembed_documents(
        self, texts: list[str], *, workspace: str | None = None
    ) -> list[list[float]]:
        """Async ``embed_documents``: batches run concurrently (adaptive, see ``aembed``)."""
        with translate_errors(texts):
            result = await self._get_client().aembed(
                texts, max_concurrency=self.max_concurrency, **self._options("document", workspace)
            )
        return result.embeddings

    async def aembed_query(self, text: str, *, workspace: str | None = None) -> list[float]:
        """Async ``embed_query``."""
        with translate_errors([text]):
            result = await self._get_client().aembed([text], **self._options("query", workspace))
        return result.embeddings[0]

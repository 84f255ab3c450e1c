"""LlamaIndex integration for Alibaba Cloud DashScope, workspace-aware.

Example:
    >>> from llamaindex_dashscope_ws import DashScope  # doctest: +SKIP
    >>> DashScope(model="qwen-plus", workspace="ws-emu-sub").complete("hi")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dashscope_ws._lazy import lazy_exports

if TYPE_CHECKING:
    from llamaindex_dashscope_ws.app_chat import DashScopeAppChatEngine
    from llamaindex_dashscope_ws.apps import (
        DashScopeAppQueryEngine,
        DashScopeKnowledgeBaseRetriever,
    )
    from llamaindex_dashscope_ws.embeddings import DashScopeEmbedding
    from llamaindex_dashscope_ws.llms import DashScope
    from llamaindex_dashscope_ws.models import (
        DashScopeBatchTextEmbeddingModels,
        DashScopeGenerationModels,
        DashScopeMultiModalEmbeddingModels,
        DashScopeTextEmbeddingModels,
        DashScopeTextEmbeddingType,
    )
    from llamaindex_dashscope_ws.postprocessor import DashScopeRerank
    from llamaindex_dashscope_ws.tokenizer import qwen_tokenizer
    from llamaindex_dashscope_ws.usage import DashScopeUsageEventHandler

__all__ = [
    "DashScope",
    "DashScopeAppChatEngine",
    "DashScopeAppQueryEngine",
    "DashScopeBatchTextEmbeddingModels",
    "DashScopeEmbedding",
    "DashScopeGenerationModels",
    "DashScopeKnowledgeBaseRetriever",
    "DashScopeMultiModalEmbeddingModels",
    "DashScopeRerank",
    "DashScopeTextEmbeddingModels",
    "DashScopeTextEmbeddingType",
    "DashScopeUsageEventHandler",
    "qwen_tokenizer",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "DashScope": "llamaindex_dashscope_ws.llms",
        "DashScopeAppChatEngine": "llamaindex_dashscope_ws.app_chat",
        "DashScopeAppQueryEngine": "llamaindex_dashscope_ws.apps",
        "DashScopeKnowledgeBaseRetriever": "llamaindex_dashscope_ws.apps",
        "DashScopeEmbedding": "llamaindex_dashscope_ws.embeddings",
        "DashScopeRerank": "llamaindex_dashscope_ws.postprocessor",
        "DashScopeGenerationModels": "llamaindex_dashscope_ws.models",
        "DashScopeTextEmbeddingModels": "llamaindex_dashscope_ws.models",
        "DashScopeTextEmbeddingType": "llamaindex_dashscope_ws.models",
        "DashScopeBatchTextEmbeddingModels": "llamaindex_dashscope_ws.models",
        "DashScopeMultiModalEmbeddingModels": "llamaindex_dashscope_ws.models",
        "DashScopeUsageEventHandler": "llamaindex_dashscope_ws.usage",
        "qwen_tokenizer": "llamaindex_dashscope_ws.tokenizer",
    },
)

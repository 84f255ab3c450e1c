"""Model-name constants with the names llama-index's DashScope packages exported.

``DashScopeGenerationModels`` (llama-index-llms-dashscope) and the embedding enums
(llama-index-embeddings-dashscope) have the same member names and values, so code that
imports them from the old packages only changes its import line. Any model name string
works too: the model registry (:mod:`dashscope_ws.models`) knows the limits of each.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "DashScopeBatchTextEmbeddingModels",
    "DashScopeGenerationModels",
    "DashScopeMultiModalEmbeddingModels",
    "DashScopeTextEmbeddingModels",
    "DashScopeTextEmbeddingType",
]


class DashScopeGenerationModels:
    """Qwen model names, as llama-index-llms-dashscope named them (plain ``str`` constants).

    Example:
        >>> from llamaindex_dashscope_ws import DashScope, DashScopeGenerationModels
        >>> DashScope(model_name=DashScopeGenerationModels.QWEN_MAX, api_key="sk-x").model
        'qwen-max'
    """

    QWEN_TURBO = "qwen-turbo"
    QWEN_PLUS = "qwen-plus"
    QWEN_MAX = "qwen-max"
    QWEN_MAX_1201 = "qwen-max-1201"
    QWEN_MAX_LONGCONTEXT = "qwen-max-longcontext"


class DashScopeTextEmbeddingType(str, Enum):
    """``text_type`` of a text embedding: what the text is for.

    Example:
        >>> DashScopeTextEmbeddingType.TEXT_TYPE_QUERY.value
        'query'
    """

    TEXT_TYPE_QUERY = "query"
    TEXT_TYPE_DOCUMENT = "document"


class DashScopeTextEmbeddingModels(str, Enum):
    """Text embedding models (the old package's members, plus v4).

    Example:
        >>> DashScopeTextEmbeddingModels.TEXT_EMBEDDING_V3.value
        'text-embedding-v3'
    """

    TEXT_EMBEDDING_V1 = "text-embedding-v1"
    TEXT_EMBEDDING_V2 = "text-embedding-v2"
    TEXT_EMBEDDING_V3 = "text-embedding-v3"
    TEXT_EMBEDDING_V4 = "text-embedding-v4"


class DashScopeBatchTextEmbeddingModels(str, Enum):
    """Asynchronous (file) text embedding models, for the Batch API.

    Example:
        >>> DashScopeBatchTextEmbeddingModels.TEXT_EMBEDDING_ASYNC_V2.value
        'text-embedding-async-v2'
    """

    TEXT_EMBEDDING_ASYNC_V1 = "text-embedding-async-v1"
    TEXT_EMBEDDING_ASYNC_V2 = "text-embedding-async-v2"
    TEXT_EMBEDDING_ASYNC_V3 = "text-embedding-async-v3"


class DashScopeMultiModalEmbeddingModels(str, Enum):
    """Multimodal embedding models the old package named.

    Example:
        >>> DashScopeMultiModalEmbeddingModels.MULTIMODAL_EMBEDDING_ONE_PEACE_V1.value
        'multimodal-embedding-one-peace-v1'
    """

    MULTIMODAL_EMBEDDING_ONE_PEACE_V1 = "multimodal-embedding-one-peace-v1"

"""LangChain integration for Alibaba Cloud DashScope, workspace-aware.

Example:
    >>> from langchain_dashscope_ws import ChatDashScope  # doctest: +SKIP
    >>> ChatDashScope(model="qwen-plus", workspace="ws-emu-sub").invoke("hi")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dashscope_ws._lazy import lazy_exports

if TYPE_CHECKING:
    from langchain_dashscope_ws.apps import ChatDashScopeApp, DashScopeKnowledgeBaseRetriever
    from langchain_dashscope_ws.chat_models import ChatDashScope
    from langchain_dashscope_ws.embeddings import DashScopeEmbeddings
    from langchain_dashscope_ws.llms import Tongyi
    from langchain_dashscope_ws.rerank import DashScopeRerank
    from langchain_dashscope_ws.usage import DashScopeUsageCallbackHandler

__all__ = [
    "ChatDashScope",
    "ChatDashScopeApp",
    "DashScopeEmbeddings",
    "DashScopeKnowledgeBaseRetriever",
    "DashScopeRerank",
    "DashScopeUsageCallbackHandler",
    "Tongyi",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ChatDashScope": "langchain_dashscope_ws.chat_models",
        "ChatDashScopeApp": "langchain_dashscope_ws.apps",
        "DashScopeKnowledgeBaseRetriever": "langchain_dashscope_ws.apps",
        "DashScopeEmbeddings": "langchain_dashscope_ws.embeddings",
        "DashScopeRerank": "langchain_dashscope_ws.rerank",
        "DashScopeUsageCallbackHandler": "langchain_dashscope_ws.usage",
        "Tongyi": "langchain_dashscope_ws.llms",
    },
)

"""LangChain integration for Alibaba Cloud DashScope, workspace-aware.

Example:
    >>> from langchain_dashscope_ws import ChatDashScope  # doctest: +SKIP
    >>> ChatDashScope(model="qwen-plus", workspace="ws-emu-sub").invoke("hi")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_dashscope_ws.chat_models import ChatDashScope
    from langchain_dashscope_ws.embeddings import DashScopeEmbeddings
    from langchain_dashscope_ws.rerank import DashScopeRerank

__all__ = ["ChatDashScope", "DashScopeEmbeddings", "DashScopeRerank"]

# Imported on first use so that `import langchain_dashscope_ws` stays cheap and one
# class's optional dependencies never break another's import.
_EXPORTS = {
    "ChatDashScope": "langchain_dashscope_ws.chat_models",
    "DashScopeEmbeddings": "langchain_dashscope_ws.embeddings",
    "DashScopeRerank": "langchain_dashscope_ws.rerank",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

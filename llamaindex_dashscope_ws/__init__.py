"""LlamaIndex integration for Alibaba Cloud DashScope, workspace-aware.

Example:
    >>> from llamaindex_dashscope_ws import DashScope  # doctest: +SKIP
    >>> DashScope(model="qwen-plus", workspace="ws-emu-sub").complete("hi")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llamaindex_dashscope_ws.embeddings import DashScopeEmbedding
    from llamaindex_dashscope_ws.llms import DashScope
    from llamaindex_dashscope_ws.postprocessor import DashScopeRerank

__all__ = ["DashScope", "DashScopeEmbedding", "DashScopeRerank"]

# Imported on first use so that `import llamaindex_dashscope_ws` stays cheap.
_EXPORTS = {
    "DashScope": "llamaindex_dashscope_ws.llms",
    "DashScopeEmbedding": "llamaindex_dashscope_ws.embeddings",
    "DashScopeRerank": "llamaindex_dashscope_ws.postprocessor",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

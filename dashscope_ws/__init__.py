"""dashscope_ws: a workspace-aware core client for Alibaba Cloud DashScope (Model Studio).

Example:
    >>> from dashscope_ws import DashScopeClient
    >>> client = DashScopeClient(api_key="sk-...", workspace="ws-123")  # doctest: +SKIP
    >>> client.chat([{"role": "user", "content": "Hi"}], model="qwen-plus").text  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from .client import DashScopeClient
from .config import ClientConfig, SecretStr, package_version
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    DashScopeError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    StreamProtocolError,
)
from .retry import RetryPolicy
from .settings import ClientSettings, UsageSink
from .streams import AsyncChatStream, AsyncStream, ChatStream, Stream
from .transports import (
    AsyncMockTransport,
    AsyncTransport,
    MockRequest,
    MockResponse,
    MockTransport,
    Transport,
)
from .types import (
    ChatChunk,
    ChatResult,
    EmbeddingResult,
    RerankItem,
    RerankResult,
    ToolCall,
    ToolCallDelta,
    Usage,
)

if TYPE_CHECKING:
    from .apps import AppChunk, AppResult, AppThought, DocReference, ModelUsage, WorkflowMessage
    from .knowledge import RetrievedNode
    from .usage import Price, UsageTotals, UsageTracker
    from .workspace import GrantedModel, ModelQuota, RateLimit

__version__ = package_version()

# Apps, knowledge bases, workspace and usage types: imported on first use (PEP 562).
_LAZY = {
    **dict.fromkeys(
        ("AppChunk", "AppResult", "AppThought", "DocReference", "ModelUsage", "WorkflowMessage"),
        "dashscope_ws.apps",
    ),
    "RetrievedNode": "dashscope_ws.knowledge",
    **dict.fromkeys(("Price", "UsageTotals", "UsageTracker"), "dashscope_ws.usage"),
    **dict.fromkeys(("GrantedModel", "ModelQuota", "RateLimit"), "dashscope_ws.workspace"),
}
__getattr__, _lazy_dir = lazy_exports(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted({*globals(), *_lazy_dir()})


__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AppChunk",
    "AppResult",
    "AppThought",
    "AsyncChatStream",
    "AsyncMockTransport",
    "AsyncStream",
    "AsyncTransport",
    "AuthenticationError",
    "BadRequestError",
    "ChatChunk",
    "ChatResult",
    "ChatStream",
    "ClientConfig",
    "ClientSettings",
    "ContentFilterError",
    "DashScopeClient",
    "DashScopeError",
    "DocReference",
    "EmbeddingResult",
    "GrantedModel",
    "InternalServerError",
    "InvalidRequestError",
    "MockRequest",
    "MockResponse",
    "MockTransport",
    "ModelQuota",
    "ModelUsage",
    "NotFoundError",
    "PermissionDeniedError",
    "Price",
    "RateLimit",
    "RateLimitError",
    "RerankItem",
    "RerankResult",
    "ResponseTooLargeError",
    "RetrievedNode",
    "RetryPolicy",
    "SecretStr",
    "Stream",
    "StreamProtocolError",
    "ToolCall",
    "ToolCallDelta",
    "Transport",
    "Usage",
    "UsageSink",
    "UsageTotals",
    "UsageTracker",
    "WorkflowMessage",
    "__version__",
]

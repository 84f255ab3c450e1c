"""dashscope_ws: a workspace-aware core client for Alibaba Cloud DashScope (Model Studio).

Example:
    >>> from dashscope_ws import DashScopeClient
    >>> client = DashScopeClient(api_key="sk-...", workspace="ws-123")  # doctest: +SKIP
    >>> client.chat([{"role": "user", "content": "Hi"}], model="qwen-plus").text  # doctest: +SKIP
"""

from __future__ import annotations

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
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamProtocolError,
)
from .retry import RetryPolicy
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

__version__ = package_version()

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ChatChunk",
    "ChatResult",
    "ClientConfig",
    "ContentFilterError",
    "DashScopeClient",
    "DashScopeError",
    "EmbeddingResult",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RerankItem",
    "RerankResult",
    "RetryPolicy",
    "SecretStr",
    "StreamProtocolError",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "__version__",
]

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

__version__ = package_version()

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
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
    "EmbeddingResult",
    "InternalServerError",
    "InvalidRequestError",
    "MockRequest",
    "MockResponse",
    "MockTransport",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RerankItem",
    "RerankResult",
    "ResponseTooLargeError",
    "RetryPolicy",
    "SecretStr",
    "Stream",
    "StreamProtocolError",
    "ToolCall",
    "ToolCallDelta",
    "Transport",
    "Usage",
    "UsageSink",
    "__version__",
]

# ruff: noqa: E501  (one declaration per line: the tables below are meant to be read across)
"""The one declaration of the client's connection settings and the generation parameters.

Everything that takes these settings is derived from the tuples below:

* :meth:`dashscope_ws.config.ClientConfig.resolve` and :class:`~dashscope_ws.client.DashScopeClient`
  take ``**settings: Unpack[ClientSettings]``;
* the LangChain and LlamaIndex classes expand :data:`CONNECTION_SETTINGS` and
  :data:`GENERATION_PARAMETERS` into pydantic fields (same names, same validation);
* :func:`dashscope_ws.adapters.client_settings` reads them back off an adapter object.

Adding a connection setting or a generation parameter is one line here (plus, for a
connection setting, the line in ``ClientConfig.resolve`` that validates it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

if TYPE_CHECKING:
    from .config import SecretStr
    from .types import Usage

__all__ = [
    "CONNECTION_SETTINGS",
    "GENERATION_PARAMETERS",
    "ClientSettings",
    "Parameter",
    "UsageSink",
]


class UsageSink(Protocol):
    """Where a client reports token usage (``DashScopeClient(usage_tracker=...)``).

    Called once per successful unary call that returned usage, once per stream at its
    end, once per embedding batch. ``kind`` is ``"chat"``, ``"stream"``, ``"embedding"``,
    ``"rerank"`` (more may come).

    Example:
        >>> class Printer:
        ...     def record(self, *, workspace, model, usage, kind):
        ...         print(kind, model, usage.total_tokens)
    """

    def record(self, *, workspace: str | None, model: str, usage: Usage, kind: str) -> None:
        """Account one call's usage."""


class ClientSettings(TypedDict, total=False):
    """Keyword arguments of ``DashScopeClient`` (and ``ClientConfig.resolve``).

    ``None`` means "not set": resolved from the environment, then the default.
    """

    api_key: str | SecretStr | None
    workspace: str | None
    base_url: str | None
    region: str | None
    workspace_in_host: bool | None
    timeout: float | None
    connect_timeout: float | None
    total_timeout: float | None
    stream_timeout: float | None
    max_response_bytes: int | None
    max_retries: int | None
    allow_insecure_http: bool | None
    default_headers: Mapping[str, str] | None
    proxy: str | None
    verify: bool | str | None
    trust_env: bool | None
    max_connections: int | None


@dataclass(frozen=True)
class Parameter:
    """One documented setting: its name, type, bounds and one-line documentation.

    Example:
        >>> Parameter("top_k", int, "Sample from the k likeliest tokens.", ge=1).ge
        1
    """

    name: str
    type: Any
    doc: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def bounds(self) -> dict[str, float]:
        """The pydantic ``Field`` constraints (``ge``/``gt``/``le``/``lt``) that are set."""
        pairs = (("ge", self.ge), ("gt", self.gt), ("le", self.le), ("lt", self.lt))
        return {key: value for key, value in pairs if value is not None}


# Connection settings the adapters expose as fields (api_key and default_headers are
# handled by each framework its own way; transports and the usage sink are objects).
CONNECTION_SETTINGS: tuple[Parameter, ...] = (
    Parameter("workspace", str, "Workspace id sent as X-DashScope-WorkSpace (env DASHSCOPE_WORKSPACE)."),
    Parameter("base_url", str, "API root ending in /api/v1 (env DASHSCOPE_BASE_URL); wins over region."),
    Parameter("region", str, "Region name, e.g. 'cn-beijing' (env DASHSCOPE_REGION)."),
    Parameter("workspace_in_host", bool, "Address the workspace by host name, not only the header."),
    Parameter("timeout", float, "Read timeout in seconds; for streams the longest gap between reads.", gt=0),
    Parameter("connect_timeout", float, "Connection timeout in seconds (default 10).", gt=0),
    Parameter("total_timeout", float, "Deadline per attempt for an answer or a stream's first event (default connect_timeout + timeout).", gt=0),
    Parameter("stream_timeout", float, "Optional deadline for a whole stream (default none).", gt=0),
    Parameter("max_response_bytes", int, "Largest non-streamed answer read (default 64 MiB).", gt=0),
    Parameter("max_retries", int, "Retries on 429, 5xx, connection errors (env DASHSCOPE_MAX_RETRIES, else 2).", ge=0),
    Parameter("allow_insecure_http", bool, "Allow sending the key over http:// to a non-loopback host."),
    Parameter("proxy", str, "Proxy URL for every request (default: the environment's, if trust_env)."),
    Parameter("verify", bool | str, "Verify TLS certificates (True), not (False), or a CA bundle path."),
    Parameter("trust_env", bool, "Honour HTTP(S)_PROXY / NO_PROXY (default True)."),
    Parameter("max_connections", int, "Connection pool size, sync and async (default 1000).", ge=1),
)  # fmt: skip

# Documented generation parameters of the native API (text-generation "parameters",
# from the Model Studio API reference "Qwen - text generation"); both adapters expand
# these into fields with the same validation.
GENERATION_PARAMETERS: tuple[Parameter, ...] = (
    Parameter("temperature", float, "Sampling temperature in [0, 2).", ge=0, lt=2),
    Parameter("top_p", float, "Nucleus sampling probability in (0, 1].", gt=0, le=1),
    Parameter("top_k", int, "Sample from the k likeliest tokens.", ge=0),
    Parameter("max_tokens", int, "Maximum number of tokens to generate.", ge=1),
    Parameter("seed", int, "Random seed for reproducible sampling.", ge=0),
    Parameter("repetition_penalty", float, "Penalty for repeated tokens (> 0; 1.0 means none).", gt=0),
    Parameter("presence_penalty", float, "Presence penalty in [-2, 2].", ge=-2, le=2),
    Parameter("enable_search", bool, "Let the model search the internet."),
    Parameter("enable_thinking", bool, "Thinking mode for hybrid models (answered as a stream)."),
    Parameter("thinking_budget", int, "Maximum tokens spent thinking.", ge=1),
    Parameter("vl_high_resolution_images", bool, "VL models: read images at high resolution (more image tokens)."),
    Parameter("vl_enable_image_hw_output", bool, "VL models: report the scaled image height and width."),
)  # fmt: skip

"""Client settings, resolved once: arguments > environment > defaults.

A :class:`ClientConfig` is immutable and self-contained. The environment is read
only inside :meth:`ClientConfig.resolve`, so two clients in one process with
different keys or workspaces never see each other's settings. Everything is
validated there, before any request is built.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import metadata
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._secret import SecretStr, check_plain_http, is_loopback, secret_key
from .settings import ClientSettings

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_REGION",
    "DEFAULT_TIMEOUT",
    "REGIONS",
    "WORKSPACE_PATTERN",
    "WORKSPACE_REGIONS",
    "ClientConfig",
    "SecretStr",
    "is_loopback",
    "package_version",
    "validate_workspace",
]

# Regions with a shared (legacy) gateway; the native API root for each.
REGIONS: dict[str, str] = {
    "cn-beijing": "https://dashscope.aliyuncs.com/api/v1",
    "ap-southeast-1": "https://dashscope-intl.aliyuncs.com/api/v1",
    "us-east-1": "https://dashscope-us.aliyuncs.com/api/v1",
    "cn-hongkong": "https://cn-hongkong.dashscope.aliyuncs.com/api/v1",
}
# Every region with a workspace-scoped gateway; those missing from REGIONS are
# reachable only through it, so they need a workspace.
WORKSPACE_REGIONS: tuple[str, ...] = (
    "cn-beijing", "ap-southeast-1", "us-east-1", "cn-hongkong", "eu-central-1", "ap-northeast-1",
)  # fmt: skip
WORKSPACE_HOST_TEMPLATE = "https://{workspace}.{region}.maas.aliyuncs.com/api/v1"
DEFAULT_REGION = "cn-beijing"
DEFAULT_TIMEOUT = 300.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_CONNECTIONS = 1000
"""Pool size on both transports (the limit the openai and anthropic SDKs use)."""
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

WORKSPACE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
# \Z, not $: "$" would accept a trailing newline.
_WORKSPACE_RE = re.compile(WORKSPACE_PATTERN[:-1] + r"\Z")
_API_ROOT = "/api/v1"
_COMPATIBLE_ROOT = "/compatible-api/v1"
# Headers the client owns; default_headers may not override them.
_RESERVED_HEADERS = frozenset(
    {"authorization", "content-type", "accept", "x-dashscope-workspace", "x-dashscope-sse"}
)


def package_version() -> str:
    """The installed distribution's version (``0.0.0+unknown`` in a never-installed tree)."""
    try:
        return metadata.version("dashscope-ws")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


USER_AGENT = f"dashscope-ws/{package_version()}"


def validate_workspace(workspace: str) -> str:
    """Return ``workspace`` if it is a valid id (it becomes a header and a host label).

    Raises:
        ValueError: anything but ``^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$``.
    """
    if not isinstance(workspace, str) or not _WORKSPACE_RE.match(workspace):
        raise ValueError(
            f"invalid workspace {workspace!r}: expected a workspace id matching "
            f"{WORKSPACE_PATTERN} (copy it from the Model Studio console)"
        )
    return workspace


def _normalise_base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be an http(s) URL, got {url!r}")
    if not url.endswith(_API_ROOT):
        url += _API_ROOT
    return url


def _number(name: str, value: Any, kind: type[float] | type[int], *, positive: bool = False) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
    if number < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    if positive and number == 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return number


@dataclass(frozen=True)
class ClientConfig:
    """Resolved, validated client settings. Build with :meth:`resolve`.

    Example:
        >>> config = ClientConfig.resolve(api_key="sk-1", workspace="ws1", env={})
        >>> config.url("services/aigc/text-generation/generation")
        'https://dashscope.aliyuncs.com/api/v1/services/aigc/text-generation/generation'
        >>> "sk-1" in repr(config)
        False
    """

    api_key: SecretStr
    workspace: str | None
    base_url: str
    region: str | None
    workspace_in_host: bool
    timeout: float
    connect_timeout: float
    max_retries: int
    allow_insecure_http: bool
    default_headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    total_timeout: float = DEFAULT_CONNECT_TIMEOUT + DEFAULT_TIMEOUT
    stream_timeout: float | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    proxy: str | None = None
    verify: bool | str = True
    trust_env: bool = True
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    @classmethod
    def resolve(
        cls, *, env: Mapping[str, str] | None = None, **settings: Unpack[ClientSettings]
    ) -> ClientConfig:
        """Resolve every setting once (arguments > environment > defaults) and validate.

        ``base_url`` wins over ``region``. ``workspace_in_host=True`` builds the
        host ``{workspace}.{region}.maas.aliyuncs.com`` and ignores an
        environment base URL; combining it with an explicit ``base_url`` is an
        error. Regions without a shared gateway imply ``workspace_in_host``.
        Timeouts must be positive and finite; ``total_timeout`` defaults to
        ``connect_timeout + timeout``.

        Raises:
            ValueError: on a missing key or any invalid setting (never echoing the key).
        """
        # Wrapped: a traceback printing this frame's locals must not print the environment.
        environment = _Environment(os.environ if env is None else env)
        del env
        unknown = sorted(set(settings) - set(_SETTING_NAMES))
        if unknown:
            raise TypeError(f"unknown client settings: {unknown}")

        def pick(name: str, *names: str) -> Any:
            value = settings.get(name)
            if value is not None:
                return value
            for var in names:
                if environment.get(var):
                    return environment[var]
            return None

        # Out of ``settings`` before it is checked, and wrapped at once: when a key is
        # refused, no frame of the traceback holds it in clear text.
        secret = secret_key(_pop_key(settings, environment))

        ws = pick("workspace", "DASHSCOPE_WORKSPACE", "DASHSCOPE_WORKSPACE_ID")
        if ws is not None:
            ws = validate_workspace(ws)

        reg = pick("region", "DASHSCOPE_REGION")
        if reg is not None:
            reg = reg.strip()
            if reg not in WORKSPACE_REGIONS:
                raise ValueError(
                    f"unknown region {reg!r}; valid regions: {', '.join(WORKSPACE_REGIONS)}"
                )

        in_host = bool(settings.get("workspace_in_host"))
        if in_host and settings.get("base_url") is not None:
            raise ValueError("pass either base_url or workspace_in_host=True, not both")
        url = None if in_host else pick("base_url", "DASHSCOPE_BASE_URL", "DASHSCOPE_HTTP_BASE_URL")
        if url is not None:
            url = _normalise_base_url(url)
        else:
            effective_region = reg or DEFAULT_REGION
            if effective_region not in REGIONS:
                in_host = True  # no shared gateway in this region
            if in_host:
                if ws is None:
                    raise ValueError(
                        f"region {effective_region!r} is reached through the workspace host "
                        "{workspace}.{region}.maas.aliyuncs.com: pass workspace=... or set "
                        "DASHSCOPE_WORKSPACE"
                    )
                url = WORKSPACE_HOST_TEMPLATE.format(workspace=ws, region=effective_region)
                reg = effective_region
            else:
                url = REGIONS[effective_region]

        insecure = bool(settings.get("allow_insecure_http"))
        proxy = settings.get("proxy")
        check_plain_http(url, proxy, insecure=insecure)

        headers = dict(settings.get("default_headers") or {})
        for name, value in headers.items():
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"default_headers may not set {name!r}: the client owns it")
            if any(ch in f"{name}{value}" for ch in "\r\n\0"):
                raise ValueError(f"default header {name!r} contains a line break")

        timeout = _seconds("timeout", pick("timeout", "DASHSCOPE_TIMEOUT"), DEFAULT_TIMEOUT)
        connect = _seconds(
            "connect_timeout", settings.get("connect_timeout"), DEFAULT_CONNECT_TIMEOUT
        )
        stream_timeout = settings.get("stream_timeout")
        verify = settings.get("verify")
        return cls(
            api_key=secret,
            workspace=ws,
            base_url=url,
            region=reg,
            workspace_in_host=in_host,
            timeout=timeout,
            connect_timeout=connect,
            max_retries=_number(
                "max_retries",
                _default(pick("max_retries", "DASHSCOPE_MAX_RETRIES"), DEFAULT_MAX_RETRIES),
                int,
            ),
            allow_insecure_http=insecure,
            default_headers=MappingProxyType(headers),
            total_timeout=_seconds(
                "total_timeout", settings.get("total_timeout"), connect + timeout
            ),
            stream_timeout=None
            if stream_timeout is None
            else _seconds("stream_timeout", stream_timeout, 0.0),
            max_response_bytes=_number(
                "max_response_bytes",
                _default(settings.get("max_response_bytes"), DEFAULT_MAX_RESPONSE_BYTES),
                int,
                positive=True,
            ),
            proxy=proxy or None,
            verify=True if verify is None else verify,
            trust_env=_default(settings.get("trust_env"), True),
            max_connections=_number(
                "max_connections",
                _default(settings.get("max_connections"), DEFAULT_MAX_CONNECTIONS),
                int,
                positive=True,
            ),
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # mappingproxy does not pickle; rebuild it from a plain dict.
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["default_headers"] = dict(self.default_headers)
        return (_rebuild_config, (state,))

    def _workspace(self, workspace: str | None) -> str | None:
        return self.workspace if workspace is None else validate_workspace(workspace)

    def _root(self, workspace: str | None) -> str:
        ws = self._workspace(workspace)
        if self.workspace_in_host and ws is not None and ws != self.workspace:
            return WORKSPACE_HOST_TEMPLATE.format(
                workspace=ws, region=self.region or DEFAULT_REGION
            )
        return self.base_url

    def url(self, path: str, *, workspace: str | None = None) -> str:
        """Absolute URL of ``path`` (relative to the API root ``/api/v1``)."""
        return f"{self._root(workspace)}/{path.lstrip('/')}"

    def compatible_url(self, path: str, *, workspace: str | None = None) -> str:
        """Absolute URL of ``path`` under ``/compatible-api/v1`` on the same host."""
        root = self._root(workspace)[: -len(_API_ROOT)] + _COMPATIBLE_ROOT
        return f"{root}/{path.lstrip('/')}"

    def headers(self, *, workspace: str | None = None, stream: bool = False) -> dict[str, str]:
        """Request headers; a per-call ``workspace`` overrides the configured one.

        Never ``Authorization``: the key travels as ``HTTPRequest.api_key`` and the
        transport writes the header when it sends (see :mod:`dashscope_ws.http`).
        Built once per (workspace, stream) — the config is frozen — and copied per call
        (callers may add headers to theirs).
        """
        cache: dict[tuple[str | None, bool], dict[str, str]] = self.__dict__.setdefault(
            "_headers_cache", {}
        )
        built = cache.get((workspace, stream))
        if built is None:
            built = cache[workspace, stream] = self._build_headers(workspace, stream)
        return dict(built)

    def _build_headers(self, workspace: str | None, stream: bool) -> dict[str, str]:
        headers = dict(self.default_headers)
        headers.setdefault("User-Agent", USER_AGENT)
        headers["Content-Type"] = "application/json"
        ws = self._workspace(workspace)
        if ws is not None:
            # Sent in workspace-host mode too, as the official v2 SDK does.
            headers["X-DashScope-WorkSpace"] = ws
        if stream:
            headers["Accept"] = "text/event-stream"
            headers["X-DashScope-SSE"] = "enable"
        else:
            headers["Accept"] = "application/json"
        return headers


def _seconds(name: str, value: Any, default: float) -> float:
    """A timeout: positive and finite (0, negative, NaN and inf are refused)."""
    return float(_number(name, _default(value, default), float, positive=True))


class _Environment:
    """Read-only view of the environment whose ``repr`` shows nothing (it holds the key)."""

    __slots__ = ("_env",)

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def get(self, name: str) -> str | None:
        return self._env.get(name)

    def __getitem__(self, name: str) -> str:
        return self._env[name]

    def __repr__(self) -> str:
        return "<environment>"


def _pop_key(settings: ClientSettings, environment: _Environment) -> Any:
    """The given key (taken out of ``settings``), else ``DASHSCOPE_API_KEY``."""
    given = settings.pop("api_key", None)
    return given if given is not None else environment.get("DASHSCOPE_API_KEY") or None


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value


_SETTING_NAMES = frozenset(ClientSettings.__annotations__)


def _rebuild_config(state: dict[str, Any]) -> ClientConfig:
    state["default_headers"] = MappingProxyType(state["default_headers"])
    return ClientConfig(**state)

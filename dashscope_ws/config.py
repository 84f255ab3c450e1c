"""Client settings, resolved once: arguments > environment > defaults.

A :class:`ClientConfig` is immutable and self-contained. The environment is read
only inside :meth:`ClientConfig.resolve`, so two clients in one process with
different keys or workspaces never see each other's settings. Everything is
validated there, before any request is built.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import metadata
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_REGION",
    "DEFAULT_TIMEOUT",
    "REGIONS",
    "WORKSPACE_PATTERN",
    "WORKSPACE_REGIONS",
    "ClientConfig",
    "SecretStr",
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


class SecretStr:
    """A string that never shows itself in ``repr``/``str`` (API keys).

    Example:
        >>> key = SecretStr("sk-123")
        >>> (str(key), key.get_secret_value())
        ('**********', 'sk-123')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """The real value; call only where it is sent."""
        return self._value

    def __repr__(self) -> str:
        return "'**********'"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


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


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _normalise_base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be an http(s) URL, got {url!r}")
    if not url.endswith(_API_ROOT):
        url += _API_ROOT
    return url


def _number(name: str, value: Any, kind: type[float] | type[int]) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if number < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
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

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | SecretStr | None = None,
        workspace: str | None = None,
        base_url: str | None = None,
        region: str | None = None,
        workspace_in_host: bool | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        allow_insecure_http: bool | None = None,
        default_headers: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """Resolve every setting once (arguments > environment > defaults) and validate.

        ``base_url`` wins over ``region``. ``workspace_in_host=True`` builds the
        host ``{workspace}.{region}.maas.aliyuncs.com`` and ignores an
        environment base URL; combining it with an explicit ``base_url`` is an
        error. Regions without a shared gateway imply ``workspace_in_host``.

        Raises:
            ValueError: on a missing key or any invalid setting.
        """
        env = os.environ if env is None else env

        def pick(value: Any, *names: str) -> Any:
            if value is not None:
                return value
            for name in names:
                if env.get(name):
                    return env[name]
            return None

        key = pick(api_key, "DASHSCOPE_API_KEY")
        secret = key if isinstance(key, SecretStr) else SecretStr(key or "")
        raw_key = secret.get_secret_value()
        if not raw_key.strip():
            raise ValueError("no DashScope API key: pass api_key=... or set DASHSCOPE_API_KEY")
        if any(ch in raw_key for ch in "\r\n\0"):
            raise ValueError("the API key contains a line break or NUL character")

        ws = pick(workspace, "DASHSCOPE_WORKSPACE", "DASHSCOPE_WORKSPACE_ID")
        if ws is not None:
            ws = validate_workspace(ws)

        reg = pick(region, "DASHSCOPE_REGION")
        if reg is not None:
            reg = reg.strip()
            if reg not in WORKSPACE_REGIONS:
                raise ValueError(
                    f"unknown region {reg!r}; valid regions: {', '.join(WORKSPACE_REGIONS)}"
                )

        in_host = bool(workspace_in_host)
        if in_host and base_url is not None:
            raise ValueError("pass either base_url or workspace_in_host=True, not both")
        url = None if in_host else pick(base_url, "DASHSCOPE_BASE_URL", "DASHSCOPE_HTTP_BASE_URL")
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

        insecure = bool(allow_insecure_http)
        parts = urlsplit(url)
        if parts.scheme == "http" and not insecure and not _is_loopback(parts.hostname or ""):
            raise ValueError(
                f"refusing to send the API key over plain http to {parts.hostname!r}: use "
                "https, or pass allow_insecure_http=True"
            )

        headers = dict(default_headers or {})
        for name, value in headers.items():
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"default_headers may not set {name!r}: the client owns it")
            if any(ch in f"{name}{value}" for ch in "\r\n\0"):
                raise ValueError(f"default header {name!r} contains a line break")

        return cls(
            api_key=secret,
            workspace=ws,
            base_url=url,
            region=reg,
            workspace_in_host=in_host,
            timeout=_number(
                "timeout", _default(pick(timeout, "DASHSCOPE_TIMEOUT"), DEFAULT_TIMEOUT), float
            ),
            connect_timeout=_number(
                "connect_timeout", _default(connect_timeout, DEFAULT_CONNECT_TIMEOUT), float
            ),
            max_retries=_number(
                "max_retries",
                _default(pick(max_retries, "DASHSCOPE_MAX_RETRIES"), DEFAULT_MAX_RETRIES),
                int,
            ),
            allow_insecure_http=insecure,
            default_headers=MappingProxyType(headers),
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
        """Request headers; a per-call ``workspace`` overrides the configured one."""
        headers = dict(self.default_headers)
        headers.setdefault("User-Agent", USER_AGENT)
        headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
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


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value


def _rebuild_config(state: dict[str, Any]) -> ClientConfig:
    state["default_headers"] = MappingProxyType(state["default_headers"])
    return ClientConfig(**state)

"""What may this workspace call, and how fast: model permissions and rate-limit quotas.

Two read-only endpoints of the workspace hosts, built and parsed here without I/O; the
:class:`WorkspaceMethods` mixin gives ``DashScopeClient`` the sync/async methods that
follow the pages.

Sources (Model Studio API reference, 2026):

* "List model permissions" (help.aliyun.com/zh/model-studio/list-model-permissions, EN
  copy updated Sep 28, 2026): ``GET /api/v1/models/permissions``, query ``name`` (fuzzy),
  ``model`` (exact), ``page_no`` (from 1), ``page_size`` (1..200, default 20),
  ``authorization_scope`` (``AUTHORIZABLE`` default, or ``AUTHORIZED``), ``action``
  (``INFERENCE``). Answer: ``request_id``, ``code``/``message`` (null on success),
  ``success``, ``output.total``, ``output.page_no``, ``output.page_size``,
  ``output.permissions[]`` with ``model``, ``name`` (display name) and ``permissions``
  (``{"inference": true, "fine_tune": false, "deploy": false}``). CONFIRMED from the page.
* "List model quotas" (help.aliyun.com/zh/model-studio/list-quotas; EN copy updated
  Sep 28, 2026): ``GET /api/v1/quotas``, query ``name``, ``model``, ``page_no``,
  ``page_size`` (default 20; no maximum stated). Answer: ``output.total``/``page_no``/
  ``page_size`` and ``output.quotas[]`` with ``model``, ``workspace_id``, ``model_limit``
  (account level) and ``workspace_limit`` (null when the workspace sets none), each with
  ``request_limit``, ``request_limit_period`` (seconds: 60 = per minute, 1 = per second),
  ``usage_limit`` (null = none), ``usage_limit_field`` (e.g. ``total_tokens``),
  ``usage_limit_period``. CONFIRMED from the page; the Traditional-Chinese copy names the
  path ``/api/v1/models/limits`` instead (a documentation inconsistency: we use the path the
  English and Simplified-Chinese pages agree on).

ASSUMED (parsed tolerantly): a missing ``permissions`` object on an AUTHORIZED item means
"inference granted"; numbers may arrive as strings; ``total`` may be absent (then pages
are followed until a short or empty page, or one that adds nothing new).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlencode

from .protocol import HTTPRequest, load_success_body

if TYPE_CHECKING:
    from .config import ClientConfig
    from .http import RawResponse

__all__ = [
    "PERMISSIONS_PATH",
    "QUOTAS_PATH",
    "GrantedModel",
    "ModelQuota",
    "Page",
    "RateLimit",
    "WorkspaceMethods",
    "build_permissions_request",
    "build_quotas_request",
    "parse_permissions_page",
    "parse_quotas_page",
]

PERMISSIONS_PATH = "models/permissions"
QUOTAS_PATH = "quotas"
MAX_PERMISSIONS_PAGE = 200  # documented maximum
QUOTAS_PAGE = 20  # the documented default; the page states no maximum
_MAX_PAGES = 1000  # a service that ignores page_no must not loop us forever

T = TypeVar("T")


@dataclass(frozen=True)
class GrantedModel:
    """One model in the workspace's permission list.

    Example:
        >>> GrantedModel("qwen-plus", "Qwen-Plus", {"inference": True}).inference
        True
    """

    model: str
    name: str | None = None
    permissions: Mapping[str, bool] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def inference(self) -> bool:
        """Whether the model may be called (absent = granted: the item was listed as AUTHORIZED)."""
        return bool(self.permissions.get("inference", True))


@dataclass(frozen=True)
class RateLimit:
    """One limit object (``model_limit`` or ``workspace_limit``) of the quotas answer.

    Example:
        >>> RateLimit(request_limit=10, request_limit_period=1).rpm
        600
    """

    request_limit: int | None = None
    request_limit_period: int | None = None
    usage_limit: int | None = None
    usage_limit_field: str | None = None
    usage_limit_period: int | None = None

    @property
    def rpm(self) -> int | None:
        """Requests per minute (a per-second limit scaled to a minute)."""
        return _per_minute(self.request_limit, self.request_limit_period)

    @property
    def tpm(self) -> int | None:
        """Tokens (``usage_limit_field``) per minute, ``None`` when unlimited."""
        return _per_minute(self.usage_limit, self.usage_limit_period)


def _per_minute(limit: int | None, period: int | None) -> int | None:
    if limit is None:
        return None
    if not period or period <= 0:
        return limit  # period not given: the docs' unit is per minute
    return limit * 60 // period


@dataclass(frozen=True)
class ModelQuota:
    """The rate limits in force for one model.

    ``workspace_limit`` (set per workspace) takes precedence over ``model_limit`` (the
    account's, shared by all workspaces), as the docs describe.

    Example:
        >>> account, workspace = RateLimit(600, 60), RateLimit(60, 60, 1000, None, 60)
        >>> q = ModelQuota("qwen-plus", "ws-1", account, workspace)
        >>> q.rpm, q.tpm, q.source
        (60, 1000, 'workspace')
    """

    model: str
    workspace_id: str | None = None
    model_limit: RateLimit | None = None
    workspace_limit: RateLimit | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def source(self) -> str | None:
        """``"workspace"`` or ``"account"``: which limit is in force (``None``: neither)."""
        if self.workspace_limit is not None:
            return "workspace"
        return "account" if self.model_limit is not None else None

    @property
    def in_force(self) -> RateLimit | None:
        """The limit that applies to the caller."""
        return self.workspace_limit or self.model_limit

    @property
    def rpm(self) -> int | None:
        """Requests per minute in force, ``None`` when none is set."""
        limit = self.in_force
        return limit.rpm if limit is not None else None

    @property
    def tpm(self) -> int | None:
        """Tokens per minute in force, ``None`` when none is set."""
        limit = self.in_force
        return limit.tpm if limit is not None else None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a paginated answer.

    Example:
        >>> Page(("a", "b"), total=3, page_no=1, page_size=2).next_page_no
        2
    """

    items: tuple[T, ...]
    total: int | None
    page_no: int
    page_size: int

    @property
    def next_page_no(self) -> int | None:
        """The page to ask for next, or ``None`` when this was the last."""
        if not self.items or len(self.items) < self.page_size:
            return None
        if self.total is not None and self.page_no * self.page_size >= self.total:
            return None
        return self.page_no + 1


# ---------------------------------------------------------------------------- requests


def _get(
    config: ClientConfig, path: str, query: Mapping[str, Any], workspace: str | None
) -> HTTPRequest:
    params = {key: value for key, value in query.items() if value is not None}
    url = config.url(path, workspace=workspace) + "?" + urlencode(params)
    return HTTPRequest("GET", url, config.headers(workspace=workspace), None)


def build_permissions_request(
    config: ClientConfig,
    *,
    page_no: int = 1,
    page_size: int = MAX_PERMISSIONS_PAGE,
    model: str | None = None,
    workspace: str | None = None,
) -> HTTPRequest:
    """``GET models/permissions`` for the models granted (AUTHORIZED) to the workspace."""
    if not 1 <= page_size <= MAX_PERMISSIONS_PAGE:
        raise ValueError(f"page_size must be 1..{MAX_PERMISSIONS_PAGE}")
    query = {
        "authorization_scope": "AUTHORIZED",  # the default scope is AUTHORIZABLE
        "page_no": page_no,
        "page_size": page_size,
        "model": model,
    }
    return _get(config, PERMISSIONS_PATH, query, workspace)


def build_quotas_request(
    config: ClientConfig,
    *,
    model: str | None = None,
    page_no: int = 1,
    page_size: int = QUOTAS_PAGE,
    workspace: str | None = None,
) -> HTTPRequest:
    """``GET quotas`` (optionally for one model)."""
    if page_size < 1:
        raise ValueError("page_size must be positive")
    query = {"model": model, "page_no": page_no, "page_size": page_size}
    return _get(config, QUOTAS_PATH, query, workspace)


# ---------------------------------------------------------------------------- responses


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _page(
    response: RawResponse, key: str, item: Callable[[Mapping[str, Any]], T | None], asked: int
) -> Page[T]:
    payload = load_success_body(response.status, response.headers, response.body)
    output = payload.get("output")
    output = output if isinstance(output, Mapping) else {}
    raw_items = output.get(key)
    parsed = (
        [item(raw) for raw in raw_items if isinstance(raw, Mapping)]
        if isinstance(raw_items, list)
        else []
    )
    return Page(
        items=tuple(entry for entry in parsed if entry is not None),
        total=_int(output.get("total")),
        page_no=_int(output.get("page_no")) or asked,
        page_size=_int(output.get("page_size")) or len(parsed) or 1,
    )


def _granted_model(raw: Mapping[str, Any]) -> GrantedModel | None:
    model = raw.get("model") or raw.get("model_id")
    if not isinstance(model, str) or not model:
        return None
    permissions = raw.get("permissions")
    flags = (
        {str(k): bool(v) for k, v in permissions.items()}
        if isinstance(permissions, Mapping)
        else {}
    )
    name = raw.get("name")
    return GrantedModel(model, name if isinstance(name, str) else None, flags, dict(raw))


def _limit(raw: Any) -> RateLimit | None:
    if not isinstance(raw, Mapping):
        return None
    field_name = raw.get("usage_limit_field")
    return RateLimit(
        request_limit=_int(raw.get("request_limit")),
        request_limit_period=_int(raw.get("request_limit_period")),
        usage_limit=_int(raw.get("usage_limit")),
        usage_limit_field=field_name if isinstance(field_name, str) else None,
        usage_limit_period=_int(raw.get("usage_limit_period")),
    )


def _model_quota(raw: Mapping[str, Any]) -> ModelQuota | None:
    model = raw.get("model")
    if not isinstance(model, str) or not model:
        return None
    workspace = raw.get("workspace_id")
    return ModelQuota(
        model=model,
        workspace_id=workspace if isinstance(workspace, str) else None,
        model_limit=_limit(raw.get("model_limit")),
        workspace_limit=_limit(raw.get("workspace_limit")),
        raw=dict(raw),
    )


def parse_permissions_page(response: RawResponse, page_no: int = 1) -> Page[GrantedModel]:
    """Parse one page of ``models/permissions``.

    Raises:
        APIStatusError: the mapped error for an error answer (404 where the host lacks the
            endpoint, 401/403 for the key ...).
    """
    return _page(response, "permissions", _granted_model, page_no)


def parse_quotas_page(response: RawResponse, page_no: int = 1) -> Page[ModelQuota]:
    """Parse one page of ``quotas`` (errors as :func:`parse_permissions_page`)."""
    return _page(response, "quotas", _model_quota, page_no)


class _Pager(Generic[T]):
    """The I/O-free half of "follow the pages": what to ask next, what was collected."""

    def __init__(self, key: Callable[[T], str]) -> None:
        self._key = key
        self._seen: dict[str, T] = {}
        self.page_no: int | None = 1
        self._pages = 0

    def add(self, page: Page[T]) -> None:
        before = len(self._seen)
        for item in page.items:
            self._seen.setdefault(self._key(item), item)
        self._pages += 1
        grew = len(self._seen) > before
        self.page_no = page.next_page_no if grew and self._pages < _MAX_PAGES else None

    @property
    def items(self) -> list[T]:
        return list(self._seen.values())


class WorkspaceMethods:
    """``granted_models`` and ``quotas`` for ``DashScopeClient`` (a mixin).

    Example:
        >>> from dashscope_ws import DashScopeClient
        >>> from dashscope_ws.emulator import Emulator, SUB_KEY, SUB_WORKSPACE
        >>> with Emulator() as emu, DashScopeClient(
        ...     api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=emu.base_url
        ... ) as client:
        ...     "qwen-plus" in [g.model for g in client.granted_models()]
        True
    """

    if TYPE_CHECKING:
        config: ClientConfig

        def _call(self, request: HTTPRequest, parse: Callable[[RawResponse], T]) -> T: ...

        async def _acall(self, request: HTTPRequest, parse: Callable[[RawResponse], T]) -> T: ...

    def granted_models(self, *, workspace: str | None = None) -> list[GrantedModel]:
        """The models this key may call in ``workspace`` (default: the client's), all pages.

        Raises:
            APIStatusError: e.g. ``NotFoundError`` where the host does not offer the endpoint.
        """
        pager: _Pager[GrantedModel] = _Pager(lambda g: g.model)
        while pager.page_no is not None:
            no = pager.page_no
            request = build_permissions_request(self.config, page_no=no, workspace=workspace)
            pager.add(self._call(request, partial(parse_permissions_page, page_no=no)))
        return pager.items

    async def agranted_models(self, *, workspace: str | None = None) -> list[GrantedModel]:
        """Async :meth:`granted_models`."""
        pager: _Pager[GrantedModel] = _Pager(lambda g: g.model)
        while pager.page_no is not None:
            no = pager.page_no
            request = build_permissions_request(self.config, page_no=no, workspace=workspace)
            pager.add(await self._acall(request, partial(parse_permissions_page, page_no=no)))
        return pager.items

    def quotas(self, model: str | None = None, *, workspace: str | None = None) -> list[ModelQuota]:
        """The rate limits in force, for ``model`` or (``None``) every model, all pages."""
        pager: _Pager[ModelQuota] = _Pager(lambda q: q.model)
        while pager.page_no is not None:
            no = pager.page_no
            request = build_quotas_request(
                self.config, model=model, page_no=no, workspace=workspace
            )
            pager.add(self._call(request, partial(parse_quotas_page, page_no=no)))
        return pager.items

    async def aquotas(
        self, model: str | None = None, *, workspace: str | None = None
    ) -> list[ModelQuota]:
        """Async :meth:`quotas`."""
        pager: _Pager[ModelQuota] = _Pager(lambda q: q.model)
        while pager.page_no is not None:
            no = pager.page_no
            request = build_quotas_request(
                self.config, model=model, page_no=no, workspace=workspace
            )
            pager.add(await self._acall(request, partial(parse_quotas_page, page_no=no)))
        return pager.items

"""Workspace permissions, quotas and rate limits: the two read endpoints and the 429s.

``GET /api/v1/models/permissions`` and ``GET /api/v1/quotas`` answer from the config
(grants, and ``limits``: workspace -> model -> ``{"rpm", "tpm"}``) in the shapes of the
Model Studio API reference (see ``dashscope_ws/workspace.py`` for sources). When limits are
configured, every model call is counted in a sliding 60-second window per (workspace,
model) and refused past the limit with the service's answers (error-code page, protocol
reference §3.2):

* requests: ``429 Throttling.RateQuota`` "Requests rate limit exceeded, please try again later."
* tokens: ``429 Throttling.AllocationQuota`` "Allocated quota exceeded, please increase your
  quota limit."

with a ``Retry-After`` header (seconds until the window frees a slot). Whether the real
service sends ``Retry-After`` is UNCONFIRMED; the emulator does, so that clients honouring it
are testable. Tokens counted are the request's input tokens (the emulator's tokenizer): an
approximation of the service's accounting, which also counts output. Calls without a
workspace count under ``"default"``. Without ``limits`` nothing is counted.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from aiohttp import web

from .gate import authenticate
from .identities import MODELS, EmulatorConfig
from .requestbody import parse_json
from .tokenizer import count_tokens
from .wire import ServiceError, invalid, json_response

__all__ = ["DEFAULT_WORKSPACE", "QuotaDesk"]

DEFAULT_WORKSPACE = "default"
WINDOW = 60.0
RPM_MESSAGE = "Requests rate limit exceeded, please try again later."
TPM_MESSAGE = "Allocated quota exceeded, please increase your quota limit."
_SCOPES = ("AUTHORIZABLE", "AUTHORIZED")
Handler = Callable[[web.Request], Any]


def _limit_object(limit: Mapping[str, int] | None) -> dict[str, Any] | None:
    if limit is None:
        return None
    return {
        "request_limit": limit.get("rpm"),
        "request_limit_period": 60,
        "usage_limit": limit.get("tpm"),
        "usage_limit_field": "total_tokens",
        "usage_limit_period": 60,
    }


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class _Window:
    """Requests and tokens admitted in the last 60 seconds for one (workspace, model)."""

    def __init__(self) -> None:
        self.events: deque[tuple[float, int]] = deque()
        self.tokens = 0

    def expire(self, now: float) -> None:
        while self.events and self.events[0][0] <= now - WINDOW:
            self.tokens -= self.events.popleft()[1]

    def retry_after(self, now: float) -> str:
        oldest = self.events[0][0] if self.events else now
        return str(max(1, math.ceil(oldest + WINDOW - now)))


class QuotaDesk:
    """Serves the permission/quota endpoints and enforces configured RPM/TPM.

    Args:
        config: the emulator config (grants and ``limits``).
        request_id: the current request's id (the service puts it in every body).
        clock: seconds, monotonic (tests may inject one).

    Example:
        >>> desk = QuotaDesk(EmulatorConfig(), lambda: "r-1")
        >>> desk.enabled
        False
    """

    def __init__(
        self,
        config: EmulatorConfig,
        request_id: Callable[[], str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._request_id = request_id
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether any limit is configured (otherwise requests pass uncounted)."""
        return any(self._config.limits.values())

    def add_routes(self, app: web.Application) -> None:
        """Register the two GET endpoints (before any catch-all route)."""
        app.router.add_get("/api/v1/models/permissions", self._permissions)
        app.router.add_get("/api/v1/quotas", self._quotas)

    # -- enforcement -----------------------------------------------------------------------

    @web.middleware
    async def enforce(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count a model call against its limits; refuse it with a 429 past them."""
        if self.enabled and request.method == "POST":
            self._admit(request.headers, await request.read())
        response: web.StreamResponse = await handler(request)
        return response

    def _admit(self, headers: Mapping[str, str], raw: bytes) -> None:
        try:
            key, workspace = authenticate(self._config, headers)
        except ServiceError:
            return  # the endpoint answers it itself, in the service's order
        body = parse_json(raw)  # not JSON: the endpoint answers that too
        if not isinstance(body, Mapping) or not isinstance(body.get("model"), str):
            return
        workspace = workspace or self._config.key_workspace(key) or DEFAULT_WORKSPACE
        model = body["model"]
        limit = self._config.limits.get(workspace, {}).get(model)
        if not limit:
            return
        tokens = sum(count_tokens(text) for text in _strings(body.get("input")))
        now = self._clock()
        with self._lock:
            window = self._windows.setdefault((workspace, model), _Window())
            window.expire(now)
            rpm, tpm = limit.get("rpm"), limit.get("tpm")
            if rpm is not None and len(window.events) >= rpm:
                raise ServiceError(
                    429,
                    "Throttling.RateQuota",
                    RPM_MESSAGE,
                    {"Retry-After": window.retry_after(now)},
                )
            if tpm is not None and window.tokens >= tpm:
                raise ServiceError(
                    429,
                    "Throttling.AllocationQuota",
                    TPM_MESSAGE,
                    {"Retry-After": window.retry_after(now)},
                )
            window.events.append((now, tokens))
            window.tokens += tokens

    # -- read endpoints --------------------------------------------------------------------

    def _callable_models(self, key: str) -> list[str]:
        bound = self._config.key_workspace(key)
        if bound is None:  # a main-account key may call every model
            return sorted(set(MODELS) | set(self._config.models))
        return sorted(self._config.grants.get(bound, frozenset()))

    @staticmethod
    def _paging(query: Mapping[str, str], maximum: int | None) -> tuple[int, int]:
        try:
            page_no = int(query.get("page_no", "1"))
            page_size = int(query.get("page_size", "20"))
        except ValueError:
            raise invalid("page_no and page_size must be integers") from None
        if page_no < 1 or page_size < 1 or (maximum is not None and page_size > maximum):
            raise invalid(f"Range of page_size should be [1, {maximum}]")
        return page_no, page_size

    def _answer(self, key: str, items: list[dict[str, Any]], page: tuple[int, int]) -> web.Response:
        page_no, page_size = page
        start = (page_no - 1) * page_size
        body = {
            "request_id": self._request_id(),
            "code": None,
            "message": None,
            "success": True,
            "output": {
                "total": len(items),
                "page_no": page_no,
                "page_size": page_size,
                key: items[start : start + page_size],
            },
        }
        return json_response(body)

    def _select(self, names: list[str], query: Mapping[str, str]) -> list[str]:
        exact, fuzzy = query.get("model"), query.get("name", "").lower()
        return [n for n in names if (not exact or n == exact) and fuzzy in n.lower()]

    async def _permissions(self, request: web.Request) -> web.StreamResponse:
        key, _ = authenticate(self._config, request.headers)
        scope = request.query.get("authorization_scope", "AUTHORIZABLE")
        if scope not in _SCOPES:
            raise invalid(f"authorization_scope should be one of {list(_SCOPES)}")
        page = self._paging(request.query, 200)
        granted = self._callable_models(key)
        names = granted if scope == "AUTHORIZED" else sorted(set(MODELS) | set(self._config.models))
        items = [
            {
                "model": name,
                "name": name,
                "permissions": {"inference": name in granted, "fine_tune": False, "deploy": False},
            }
            for name in self._select(names, request.query)
        ]
        return self._answer("permissions", items, page)

    async def _quotas(self, request: web.Request) -> web.StreamResponse:
        key, workspace = authenticate(self._config, request.headers)
        page = self._paging(request.query, None)
        workspace = workspace or self._config.key_workspace(key) or DEFAULT_WORKSPACE
        configured = self._config.limits.get(workspace, {})
        items = [
            {
                "model": name,
                "workspace_id": workspace,
                # The emulator has no account-level limits: the account allows anything.
                "model_limit": _limit_object({}),
                "workspace_limit": _limit_object(configured.get(name)),
            }
            for name in self._select(self._callable_models(key), request.query)
        ]
        return self._answer("quotas", items, page)

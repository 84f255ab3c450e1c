"""The I/O-free bookkeeping of one call, shared by every sync and async driver loop.

:class:`Call` knows what a request is (method, path, model, workspace, for the logs and
the usage sink), counts attempts, asks the retry policy, and logs: one DEBUG record per
attempt and one INFO record per retry on ``logging.getLogger("dashscope_ws")``. Records
never carry the key: they are built from the URL path, the model, the workspace header
and the outcome only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from .errors import APIStatusError, DashScopeError
from .http import HTTPRequest, RawResponse
from .retry import RetryPolicy
from .settings import UsageSink
from .types import Usage

__all__ = ["Call", "logger"]

logger = logging.getLogger("dashscope_ws")

_KINDS = {"ChatResult": "chat", "EmbeddingBatch": "embedding", "RerankResult": "rerank"}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


class Call:
    """One logical call: its attempts, its retry decisions, its log records, its usage."""

    def __init__(self, request: HTTPRequest, policy: RetryPolicy) -> None:
        self._policy = policy
        self._request = request
        self._attempts = 0
        self._started = time.monotonic()
        self.method = request.method

    # Read only for log records and usage reports: computed then, not on every call.
    @cached_property
    def model(self) -> str:
        """The request's ``model`` (``""`` when its body has none)."""
        body = self._request.json
        return str(body.get("model", "")) if isinstance(body, Mapping) else ""

    @cached_property
    def workspace(self) -> str | None:
        """The request's ``X-DashScope-WorkSpace`` header."""
        return _header(self._request.headers, "X-DashScope-WorkSpace")

    @cached_property
    def path(self) -> str:
        """The URL path (never the query string or the host)."""
        return urlsplit(self._request.url).path

    def start(self) -> float:
        """Begin an attempt; returns its start time (``time.monotonic``)."""
        self._started = time.monotonic()
        return self._started

    def done(self, status: int | None, request_id: str | None) -> None:
        """Log the attempt that just ended (DEBUG)."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s model=%s workspace=%s status=%s request_id=%s elapsed=%.3fs",
                self.method, self.path, self.model or "-", self.workspace or "-",
                status if status is not None else "-", request_id or "-",
                time.monotonic() - self._started,
            )  # fmt: skip

    def answered(self, raw: RawResponse, result: Any) -> None:
        """Log a unary attempt that succeeded (the request id from the answer or header)."""
        request_id = getattr(result, "request_id", None) or _header(raw.headers, "x-request-id")
        self.done(raw.status, request_id)

    def backoff(self, error: DashScopeError, *, yielded: bool = False) -> float:
        """Seconds to wait before the next attempt; re-raises ``error`` when there is none.

        A stream that has yielded is never retried (the caller has seen output).
        """
        status = error.status_code if isinstance(error, APIStatusError) else None
        self.done(status, getattr(error, "request_id", None))
        self._attempts += 1
        delay = None if yielded else self._policy.delay(self._attempts, error)
        if delay is None:
            raise error
        logger.info(
            "retrying %s %s in %.2fs (attempt %d of %d): %s",
            self.method, self.path, delay, self._attempts + 1, self._policy.max_retries + 1,
            _reason(error),
        )  # fmt: skip
        return delay

    def record(self, sink: UsageSink | None, result: Any, kind: str | None = None) -> None:
        """Report ``result.usage`` (if any) to ``sink``."""
        usage = getattr(result, "usage", None)
        if sink is None or not isinstance(usage, Usage) or usage == Usage():
            return
        kind = kind or _KINDS.get(type(result).__name__, "call")
        sink.record(workspace=self.workspace, model=self.model, usage=usage, kind=kind)


def _reason(error: DashScopeError) -> str:
    if isinstance(error, APIStatusError):
        return f"{type(error).__name__} {error.status_code} {error.code}".rstrip()
    return f"{type(error).__name__}: {str(error)[:200]}"

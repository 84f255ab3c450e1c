"""LangChain-facing errors: each is both the core error and langchain-core's ``Model*Error``.

Code that catches ``dashscope_ws.RateLimitError`` and code that catches
``langchain_core.exceptions.ModelRateLimitError`` both see the same exception, with the
status, DashScope code, message, request id and ``Retry-After`` of the original.
``translate_errors`` is the one place where core errors become these classes; every
ChatDashScope method (sync, async, streamed or not) runs inside it.

``dashscope_ws.APIResponseValidationError`` (a 200 answer of the wrong shape) has no
langchain-core counterpart and passes through unchanged (docs/langchain.md says so).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from dashscope_ws import errors as core

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ContentFilterError",
    "ContextLengthExceededError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "StreamProtocolError",
    "is_context_overflow",
    "to_langchain_error",
    "translate_errors",
]


class APIStatusError(core.APIStatusError, ModelError):
    """A DashScope error answer with no more specific class (e.g. an unusual status).

    Example:
        >>> e = APIStatusError(302, "Redirect", "moved", "r-1")
        >>> isinstance(e, ModelError), e.request_id
        (True, 'r-1')
    """


class BadRequestError(core.BadRequestError, ModelInvalidRequestError):
    """400: invalid parameters, unknown model, wrong endpoint for the model.

    Example:
        >>> isinstance(BadRequestError(400, "InvalidParameter", "x"), ModelInvalidRequestError)
        True
    """


class ContentFilterError(core.ContentFilterError, BadRequestError):
    """400 ``DataInspectionFailed``: input or output failed content moderation.

    Example:
        >>> isinstance(ContentFilterError(400, "DataInspectionFailed", "x"), BadRequestError)
        True
    """


class ContextLengthExceededError(BadRequestError, ContextOverflowError):
    """400 whose message says the input is longer than the model's context window.

    Example:
        >>> e = ContextLengthExceededError(400, "InvalidParameter", "Range of input length ...")
        >>> isinstance(e, ContextOverflowError)
        True
    """


class AuthenticationError(core.AuthenticationError, ModelAuthenticationError):
    """401: invalid API key, or ``NOT AUTHORIZED`` for the workspace.

    Example:
        >>> AuthenticationError(401, "InvalidApiKey", "Invalid API-key provided.").status_code
        401
    """


class PermissionDeniedError(core.PermissionDeniedError, ModelPermissionDeniedError):
    """403: the key may not use this workspace or model (``Workspace.AccessDenied`` ...).

    Example:
        >>> PermissionDeniedError(403, "Model.AccessDenied", "denied").hint is not None
        True
    """


class NotFoundError(core.NotFoundError, ModelNotFoundError):
    """404: model or workspace not found.

    Example:
        >>> isinstance(NotFoundError(404, "ModelNotFound", "x"), ModelNotFoundError)
        True
    """


class RateLimitError(core.RateLimitError, ModelRateLimitError):
    """429 throttling or quota (after the core's own retries were used up).

    Example:
        >>> RateLimitError(429, "Throttling.RateQuota", "x", retry_after=2.0).retry_after
        2.0
    """


class InternalServerError(core.InternalServerError, ModelAPIError):
    """5xx: service-side failure (after the core's own retries were used up).

    Example:
        >>> InternalServerError(503, "ModelUnavailable", "x").is_retryable
        True
    """


class APIConnectionError(core.APIConnectionError, ModelConnectionError):
    """No HTTP answer (DNS failure, refused, reset).

    Example:
        >>> str(APIConnectionError("connection refused"))
        'connection refused'
    """


class APITimeoutError(core.APITimeoutError, APIConnectionError, ModelTimeoutError):
    """Connecting, or waiting for the next bytes, took longer than ``timeout``.

    Example:
        >>> isinstance(APITimeoutError("read timed out"), ModelTimeoutError)
        True
    """


class StreamProtocolError(core.StreamProtocolError, ModelAPIError):
    """The stream was malformed or ended before its final event.

    langchain-core has no class for this; ``ModelAPIError`` (a server-side failure)
    is the closest family.

    Example:
        >>> isinstance(StreamProtocolError("cut"), ModelAPIError)
        True
    """


_E = TypeVar("_E")

_STATUS_CLASSES: dict[type[core.APIStatusError], type[core.APIStatusError]] = {
    core.ContentFilterError: ContentFilterError,
    core.BadRequestError: BadRequestError,
    core.AuthenticationError: AuthenticationError,
    core.PermissionDeniedError: PermissionDeniedError,
    core.NotFoundError: NotFoundError,
    core.RateLimitError: RateLimitError,
    core.InternalServerError: InternalServerError,
    core.APIStatusError: APIStatusError,
}
_OTHER_CLASSES: dict[type[core.DashScopeError], type[core.DashScopeError]] = {
    core.APITimeoutError: APITimeoutError,
    core.APIConnectionError: APIConnectionError,
    core.StreamProtocolError: StreamProtocolError,
}
# DashScope reports an over-long prompt as a plain InvalidParameter; only the
# message tells it apart ("Range of input length should be [1, 30720]"). The same text
# answers an EMPTY input (the range starts at 1), so a blank input is a bad request,
# never a context overflow: callers that know their inputs pass them (``inputs=``).
_CONTEXT_OVERFLOW_MARKERS = ("input length", "context length", "maximum context")


def _lookup(error: core.DashScopeError, table: Mapping[type[Any], _E]) -> _E | None:
    for klass in type(error).__mro__:
        if klass in table:
            return table[klass]
    return None


def is_context_overflow(error: core.APIStatusError, inputs: Sequence[str] | None = None) -> bool:
    """Whether a bad request means "the input is longer than the model accepts".

    Args:
        error: the core error.
        inputs: the texts that were sent, when the caller knows them; a blank one makes
            the error a plain bad request ("Range of input length should be [1, N]" is
            also the answer to an empty text).
    """
    if not isinstance(error, core.BadRequestError) or isinstance(error, core.ContentFilterError):
        return False
    if inputs is not None and any(not text.strip() for text in inputs):
        return False
    return any(marker in error.message.lower() for marker in _CONTEXT_OVERFLOW_MARKERS)


def to_langchain_error(
    error: core.DashScopeError, *, inputs: Sequence[str] | None = None
) -> core.DashScopeError:
    """The LangChain class for a core error, keeping every field of the original.

    Errors that already are LangChain errors, and ``DashScopeError`` subclasses this
    table does not know, are returned unchanged. ``inputs``: see :func:`is_context_overflow`.
    """
    if isinstance(error, ModelError):
        return error
    if isinstance(error, core.APIStatusError):
        status_cls = _lookup(error, _STATUS_CLASSES)
        if status_cls is BadRequestError and is_context_overflow(error, inputs):
            status_cls = ContextLengthExceededError
        if status_cls is None:  # pragma: no cover - APIStatusError is in the table
            return error
        return status_cls(
            error.status_code,
            error.code,
            error.message,
            error.request_id,
            retry_after=error.retry_after,
            body=error.body,
        )
    other_cls = _lookup(error, _OTHER_CLASSES)
    return error if other_cls is None else other_cls(*error.args)


@contextmanager
def translate_errors(inputs: Sequence[str] | None = None) -> Iterator[None]:
    """Re-raise core errors raised inside the block as their LangChain classes.

    Works unchanged around sync code, ``await`` and inside (async) generators.
    ``inputs``: the texts sent, when known (see :func:`is_context_overflow`).
    """
    try:
        yield
    except core.DashScopeError as error:
        translated = to_langchain_error(error, inputs=inputs)
        if translated is error:
            raise
        raise translated from error

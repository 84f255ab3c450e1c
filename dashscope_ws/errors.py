"""The exception tree and the one table that maps DashScope errors onto it.

``error_from_response`` is used for HTTP error bodies, for errors that arrive
before the first byte and for ``event:error`` mid-stream, so a given failure
raises the same class whichever way the service chose to report it. The hints and
429 limit kinds per code live in :mod:`dashscope_ws._error_codes`.
"""

from __future__ import annotations

from typing import Any

from ._error_codes import LIMIT_CODES, LIMIT_MESSAGES, WORKSPACE_HINTS

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ContentFilterError",
    "DashScopeError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "StreamProtocolError",
    "error_from_response",
]


class DashScopeError(Exception):
    """Base class of every error raised by ``dashscope_ws``.

    Example:
        >>> issubclass(RateLimitError, DashScopeError)
        True
    """


class APIConnectionError(DashScopeError):
    """The request never got an HTTP answer (DNS, refused, reset). Retryable.

    Example:
        >>> str(APIConnectionError("connection refused"))
        'connection refused'
    """


class APITimeoutError(APIConnectionError):
    """Connecting, or waiting for the next bytes, took longer than the timeout.

    Example:
        >>> isinstance(APITimeoutError("read timed out"), APIConnectionError)
        True
    """


class StreamProtocolError(DashScopeError):
    """The stream was malformed, or ended before its final event.

    Raised instead of returning a silently truncated answer.

    Example:
        >>> str(StreamProtocolError("stream ended before its final event"))
        'stream ended before its final event'
    """


class APIResponseValidationError(DashScopeError):
    """A successful (200) answer whose JSON does not have the documented shape.

    Raised instead of returning an empty or wrong result: no ``output``, an empty
    ``choices`` list, a ``tool_calls`` that is not a list, an embedding of the wrong
    dimension, a rerank index out of range... Never retried: the same request would
    most likely get the same answer.

    Attributes:
        status_code: the HTTP status of the answer (200 for streams).
        message: what was wrong, naming the field.
        request_id: the request id, when the answer or its headers had one.
        body: a short excerpt (at most 200 characters) of the offending body.

    Example:
        >>> e = APIResponseValidationError("output.choices is empty", request_id="r-1")
        >>> (e.status_code, e.request_id, str(e))
        (200, 'r-1', 'invalid response: output.choices is empty (request_id=r-1)')
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 200,
        request_id: str | None = None,
        body: str = "",
    ) -> None:
        self.status_code = status_code
        self.message = message
        self.request_id = request_id
        self.body = body[:200]
        super().__init__(f"invalid response: {message} (request_id={request_id or 'unknown'})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_validation,
            (self.message, self.status_code, self.request_id, self.body),
        )


def _rebuild_validation(
    message: str, status_code: int, request_id: str | None, body: str
) -> APIResponseValidationError:
    return APIResponseValidationError(
        message, status_code=status_code, request_id=request_id, body=body
    )


class APIStatusError(DashScopeError):
    """The service answered with an error (HTTP status, or an in-stream error event).

    Attributes:
        status_code: HTTP status (for in-stream errors, the status the event reports).
        code: DashScope error code, e.g. ``"Throttling.RateQuota"``.
        message: the service's message.
        request_id: the request id to quote to Alibaba Cloud support.
        retry_after: seconds from a ``Retry-After`` header, when one was sent.
        body: the decoded error body.

    Example:
        >>> e = error_from_response(403, "Model.AccessDenied", "Model access denied.", "r-1")
        >>> type(e).__name__, e.status_code, e.request_id
        ('PermissionDeniedError', 403, 'r-1')
    """

    retryable = False

    def __init__(
        self,
        status_code: int,
        code: str | None,
        message: str | None,
        request_id: str | None = None,
        *,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        self.status_code = status_code
        self.code = code or ""
        self.message = message or ""
        self.request_id = request_id
        self.retry_after = retry_after
        self.body = body
        super().__init__(self._describe())

    @property
    def hint(self) -> str | None:
        """What to change, for errors the user can fix by configuration."""
        return WORKSPACE_HINTS.get(self.code)

    def _describe(self) -> str:
        text = f"[{self.status_code} {self.code or 'error'}] {self.message or '(no message)'}"
        text += f" (request_id={self.request_id or 'unknown'})"
        if self.hint:
            text += f"\nHint: {self.hint}"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep keyword-only fields through pickling (multiprocessing, caches).
        return (
            _rebuild,
            (
                type(self),
                self.status_code,
                self.code,
                self.message,
                self.request_id,
                self.retry_after,
                self.body,
            ),
        )


def _rebuild(cls: type[APIStatusError], *args: Any) -> APIStatusError:
    status, code, message, request_id, retry_after, body = args
    return cls(status, code, message, request_id, retry_after=retry_after, body=body)


class BadRequestError(APIStatusError):
    """400: invalid parameters, unknown model, wrong endpoint for the model.

    Example:
        >>> error_from_response(400, "InvalidParameter", "Model not exist.").__class__.__name__
        'BadRequestError'
    """


class ContentFilterError(BadRequestError):
    """400 ``DataInspectionFailed``: input or output failed content moderation.

    Example:
        >>> isinstance(error_from_response(400, "DataInspectionFailed", "x"), ContentFilterError)
        True
    """


class AuthenticationError(APIStatusError):
    """401: invalid API key, or ``NOT AUTHORIZED`` for the workspace.

    Example:
        >>> error_from_response(401, "InvalidApiKey", "Invalid API-key provided.").status_code
        401
    """


class PermissionDeniedError(APIStatusError):
    """403 (and the 400 ``Arrearage``): the key may not do this here.

    Example:
        >>> isinstance(error_from_response(400, "Arrearage", "x"), PermissionDeniedError)
        True
    """


class NotFoundError(APIStatusError):
    """404: model, workspace or resource not found.

    Example:
        >>> error_from_response(404, "WorkSpaceNotFound", "x").hint is not None
        True
    """


class RateLimitError(APIStatusError):
    """429 throttling or quota. Retryable.

    ``limit`` says which limit was hit: ``"rpm"`` (requests per minute/second),
    ``"tpm"`` (tokens per minute/second), ``"burst"`` (rate rose too quickly) or ``None``
    when the answer does not say; ``retry_after`` holds a ``Retry-After`` header's seconds.

    Example:
        >>> e = error_from_response(429, "Throttling.RateQuota", "slow down", retry_after=2)
        >>> e.retryable, e.limit, e.retry_after
        (True, 'rpm', 2)
    """

    retryable = True

    @property
    def limit(self) -> str | None:
        """``"rpm"``, ``"tpm"``, ``"burst"`` or ``None``, read from the message, then the code."""
        text = self.message.lower()
        for marker, limit in LIMIT_MESSAGES:
            if marker in text:
                return limit
        return LIMIT_CODES.get(self.code)


class InternalServerError(APIStatusError):
    """5xx: service-side failure. Retryable.

    Example:
        >>> error_from_response(503, "ModelUnavailable", "x").retryable
        True
    """

    retryable = True


# Codes whose class does not follow from the HTTP status alone. Checked first, so
# that an in-stream error (where the status may be missing or 200) still maps right.
_BY_CODE: dict[str, type[APIStatusError]] = {
    "DataInspectionFailed": ContentFilterError,
    "data_inspection_failed": ContentFilterError,
    "InvalidParameter": BadRequestError,
    "InvalidApiKey": AuthenticationError,
    "invalid_api_key": AuthenticationError,
    "NOT AUTHORIZED": AuthenticationError,
    "Arrearage": PermissionDeniedError,
    "AccessDenied": PermissionDeniedError,
    "access_denied": PermissionDeniedError,
    "Workspace.AccessDenied": PermissionDeniedError,
    "Model.AccessDenied": PermissionDeniedError,
    "App.AccessDenied": PermissionDeniedError,
    "InvalidAppId": BadRequestError,
    "FlowNotPublished": BadRequestError,
    "AllocationQuota.FreeTierOnly": PermissionDeniedError,
    # Billing states arrive as 429 but waiting never fixes them: do not retry.
    "CommodityNotPurchased": PermissionDeniedError,
    "PrepaidBillOverdue": PermissionDeniedError,
    "PostpaidBillOverdue": PermissionDeniedError,
    "ModelNotFound": NotFoundError,
    "model_not_found": NotFoundError,
    "model_not_supported": NotFoundError,
    "Model.NotExist": NotFoundError,  # v2 SDK enum; unconfirmed as a wire code
    "NotFound": NotFoundError,
    "WorkSpaceNotFound": NotFoundError,
    # Compatible-mode throttling codes, paired with Throttling.* on the error-code page.
    "LimitRequests": RateLimitError,
    "limit_requests": RateLimitError,
    "limit_burst_rate": RateLimitError,
    "insufficient_quota": RateLimitError,
    "RequestTimeOut": InternalServerError,
    "internal_error": InternalServerError,
    "SystemError": InternalServerError,
    "ModelServiceFailed": InternalServerError,
    "ModelServingError": InternalServerError,
    "ModelUnavailable": InternalServerError,
    "ServiceUnavailable": InternalServerError,  # v2 SDK enum; unconfirmed as a wire code
    "GatewayTimeout": InternalServerError,  # v2 SDK enum; unconfirmed as a wire code
}
# Code prefixes (``Throttling.BurstRate`` ...), checked after exact codes.
_BY_PREFIX: tuple[tuple[str, type[APIStatusError]], ...] = (
    ("Throttling", RateLimitError),
    ("AccessDenied.", PermissionDeniedError),
    ("InternalError", InternalServerError),
    ("InvalidParameter.", BadRequestError),
    ("BadRequest.", BadRequestError),
)
_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: InternalServerError,
    413: BadRequestError,
    415: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
}


def error_class(status_code: int, code: str | None) -> type[APIStatusError]:
    """The exception class for a status and code (see the table above)."""
    if code:
        if code in _BY_CODE:
            return _BY_CODE[code]
        for prefix, cls in _BY_PREFIX:
            if code.startswith(prefix):
                return cls
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    if status_code >= 500:
        return InternalServerError
    return BadRequestError if 400 <= status_code < 500 else APIStatusError


def error_from_response(
    status_code: int,
    code: str | None,
    message: str | None,
    request_id: str | None = None,
    *,
    retry_after: float | None = None,
    body: Any = None,
) -> APIStatusError:
    """Build (not raise) the typed exception for a DashScope error."""
    cls = error_class(status_code, code)
    return cls(status_code, code, message, request_id, retry_after=retry_after, body=body)


class UnsupportedModelError(DashScopeError, ValueError):
    """A model this client cannot call the way it was asked, refused before any request.

    Raised, for example, for the Qwen-Omni models, which the service serves only in
    OpenAI-compatible mode (streamed), never on the native generation paths.

    Attributes:
        model: the model name as given.
        reason: why it cannot be called (without the model name).

    Example:
        >>> error = UnsupportedModelError("qwen-omni-turbo", "served only in compatible mode")
        >>> error.model, isinstance(error, ValueError)
        ('qwen-omni-turbo', True)
    """

    def __init__(self, model: str, reason: str) -> None:
        super().__init__(f"model {model!r} cannot be called here: {reason}")
        self.model = model
        self.reason = reason


class InvalidRequestError(DashScopeError, ValueError):
    """The request cannot be sent as built (e.g. NaN, a set or bytes in the JSON body).

    Raised before anything is sent, never retried.

    Example:
        >>> issubclass(InvalidRequestError, ValueError)
        True
    """


class ResponseTooLargeError(DashScopeError):
    """A non-streamed answer exceeded ``max_response_bytes``; the rest was not read.

    Example:
        >>> str(ResponseTooLargeError("answer larger than 10 bytes"))
        'answer larger than 10 bytes'
    """

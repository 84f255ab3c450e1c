"""The error table (protocol reference §3.2) and what str(error) shows."""

from __future__ import annotations

import json
import pickle

import pytest

from dashscope_ws.config import ClientConfig
from dashscope_ws.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    DashScopeError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    error_from_response,
)
from dashscope_ws.protocol import parse_error
from dashscope_ws.sse import ChatStreamDecoder

# (HTTP status, code, a real message from the table, expected class)
TABLE = [
    (400, "InvalidParameter", "Model not exist.", BadRequestError),
    (400, "InvalidParameter", "url error, please check url！", BadRequestError),
    (
        400,
        "InvalidParameter.NotSupportEnableThinking",
        "The model x does not support enable_thinking.",
        BadRequestError,
    ),
    (
        400,
        "DataInspectionFailed",
        "Input or output data may contain inappropriate content.",
        ContentFilterError,
    ),
    (
        400,
        "data_inspection_failed",
        "Input data may contain inappropriate content.",
        ContentFilterError,
    ),
    (
        400,
        "InvalidParameter.DataInspection",
        "Unable to download the media resource.",
        BadRequestError,
    ),
    (
        400,
        "BadRequest.EmptyInput",
        "Required input parameter missing from request.",
        BadRequestError,
    ),
    (400, "BadRequest.TooLarge", "Payload Too Large.", BadRequestError),
    (413, "BadRequest.TooLarge", "Payload Too Large.", BadRequestError),
    (415, "BadRequest.UnsupportedFileFormat", "File format unsupported.", BadRequestError),
    (400, "InvalidURL", "Invalid URL provided in your request.", BadRequestError),
    (
        400,
        "Arrearage",
        "Access denied, please make sure your account is in good standing.",
        PermissionDeniedError,
    ),
    (401, "InvalidApiKey", "Invalid API-key provided.", AuthenticationError),
    (401, "invalid_api_key", "Incorrect API key provided.", AuthenticationError),
    (
        401,
        "NOT AUTHORIZED",
        "Access denied: Either you are not authorized to access this workspace, "
        "or the workspace does not exist.",
        AuthenticationError,
    ),
    (403, "AccessDenied", "Access denied.", PermissionDeniedError),
    (403, "access_denied", "Access denied.", PermissionDeniedError),
    (403, "AccessDenied.Unpurchased", "Access to model denied.", PermissionDeniedError),
    (403, "Model.AccessDenied", "Model access denied.", PermissionDeniedError),
    (403, "App.AccessDenied", "App access denied.", PermissionDeniedError),
    (403, "Workspace.AccessDenied", "Workspace access denied.", PermissionDeniedError),
    (
        403,
        "AllocationQuota.FreeTierOnly",
        "The free tier of the model has been exhausted.",
        PermissionDeniedError,
    ),
    (404, "ModelNotFound", "Model can not be found.", NotFoundError),
    (404, "model_not_found", "The model x does not exist.", NotFoundError),
    (
        404,
        "model_not_supported",
        "Unsupported model x for OpenAI compatibility mode.",
        NotFoundError,
    ),
    (404, "WorkSpaceNotFound", "WorkSpace can not be found.", NotFoundError),
    (404, "NotFound", "Not found!", NotFoundError),
    (408, "RequestTimeOut", "Request timed out, please try again later.", InternalServerError),
    (429, "Throttling", "Requests throttling triggered.", RateLimitError),
    (
        429,
        "Throttling.RateQuota",
        "Requests rate limit exceeded, please try again later.",
        RateLimitError,
    ),
    (429, "limit_requests", "You have exceeded your request limit.", RateLimitError),
    (429, "Throttling.BurstRate", "Request rate increased too quickly.", RateLimitError),
    (429, "Throttling.AllocationQuota", "Allocated quota exceeded.", RateLimitError),
    (429, "insufficient_quota", "You exceeded your current quota.", RateLimitError),
    (429, "CommodityNotPurchased", "Commodity has not purchased yet.", PermissionDeniedError),
    (429, "PrepaidBillOverdue", "The prepaid bill is overdue.", PermissionDeniedError),
    (429, "PostpaidBillOverdue", "The postpaid bill is overdue.", PermissionDeniedError),
    (500, "InternalError", "An internal error has occured.", InternalServerError),
    (500, "internal_error", "An internal error has occured.", InternalServerError),
    (500, "InternalError.Algo", "x", InternalServerError),
    (500, "SystemError", "x", InternalServerError),
    (500, "RequestTimeOut", "Request timed out.", InternalServerError),
    (503, "ModelServingError", "Too many requests.", InternalServerError),
    (503, "ModelUnavailable", "Model is unavailable, please try again later.", InternalServerError),
]


@pytest.mark.parametrize(("status", "code", "message", "cls"), TABLE)
def test_table_row_non_stream(
    status: int, code: str, message: str, cls: type[APIStatusError]
) -> None:
    body = json.dumps({"code": code, "message": message, "request_id": "rid-1"}).encode()
    error = parse_error(status, {}, body)
    assert type(error) is cls
    assert (error.status_code, error.code, error.message, error.request_id) == (
        status, code, message, "rid-1",
    )  # fmt: skip
    text = str(error)
    for part in (str(status), code, message, "rid-1"):
        assert part in text
    assert error.retryable is issubclass(cls, (RateLimitError, InternalServerError))


@pytest.mark.parametrize(("status", "code", "message", "cls"), TABLE)
def test_table_row_mid_stream_maps_the_same(
    status: int, code: str, message: str, cls: type[APIStatusError]
) -> None:
    data = json.dumps({"code": code, "message": message, "request_id": "rid-2"})
    event = f"event:error\n:HTTP_STATUS/{status}\ndata:{data}\n\n".encode()
    with pytest.raises(cls) as info:
        ChatStreamDecoder(model="qwen-plus").feed(event)
    assert type(info.value) is cls
    assert info.value.status_code == status


@pytest.mark.parametrize(
    ("code", "status", "fragment"),
    [
        ("Workspace.AccessDenied", 403, "DASHSCOPE_WORKSPACE"),
        ("NOT AUTHORIZED", 401, "DASHSCOPE_WORKSPACE"),
        ("WorkSpaceNotFound", 404, "workspace"),
        ("Model.AccessDenied", 403, "grant"),
        ("InvalidApiKey", 401, "DASHSCOPE_API_KEY"),
    ],
)
def test_hints_for_configuration_errors(code: str, status: int, fragment: str) -> None:
    error = error_from_response(status, code, "denied", "r")
    assert error.hint is not None
    assert fragment in error.hint
    assert "Hint:" in str(error)


def test_no_hint_for_plain_errors() -> None:
    error = error_from_response(400, "InvalidParameter", "bad")
    assert error.hint is None
    assert "Hint" not in str(error)


def test_api_key_never_in_error_text() -> None:
    key = "sk-never-show-me-0123456789"
    config = ClientConfig.resolve(api_key=key, workspace="ws1", env={})
    body = json.dumps({"code": "InvalidApiKey", "message": "Invalid API-key provided."}).encode()
    error = parse_error(401, {"x-request-id": "r"}, body)
    for text in (str(error), repr(error), repr(config), str(config.api_key)):
        assert key not in text


def test_pickle_keeps_fields() -> None:
    error = error_from_response(429, "Throttling", "slow", "r", retry_after=2.0, body={"a": 1})
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301
    assert type(copy) is RateLimitError
    assert (copy.code, copy.retry_after, copy.body, str(copy)) == (
        "Throttling", 2.0, {"a": 1}, str(error),
    )  # fmt: skip


def test_hierarchy() -> None:
    assert issubclass(ContentFilterError, BadRequestError)
    assert all(issubclass(row[3], DashScopeError) for row in TABLE)

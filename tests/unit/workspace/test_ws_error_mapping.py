# ruff: noqa: E501  (the table rows quote the error-code page verbatim)
"""Error-mapping audit: every code and message of the protocol reference §3.2, one case each.

Each row is (HTTP status, code, message) as the error-code page lists it, and the class the
core must raise; the LangChain rows add the class ``translate_errors`` must raise.
"""

from __future__ import annotations

import json
import pickle

import pytest

from dashscope_ws import errors as core
from dashscope_ws.protocol import parse_error
from langchain_dashscope_ws import errors as lc

FREE_TIER = (
    "The free tier of the model has been exhausted. If you wish to continue access the model "
    'on a paid basis, please disable the "use free tier only" mode in the management console.'
)
NOT_AUTHORIZED = "Access denied: Either you are not authorized to access this workspace."

CORE_TABLE: list[tuple[int, str, str, type[core.APIStatusError]]] = [
    (400, "InvalidParameter", "Required parameter(s) missing or invalid, please check the request parameters.", core.BadRequestError),
    (400, "InvalidParameter", "Model not exist.", core.BadRequestError),
    (400, "InvalidParameter", "url error, please check url！", core.BadRequestError),
    (400, "InvalidParameter", "Range of input length should be [1, 8192]", core.BadRequestError),
    (400, "InvalidParameter.NotSupportEnableThinking", "The model x does not support enable_thinking.", core.BadRequestError),
    (400, "DataInspectionFailed", "Input or output data may contain inappropriate content.", core.ContentFilterError),
    (400, "data_inspection_failed", "Input data may contain inappropriate content.", core.ContentFilterError),
    (400, "InvalidParameter.DataInspection", "Unable to download the media resource during the data inspection process.", core.BadRequestError),
    (400, "BadRequest.EmptyInput", "Required input parameter missing from request.", core.BadRequestError),
    (400, "BadRequest.EmptyParameters", 'Required parameter "parameters" missing from request.', core.BadRequestError),
    (400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.', core.BadRequestError),
    (400, "BadRequest.IllegalInput", "The input parameter requires json format.", core.BadRequestError),
    (413, "BadRequest.TooLarge", "Payload Too Large.", core.BadRequestError),
    (415, "BadRequest.UnsupportedFileFormat", "File format unsupported.", core.BadRequestError),
    (400, "BadRequest.InputDownloadFailed", "Failed to download the input file: x.", core.BadRequestError),
    (400, "InvalidURL", "Invalid URL provided in your request.", core.BadRequestError),
    (400, "Arrearage", "Access denied, please make sure your account is in good standing.", core.PermissionDeniedError),
    (400, "UnsupportedOperation", "", core.BadRequestError),
    (400, "FlowNotPublished", "", core.BadRequestError),
    (401, "InvalidApiKey", "Invalid API-key provided.", core.AuthenticationError),
    (401, "invalid_api_key", "Incorrect API key provided.", core.AuthenticationError),
    (401, "NOT AUTHORIZED", NOT_AUTHORIZED, core.AuthenticationError),
    (403, "AccessDenied", "Access denied.", core.PermissionDeniedError),
    (403, "access_denied", "current user api does not support synchronous calls.", core.PermissionDeniedError),
    (403, "AccessDenied.Unpurchased", "Access to model denied. Please make sure you are eligible for using the model.", core.PermissionDeniedError),
    (403, "Model.AccessDenied", "Model access denied.", core.PermissionDeniedError),
    (403, "App.AccessDenied", "App access denied.", core.PermissionDeniedError),
    (403, "Workspace.AccessDenied", "Workspace access denied.", core.PermissionDeniedError),
    (403, "AllocationQuota.FreeTierOnly", FREE_TIER, core.PermissionDeniedError),
    (404, "ModelNotFound", "Model can not be found.", core.NotFoundError),
    (404, "model_not_found", "The model x does not exist or you do not have access to it.", core.NotFoundError),
    (404, "model_not_supported", "Unsupported model x for OpenAI compatibility mode.", core.NotFoundError),
    (404, "WorkSpaceNotFound", "WorkSpace can not be found.", core.NotFoundError),
    (404, "NotFound", "Not found!", core.NotFoundError),
    (408, "RequestTimeOut", "Request timed out, please try again later.", core.InternalServerError),
    (500, "RequestTimeOut", "Request timed out, please try again later.", core.InternalServerError),
    (429, "Throttling", "Requests throttling triggered.", core.RateLimitError),
    (429, "Throttling", "Too many requests in route. Please try again later.", core.RateLimitError),
    (429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.", core.RateLimitError),
    (429, "LimitRequests", "You have exceeded your request limit.", core.RateLimitError),
    (429, "limit_requests", "You exceeded your current requests list.", core.RateLimitError),
    (429, "Throttling.BurstRate", "Request rate increased too quickly.", core.RateLimitError),
    (429, "limit_burst_rate", "Request rate increased too quickly.", core.RateLimitError),
    (429, "Throttling.AllocationQuota", "Allocated quota exceeded, please increase your quota limit.", core.RateLimitError),
    (429, "insufficient_quota", "You exceeded your current quota, please check your plan and billing details.", core.RateLimitError),
    (429, "Throttling.AllocationQuota", "Free allocated quota exceeded.", core.RateLimitError),
    (429, "CommodityNotPurchased", "Commodity has not purchased yet.", core.PermissionDeniedError),
    (429, "PrepaidBillOverdue", "The prepaid bill is overdue.", core.PermissionDeniedError),
    (429, "PostpaidBillOverdue", "The postpaid bill is overdue.", core.PermissionDeniedError),
    (500, "InternalError", "An internal error has occured, please try again later or contact service support.", core.InternalServerError),
    (500, "internal_error", "An internal error has occured.", core.InternalServerError),
    (500, "InternalError.Algo", "", core.InternalServerError),
    (500, "InternalError.Timeout", "", core.InternalServerError),
    (500, "SystemError", "", core.InternalServerError),
    (500, "ModelServiceFailed", "", core.InternalServerError),
    (500, "InvokePluginFailed", "", core.InternalServerError),
    (500, "AppProcessFailed", "", core.InternalServerError),
    (503, "ModelServingError", "Too many requests. Your requests are being throttled due to system capacity limits.", core.InternalServerError),
    (503, "ModelUnavailable", "Model is unavailable, please try again later.", core.InternalServerError),
]  # fmt: skip


@pytest.mark.parametrize(("status", "code", "message", "expected"), CORE_TABLE)
def test_core_class_for_every_documented_error(
    status: int, code: str, message: str, expected: type[core.APIStatusError]
) -> None:
    error = core.error_from_response(status, code, message, "r-1")
    assert type(error) is expected
    assert (error.status_code, error.code, error.message, error.request_id) == (
        status,
        code,
        message,
        "r-1",
    )


# In-stream errors may arrive with the SDK's default status 400 (§2.5); codes whose class
# is not a 400 must still map by code.
@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("Throttling.RateQuota", core.RateLimitError),
        ("insufficient_quota", core.RateLimitError),
        ("ModelServiceFailed", core.InternalServerError),
        ("Model.AccessDenied", core.PermissionDeniedError),
        ("WorkSpaceNotFound", core.NotFoundError),
        ("DataInspectionFailed", core.ContentFilterError),
    ],
)
def test_in_stream_status_400_still_maps_by_code(
    code: str, expected: type[core.APIStatusError]
) -> None:
    assert type(core.error_from_response(400, code, "x")) is expected


LIMITS = [
    ("Throttling.RateQuota", "Requests rate limit exceeded, please try again later.", "rpm"),
    ("LimitRequests", "You have exceeded your request limit.", "rpm"),
    ("limit_requests", "You exceeded your current requests list.", "rpm"),
    ("Throttling.AllocationQuota", "Allocated quota exceeded, please increase your quota limit.", "tpm"),
    ("insufficient_quota", "You exceeded your current quota, please check your plan and billing details.", "tpm"),
    ("Throttling.BurstRate", "Request rate increased too quickly. Please smooth it.", "burst"),
    ("limit_burst_rate", "Request rate increased too quickly.", "burst"),
    ("Throttling.AllocationQuota", "Free allocated quota exceeded.", None),
    ("Throttling", "Requests throttling triggered.", None),
    # The message wins over the code; with no message, the code decides.
    ("Throttling", "Requests rate limit exceeded, please try again later.", "rpm"),
    ("Throttling.AllocationQuota", "", "tpm"),
]  # fmt: skip


@pytest.mark.parametrize(("code", "message", "limit"), LIMITS)
def test_rate_limit_says_which_limit(code: str, message: str, limit: str | None) -> None:
    error = core.error_from_response(429, code, message)
    assert isinstance(error, core.RateLimitError)
    assert error.limit == limit


WIRE_429 = [
    ("Throttling.RateQuota", "Requests rate limit exceeded, please try again later.", "rpm"),
    (
        "Throttling.AllocationQuota",
        "Allocated quota exceeded, please increase your quota limit.",
        "tpm",
    ),
    ("Throttling.BurstRate", "Request rate increased too quickly.", "burst"),
]


@pytest.mark.parametrize(("code", "message", "limit"), WIRE_429)
@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"Retry-After": "3"}, 3.0), ({"retry-after-ms": "1500"}, 1.5), ({}, None)],
)
@pytest.mark.parametrize("envelope", ["native", "compatible", "sse"])
def test_429_parsed_from_the_wire(
    code: str,
    message: str,
    limit: str,
    headers: dict[str, str],
    expected: float | None,
    envelope: str,
) -> None:
    native = {"code": code, "message": message, "request_id": "r-9"}
    if envelope == "native":
        body = json.dumps(native).encode()
    elif envelope == "compatible":
        body = json.dumps({"error": native, "request_id": "r-9"}).encode()
    else:
        body = f"event:error\n:HTTP_STATUS/429\ndata:{json.dumps(native)}\n\n".encode()
    error = parse_error(429, headers, body)
    assert isinstance(error, core.RateLimitError)
    assert (error.code, error.limit, error.retry_after, error.request_id) == (
        code,
        limit,
        expected,
        "r-9",
    )


@pytest.mark.parametrize("cls", [core.RateLimitError, lc.RateLimitError])
def test_rate_limit_error_pickles_with_limit_and_retry_after(
    cls: type[core.RateLimitError],
) -> None:
    error = cls(
        429, "Throttling.BurstRate", "Request rate increased too quickly.", "r", retry_after=4.0
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is cls
    assert (copy.limit, copy.retry_after, copy.request_id) == ("burst", 4.0, "r")


LC_TABLE = [(status, code, message) for status, code, message, _ in CORE_TABLE]


@pytest.mark.parametrize(("status", "code", "message"), LC_TABLE)
def test_langchain_class_for_every_documented_error(status: int, code: str, message: str) -> None:
    original = core.error_from_response(status, code, message, "r-1")
    translated = lc.to_langchain_error(original)
    # The LangChain class is the core class's LangChain twin (same core base).
    assert isinstance(translated, type(original))
    assert type(translated).__module__ == lc.__name__
    overflow = code == "InvalidParameter" and "input length" in message
    assert isinstance(translated, lc.ContextLengthExceededError) is overflow
    assert translated.request_id == "r-1"


RANGE = "Range of input length should be [1, 8192]"


@pytest.mark.parametrize(
    ("inputs", "overflow"),
    [
        (None, True),  # nothing known: the message is read as an overflow
        (["a" * 50_000], True),
        ([""], False),  # the same message for an empty text is a bad request
        (["ok", "   "], False),
        (["\n"], False),
    ],
)
def test_empty_or_blank_input_is_a_bad_request_not_an_overflow(
    inputs: list[str] | None, overflow: bool
) -> None:
    error = core.error_from_response(400, "InvalidParameter", RANGE)
    translated = lc.to_langchain_error(error, inputs=inputs)
    assert isinstance(translated, lc.BadRequestError)
    assert isinstance(translated, lc.ContextLengthExceededError) is overflow


def test_translate_errors_passes_inputs_through() -> None:
    with pytest.raises(lc.BadRequestError) as caught, lc.translate_errors([""]):
        raise core.error_from_response(400, "InvalidParameter", RANGE)
    assert not isinstance(caught.value, lc.ContextLengthExceededError)


def test_content_filter_is_never_an_overflow() -> None:
    error = core.error_from_response(400, "DataInspectionFailed", "input length bad words")
    assert type(lc.to_langchain_error(error)) is lc.ContentFilterError


def test_langchain_embeddings_empty_text_against_the_emulator(dashscope_emulator: object) -> None:
    from dashscope_ws.emulator import MAIN_KEY, Emulator
    from langchain_dashscope_ws import DashScopeEmbeddings

    assert isinstance(dashscope_emulator, Emulator)
    embeddings = DashScopeEmbeddings(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url)
    with pytest.raises(lc.BadRequestError) as caught:
        embeddings.embed_documents(["fine", ""])
    assert "Range of input length" in caught.value.message
    assert not isinstance(caught.value, lc.ContextLengthExceededError)
    with pytest.raises(lc.ContextLengthExceededError):
        embeddings.embed_query("word " * 20_000)

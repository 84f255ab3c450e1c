"""RetryPolicy: which errors retry, backoff, jitter, Retry-After, exhaustion."""

from __future__ import annotations

import random

import pytest

from dashscope_ws.errors import (
    APIConnectionError,
    APITimeoutError,
    StreamProtocolError,
    error_from_response,
)
from dashscope_ws.retry import MAX_RETRY_AFTER, RetryPolicy

SERVER_ERROR = error_from_response(500, "InternalError", "boom")


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def test_exponential_backoff_capped() -> None:
    policy = RetryPolicy(10, base_delay=0.5, max_delay=8.0, jitter=0)
    assert [policy.delay(n, SERVER_ERROR) for n in range(1, 8)] == [
        0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0,
    ]  # fmt: skip


def test_jitter_is_bounded_and_uses_the_rng() -> None:
    assert RetryPolicy(3, jitter=0.25, rng=FixedRandom(1.0)).delay(2, SERVER_ERROR) == 1.25
    assert RetryPolicy(3, jitter=0.25, rng=FixedRandom(0.0)).delay(2, SERVER_ERROR) == 1.0
    policy = RetryPolicy(3, rng=random.Random(7))
    delays = [policy.delay(1, SERVER_ERROR) for _ in range(200)]
    assert all(d is not None and 0.5 <= d <= 0.625 for d in delays)
    assert len(set(delays)) > 1


@pytest.mark.parametrize(
    "error",
    [
        APIConnectionError("refused"),
        APITimeoutError("read timed out"),
        error_from_response(429, "Throttling.RateQuota", "slow"),
        error_from_response(500, "InternalError", "x"),
        error_from_response(503, "ModelUnavailable", "x"),
        error_from_response(408, "RequestTimeOut", "x"),
    ],
)
def test_retryable(error: BaseException) -> None:
    assert RetryPolicy(2, jitter=0).delay(1, error) == 0.5


@pytest.mark.parametrize(
    "error",
    [
        error_from_response(400, "InvalidParameter", "x"),
        error_from_response(401, "InvalidApiKey", "x"),
        error_from_response(403, "Workspace.AccessDenied", "x"),
        error_from_response(404, "ModelNotFound", "x"),
        error_from_response(400, "DataInspectionFailed", "x"),
        error_from_response(400, "Arrearage", "x"),
        StreamProtocolError("cut"),
        ValueError("not ours"),
        KeyboardInterrupt(),
    ],
)
def test_not_retryable(error: BaseException) -> None:
    assert RetryPolicy(5).delay(1, error) is None


def test_retry_after_honoured_and_capped() -> None:
    policy = RetryPolicy(2, jitter=0.25, rng=FixedRandom(1.0))
    limited = error_from_response(429, "Throttling", "x", retry_after=3.0)
    assert policy.delay(1, limited) == 3.0
    huge = error_from_response(503, "ModelServingError", "x", retry_after=3600.0)
    assert policy.delay(1, huge) == MAX_RETRY_AFTER == 60.0
    zero = error_from_response(429, "Throttling", "x", retry_after=0.0)
    assert policy.delay(1, zero) == 0.0


def test_exhaustion() -> None:
    policy = RetryPolicy(2, jitter=0)
    assert policy.delay(2, SERVER_ERROR) == 1.0
    assert policy.delay(3, SERVER_ERROR) is None
    assert RetryPolicy(0).delay(1, SERVER_ERROR) is None


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="attempt"):
        RetryPolicy().delay(0, SERVER_ERROR)
    with pytest.raises(ValueError, match=">= 0"):
        RetryPolicy(-1)


def test_policy_reads_the_error_retryable_attribute() -> None:
    from dashscope_ws.errors import APIStatusError, BadRequestError

    class Retryable400Error(BadRequestError):
        retryable = True

    policy = RetryPolicy(2, jitter=0)
    assert policy.delay(1, Retryable400Error(400, "Odd", "retry me")) == 0.5
    overloaded = APIStatusError(599, "X", "y")
    overloaded.retryable = False
    assert policy.delay(1, overloaded) is None

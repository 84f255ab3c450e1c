"""Issue 9 "Logging": one DEBUG record per attempt with its facts, one INFO record per retry.

``test_secrets.py`` greps every record for the key; this checks what the records say.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import pytest

from dashscope_ws import DashScopeClient, RetryPolicy
from dashscope_ws.transports import AsyncMockTransport, MockRequest, MockResponse, MockTransport

REPLY = {
    "output": {
        "choices": [{"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]
    },
    "request_id": "rid-ok",
}
FAILURE = MockResponse(
    503,
    {"content-type": "application/json"},
    {"code": "ServiceUnavailable", "message": "busy", "request_id": "rid-503"},
)


def _flaky() -> Any:
    answers = [FAILURE, REPLY]

    def handler(request: MockRequest) -> Any:
        return answers.pop(0)

    return handler


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_attempts_and_retries_are_logged(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="dashscope_ws")
    client = DashScopeClient(
        api_key="sk-log-test",
        workspace="ws-logs",
        transport=MockTransport(_flaky()),
        async_transport=AsyncMockTransport(_flaky()),
        retry_policy=RetryPolicy(2, base_delay=0.01, jitter=0),
    )
    messages = [{"role": "user", "content": "Hi"}]
    if mode == "sync":
        assert client.chat(messages, model="qwen-plus").text == "hi"
    else:
        assert asyncio.run(client.achat(messages, model="qwen-plus")).text == "hi"

    records = [r for r in caplog.records if r.name.startswith("dashscope_ws")]
    attempts = [r.getMessage() for r in records if r.levelno == logging.DEBUG]
    retries = [r.getMessage() for r in records if r.levelno == logging.INFO]
    assert len(attempts) == 2  # one per attempt
    pattern = (
        r"POST /api/v1/services/aigc/text-generation/generation model=qwen-plus "
        r"workspace=ws-logs status={} request_id={} elapsed=\d+\.\d{{3}}s"
    )
    assert re.fullmatch(pattern.format(503, "rid-503"), attempts[0]), attempts[0]
    assert re.fullmatch(pattern.format(200, "rid-ok"), attempts[1]), attempts[1]
    (retry,) = retries
    assert re.fullmatch(
        r"retrying POST /api/v1/services/aigc/text-generation/generation in \d+\.\d\ds "
        r"\(attempt 2 of 3\): InternalServerError 503 ServiceUnavailable",
        retry,
    ), retry
    assert all("sk-log-test" not in r.getMessage() for r in records)


def test_nothing_is_formatted_when_logging_is_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="dashscope_ws")
    client = DashScopeClient(api_key="sk-test", transport=MockTransport(lambda r: REPLY))
    client.chat([{"role": "user", "content": "Hi"}], model="qwen-plus")
    assert [r for r in caplog.records if r.name.startswith("dashscope_ws")] == []

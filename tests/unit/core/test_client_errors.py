"""Error mapping, retries, timeouts and broken streams, in both sync and async mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from client_modes import MODES, USER, fast_retries, make_client_fixture, run, stream  # noqa: F401

from dashscope_ws import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    DashScopeClient,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamProtocolError,
)
from dashscope_ws.emulator import MAIN_KEY, OTHER_WORKSPACE, SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.emulator.script import ScriptedReply

MakeClient = Callable[..., DashScopeClient]

SCENARIOS: list[tuple[str, dict[str, Any], str, type[Exception], int, str]] = [
    ("bad key", {"api_key": "sk-wrong"}, "qwen-plus", AuthenticationError, 401, "InvalidApiKey"),
    (
        "sub key without workspace",
        {"api_key": SUB_KEY},
        "qwen-plus",
        PermissionDeniedError,
        403,
        "Workspace.AccessDenied",
    ),
    (
        "sub key, wrong workspace",
        {"api_key": SUB_KEY, "workspace": OTHER_WORKSPACE},
        "qwen-plus",
        AuthenticationError,
        401,
        "NOT AUTHORIZED",
    ),
    (
        "unknown workspace",
        {"api_key": MAIN_KEY, "workspace": "ws-does-not-exist"},
        "qwen-plus",
        NotFoundError,
        404,
        "WorkSpaceNotFound",
    ),
    (
        "model not granted",
        {"api_key": SUB_KEY, "workspace": SUB_WORKSPACE},
        "qwen-max-latest",
        PermissionDeniedError,
        403,
        "Model.AccessDenied",
    ),
    ("unknown model", {}, "qwen-nonexistent", BadRequestError, 400, "InvalidParameter"),
]


@MODES
@pytest.mark.parametrize("streamed", [False, True], ids=["chat", "stream"])
@pytest.mark.parametrize(
    ("settings", "model", "cls", "status", "code"),
    [s[1:] for s in SCENARIOS],
    ids=[s[0] for s in SCENARIOS],
)
def test_service_errors_map_to_typed_exceptions_without_retry(
    mode: str,
    streamed: bool,
    settings: dict[str, Any],
    model: str,
    cls: type[Exception],
    status: int,
    code: str,
    make_client: MakeClient,
    dashscope_emulator: Emulator,
) -> None:
    client = make_client(**settings)
    with pytest.raises(cls) as info:
        run(mode, client, "stream_chat" if streamed else "chat", USER, model=model)
    error = info.value
    assert (error.status_code, error.code) == (status, code)  # type: ignore[attr-defined]
    assert error.request_id  # type: ignore[attr-defined]
    assert len(dashscope_emulator.requests) == 1  # 4xx is never retried


@MODES
def test_workspace_errors_say_what_to_do(mode: str, make_client: MakeClient) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        run(mode, make_client(api_key=SUB_KEY), "chat", USER, model="qwen-plus")
    assert "workspace=" in str(info.value)


@MODES
def test_url_error_for_the_wrong_endpoint_is_a_bad_request(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(
        ScriptedReply.error(400, "InvalidParameter", "url error, please check url！")
    )
    with pytest.raises(BadRequestError, match="url error"):
        run(mode, make_client(), "chat", USER, model="qwen-plus")


@MODES
def test_rate_limit_then_success_makes_two_requests(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(
        ScriptedReply.rate_limited(retry_after=None), ScriptedReply(text="ok")
    )
    assert run(mode, make_client(), "chat", USER, model="qwen-plus").text == "ok"
    assert [r.status for r in dashscope_emulator.requests] == [429, 200]


@MODES
def test_max_retries_zero_makes_one_request(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(ScriptedReply.rate_limited(retry_after=None))
    with pytest.raises(RateLimitError):
        run(mode, make_client(max_retries=0, retry_policy=None), "chat", USER, model="qwen-plus")
    assert len(dashscope_emulator.requests) == 1


@MODES
def test_retries_stop_after_max_retries(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(ScriptedReply.error(503, "ModelUnavailable", "busy", times=5))
    with pytest.raises(InternalServerError):
        run(mode, make_client(retry_policy=fast_retries(2)), "chat", USER, model="qwen-plus")
    assert len(dashscope_emulator.requests) == 3


@MODES
def test_retry_after_is_honoured(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(ScriptedReply.rate_limited(retry_after=1), ScriptedReply(text="ok"))
    assert run(mode, make_client(), "chat", USER, model="qwen-plus").text == "ok"
    first, second = dashscope_emulator.requests
    assert first.finished is not None
    assert second.started - first.finished >= 0.9  # waited Retry-After, not the 0.01 s backoff


@MODES
def test_read_timeout_raises_api_timeout_error(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(ScriptedReply(delay_before_first_byte=3.0))
    client = make_client(timeout=0.3, retry_policy=fast_retries(0))
    with pytest.raises(APITimeoutError):
        run(mode, client, "chat", USER, model="qwen-plus")


@MODES
def test_stream_gap_longer_than_timeout_raises(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(ScriptedReply(text="a b c d", delay_between_chunks=3.0))
    client = make_client(timeout=0.3, retry_policy=fast_retries(0))
    _, error = stream(mode, client, USER, model="qwen-plus")
    assert isinstance(error, APITimeoutError)
    assert len(dashscope_emulator.requests) == 1


@MODES
def test_connection_refused_is_a_connection_error(mode: str) -> None:
    client = DashScopeClient(
        api_key=MAIN_KEY, base_url="http://127.0.0.1:9/api/v1", retry_policy=fast_retries(1)
    )
    with client, pytest.raises(APIConnectionError):
        run(mode, client, "chat", USER, model="qwen-plus")


@MODES
def test_stream_cut_mid_way_raises_after_the_chunks_and_is_not_retried(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(
        ScriptedReply(text="one two three four five six", drop_after_chunks=2)
    )
    chunks, error = stream(mode, make_client(), USER, model="qwen-plus")
    # A connection cut is a network failure, reported as such (never a silent end).
    assert isinstance(error, APIConnectionError)
    assert "mid-stream" in str(error)
    assert len(chunks) == 2
    assert len(dashscope_emulator.requests) == 1


@MODES
def test_mid_stream_error_event_raises_the_typed_error_after_earlier_chunks(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(
        ScriptedReply(
            text="one two three four five six",
            error_after_chunks=2,
            status=500,
            code="InternalError",
            delay_between_chunks=0.05,
        )
    )
    chunks, error = stream(mode, make_client(), USER, model="qwen-plus")
    assert isinstance(error, InternalServerError)
    assert error.code == "InternalError"
    assert len(chunks) == 2
    assert len(dashscope_emulator.requests) == 1  # retryable, but output was already yielded


@MODES
def test_stream_failing_before_its_first_chunk_is_retried(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(
        ScriptedReply.error(503, "ModelUnavailable", "busy"),
        ScriptedReply(text="x", error_after_chunks=0, status=500, code="InternalError"),
        ScriptedReply(text="finally"),
    )
    chunks, error = stream(mode, make_client(), USER, model="qwen-plus")
    assert error is None
    assert "".join(c.text for c in chunks) == "finally"
    assert len(dashscope_emulator.requests) == 3


@MODES
def test_chat_of_a_dropped_stream_only_model_raises(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(ScriptedReply(text="a b c d e", drop_after_chunks=1))
    with pytest.raises((APIConnectionError, StreamProtocolError)):
        run(mode, make_client(), "chat", USER, model="qwq-plus")

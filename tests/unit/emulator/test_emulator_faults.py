"""Scripted replies and fault injection, the request log, and the application endpoint."""

from __future__ import annotations

import itertools
import json

import aiohttp
import pytest
import requests
from emulator_testkit import EMBED_PATH, TEXT_PATH, Call, chat_body, sse_events

from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator, ScriptedReply


def content_of(response: requests.Response) -> str:
    return str(response.json()["output"]["choices"][0]["message"]["content"])


def test_scripted_text_reasoning_usage_and_fifo(call: Call, emu: Emulator) -> None:
    emu.enqueue(
        ScriptedReply(text="first", usage={"input_tokens": 7}),
        ScriptedReply(text="second", finish_reason="length"),
    )
    first = call(TEXT_PATH, chat_body())
    assert content_of(first) == "first"
    assert first.json()["usage"]["input_tokens"] == 7
    second = call(TEXT_PATH, chat_body())
    assert content_of(second) == "second"
    assert second.json()["output"]["choices"][0]["finish_reason"] == "length"
    assert content_of(call(TEXT_PATH, chat_body())) != "second"  # queue drained
    assert emu.pending == 0


def test_times_repeats_a_reply(call: Call, emu: Emulator) -> None:
    emu.enqueue(ScriptedReply(text="again", times=2))
    assert [content_of(call(TEXT_PATH, chat_body())) for _ in range(3)][:2] == ["again"] * 2
    assert emu.pending == 0


def test_kind_matching_skips_other_endpoints(call: Call, emu: Emulator) -> None:
    emu.enqueue(
        ScriptedReply.error(500, "InternalError", "embedding backend down", kind="embedding")
    )
    assert call(TEXT_PATH, chat_body()).status_code == 200
    assert emu.pending == 1
    failed = call(EMBED_PATH, {"model": "text-embedding-v4", "input": {"texts": ["a"]}})
    assert failed.status_code == 500
    assert failed.json()["message"] == "embedding backend down"


def test_scripted_tool_calls(call: Call, emu: Emulator) -> None:
    emu.enqueue(
        ScriptedReply(
            tool_calls=[
                {"name": "a", "arguments": {"x": 1}, "id": "call_fixed"},
                {"name": "b", "arguments": '{"y": 2}'},
            ]
        )
    )
    choice = call(TEXT_PATH, chat_body()).json()["output"]["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    calls = choice["message"]["tool_calls"]
    assert calls[0]["id"] == "call_fixed"
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [{"x": 1}, {"y": 2}]
    assert calls[1]["id"].startswith("call_")
    assert len(calls[1]["id"]) == 27


def test_error_before_streaming(call: Call, emu: Emulator) -> None:
    emu.enqueue(
        ScriptedReply.error(
            503, "ModelUnavailable", "Model is unavailable, please try again later."
        )
    )
    response = call(TEXT_PATH, chat_body(), stream=True)
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert (body["code"], body["message"]) == (
        "ModelUnavailable",
        "Model is unavailable, please try again later.",
    )


def test_rate_limited_with_retry_after_and_extra_headers(call: Call, emu: Emulator) -> None:
    emu.enqueue(ScriptedReply.rate_limited(retry_after=2, headers={"X-Test": "yes"}))
    response = call(TEXT_PATH, chat_body())
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert response.headers["X-Test"] == "yes"
    assert response.json()["code"] == "Throttling.RateQuota"


def test_auth_and_validation_run_before_scripted_replies(call: Call, emu: Emulator) -> None:
    emu.enqueue(ScriptedReply(text="scripted"))
    assert call(TEXT_PATH, chat_body(), key="sk-bad").status_code == 401
    assert call(TEXT_PATH, chat_body(), key=SUB_KEY).status_code == 403
    invalid = chat_body(temperature=5)
    assert call(TEXT_PATH, invalid, key=MAIN_KEY).status_code == 400
    assert emu.pending == 1  # not consumed by the rejected requests
    assert (
        content_of(call(TEXT_PATH, chat_body(), key=SUB_KEY, workspace=SUB_WORKSPACE)) == "scripted"
    )


def test_dropped_stream_is_truncated(call: Call, emu: Emulator) -> None:
    emu.enqueue(ScriptedReply(text="one two three four five six seven", drop_after_chunks=1))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        call(TEXT_PATH, chat_body(incremental_output=True), stream=True)
    # The server stays healthy for the next request.
    assert call(TEXT_PATH, chat_body()).status_code == 200


async def test_dropped_stream_reaches_aiohttp_as_payload_error(emu: Emulator) -> None:
    emu.enqueue(ScriptedReply(text="one two three four five six seven", drop_after_chunks=2))
    headers = {"Authorization": f"Bearer {MAIN_KEY}", "X-DashScope-SSE": "enable"}
    received = bytearray()

    async def read_all() -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                emu.base_url + TEXT_PATH, json=chat_body(incremental_output=True), headers=headers
            ) as response,
        ):
            assert response.status == 200
            async for chunk in response.content.iter_any():
                received.extend(chunk)

    with pytest.raises(aiohttp.ClientPayloadError):
        await read_all()
    events = sse_events(bytes(received))
    assert [e["id"] for e in events] == ["1", "2"]
    assert all(e["data"]["output"]["choices"][0]["finish_reason"] == "null" for e in events)


def test_dropped_non_stream_request(call: Call, emu: Emulator) -> None:
    emu.enqueue(ScriptedReply(drop_after_chunks=0))
    with pytest.raises(requests.exceptions.ConnectionError):
        call(TEXT_PATH, chat_body())


def test_request_log(call: Call, emu: Emulator) -> None:
    call(TEXT_PATH, chat_body("logged"), workspace="ws-emu-other", stream=True)
    call(TEXT_PATH, b"not json")
    first, second = emu.requests
    assert (first.method, first.path) == ("POST", "/api/v1" + TEXT_PATH)
    assert first.headers["x-dashscope-workspace"] == "ws-emu-other"
    assert first.headers["X-DASHSCOPE-SSE"] == "enable"
    assert first.json["input"]["messages"][0]["content"] == "logged"
    assert first.status == 200
    assert second.status == 400
    assert second.json is None
    assert first.finished is not None
    assert first.started <= first.finished <= second.started
    emu.reset()
    assert emu.requests == []


def test_app_completion(call: Call) -> None:
    body = {"input": {"prompt": "Tell me about otters", "session_id": "s-1"}, "parameters": {}}
    response = call("/apps/app-emu-agent/completion", body)
    assert response.status_code == 200
    output = response.json()["output"]
    assert output["finish_reason"] == "stop"
    assert output["session_id"] == "s-1"
    assert "otters" in output["text"]
    assert response.json()["usage"]["models"][0]["output_tokens"] > 0


@pytest.mark.parametrize(
    "headers", [{"Accept": "text/event-stream"}, {"X-DashScope-SSE": "enable"}]
)
def test_app_streams_cumulative_and_incremental(call: Call, headers: dict[str, str]) -> None:
    body = {"input": {"prompt": "Tell me about otters"}, "parameters": {}}
    events = sse_events(call("/apps/app-emu-agent/completion", body, headers=headers).content)
    texts = [e["data"]["output"]["text"] for e in events]
    assert len(texts) >= 3
    assert all((b.startswith(a) for a, b in itertools.pairwise(texts)))
    assert events[-1]["data"]["output"]["finish_reason"] == "stop"
    body["parameters"] = {"incremental_output": True}
    deltas = sse_events(call("/apps/app-emu-agent/completion", body, headers=headers).content)
    assert "".join(e["data"]["output"]["text"] for e in deltas) == texts[-1]


def test_app_without_prompt(call: Call, emu: Emulator) -> None:
    response = call("/apps/app-emu-agent/completion", {"input": {}})
    assert response.status_code == 400
    emu.enqueue(ScriptedReply(text="from the app", kind="app"))
    answer = call("/apps/app-emu-agent/completion", {"input": {"prompt": "hi"}}).json()
    assert answer["output"]["text"] == "from the app"

"""SSE framing and streamed shapes, checked on the raw bytes."""

from __future__ import annotations

import itertools
import json
import re

from emulator_testkit import MM_PATH, TEXT_PATH, Call, chat_body, sse_events

from dashscope_ws.emulator import Emulator, ScriptedReply
from dashscope_ws.emulator.tokenizer import count_tokens

EVENT = re.compile(r"id:(\d+)\nevent:result\n:HTTP_STATUS/200\ndata:(\{[^\n]*\})\n\n")


def test_framing_is_byte_exact(call: Call, emu: Emulator) -> None:
    emu.enqueue(ScriptedReply(text="Hi there, friend."))
    response = call(TEXT_PATH, chat_body(incremental_output=True), stream=True)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream;charset=UTF-8"
    raw = response.content
    events = EVENT.findall(raw.decode())
    # The whole body is exactly a sequence of well-formed events, nothing else (no [DONE]).
    assert (
        "".join(f"id:{n}\nevent:result\n:HTTP_STATUS/200\ndata:{d}\n\n" for n, d in events)
        == raw.decode()
    )
    assert b"[DONE]" not in raw
    assert [int(n) for n, _ in events] == list(range(1, len(events) + 1))
    payloads = [json.loads(d) for _, d in events]
    request_id = payloads[0]["request_id"]
    first, *middle, last = payloads
    assert len(payloads) >= 3
    for payload in [first, *middle]:
        assert payload["output"]["choices"][0]["finish_reason"] == "null"
    assert last["output"]["choices"][0]["finish_reason"] == "stop"
    assert last["output"]["choices"][0]["message"]["content"] == ""
    assert all(p["request_id"] == request_id for p in payloads)
    text = "".join(p["output"]["choices"][0]["message"]["content"] for p in payloads)
    assert text == "Hi there, friend."
    outputs = [p["usage"]["output_tokens"] for p in payloads]
    assert outputs == sorted(outputs)
    assert outputs[-1] == 5
    assert all(
        p["usage"]["total_tokens"] == p["usage"]["input_tokens"] + p["usage"]["output_tokens"]
        for p in payloads
    )


def test_first_chunk_byte_exact(call: Call, emu: Emulator) -> None:
    emu.enqueue(ScriptedReply(text="ok"))
    raw = call(TEXT_PATH, chat_body("hey", incremental_output=True), stream=True).content
    request_id = sse_events(raw)[0]["data"]["request_id"]
    expected_first = (
        'id:1\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"choices":[{"message":'
        '{"content":"ok","role":"assistant"},"finish_reason":"null"}]},"usage":'
        '{"input_tokens":1,"output_tokens":1,"total_tokens":2},"request_id":"'
        + request_id
        + '"}\n\n'
    )
    assert raw.decode().startswith(expected_first)


def test_cumulative_mode_repeats_everything_so_far(call: Call) -> None:
    body = chat_body("Please say something long enough", incremental_output=False)
    events = sse_events(call(TEXT_PATH, body, stream=True).content)
    contents = [e["data"]["output"]["choices"][0]["message"]["content"] for e in events]
    assert len(contents) >= 3
    for previous, current in itertools.pairwise(contents):
        assert current.startswith(previous)
    full = call(TEXT_PATH, chat_body("Please say something long enough")).json()
    assert contents[-1] == full["output"]["choices"][0]["message"]["content"]


def test_text_result_format_stream(call: Call) -> None:
    body = {"model": "qwen-plus", "input": {"messages": [{"role": "user", "content": "hi"}]}}
    events = sse_events(call(TEXT_PATH, body, stream=True).content)
    assert all("text" in e["data"]["output"] for e in events)
    assert events[-1]["data"]["output"]["finish_reason"] == "stop"


def test_thinking_streams_reasoning_before_content(call: Call) -> None:
    body = chat_body("Why is the sky blue?", enable_thinking=True, incremental_output=True)
    events = sse_events(call(TEXT_PATH, body, stream=True).content)
    messages = [e["data"]["output"]["choices"][0]["message"] for e in events]
    kinds = ["r" if m["reasoning_content"] else "c" if m["content"] else "-" for m in messages]
    sequence = "".join(kinds)
    assert re.fullmatch(r"r+c+-", sequence), sequence
    final_usage = events[-1]["data"]["usage"]
    reasoning_tokens = final_usage["output_tokens_details"]["reasoning_tokens"]
    assert 0 < reasoning_tokens < final_usage["output_tokens"]


def test_qwq_streams_with_reasoning(call: Call) -> None:
    events = sse_events(call(TEXT_PATH, chat_body(model="qwq-plus"), stream=True).content)
    assert events[0]["data"]["output"]["choices"][0]["message"]["reasoning_content"]


def test_streamed_tool_calls_are_fragments(call: Call, emu: Emulator) -> None:
    emu.enqueue(ScriptedReply(tool_calls=[{"name": "lookup", "arguments": {"city": "Paris"}}]))
    body = chat_body("weather?", incremental_output=True)
    events = sse_events(call(TEXT_PATH, body, stream=True).content)
    calls = [e["data"]["output"]["choices"][0]["message"].get("tool_calls") for e in events]
    fragments = [c[0] for c in calls if c]
    start, *rest = fragments
    assert start["index"] == 0
    assert start["type"] == "function"
    assert re.fullmatch(r"call_[0-9a-f]{22}", start["id"])
    assert start["function"] == {"name": "lookup", "arguments": ""}
    assert len(rest) >= 2
    assert all(f["id"] == "" and set(f["function"]) == {"arguments"} for f in rest)
    assert json.loads("".join(f["function"]["arguments"] for f in rest)) == {"city": "Paris"}
    assert events[-1]["data"]["output"]["choices"][0]["finish_reason"] == "tool_calls"


def test_multimodal_stream_content_is_a_list(call: Call) -> None:
    body = chat_body(model="qwen-vl-plus", incremental_output=True)
    body["input"]["messages"][0]["content"] = [
        {"image": "https://example.com/a.png"},
        {"text": "Describe the picture"},
    ]
    events = sse_events(call(MM_PATH, body, stream=True).content)
    contents = [e["data"]["output"]["choices"][0]["message"]["content"] for e in events]
    assert all(isinstance(c, list) for c in contents)
    assert "".join(part["text"] for c in contents for part in c)
    response = call(MM_PATH, body)
    assert response.json()["output"]["choices"][0]["message"]["content"][0]["text"]


def test_mid_stream_error_event(call: Call, emu: Emulator) -> None:
    emu.enqueue(ScriptedReply(text="a b c d e f g h i", error_after_chunks=2, status=500))
    raw = call(TEXT_PATH, chat_body(incremental_output=True), stream=True).content.decode()
    blocks = raw.split("\n\n")
    assert [b.startswith("id:") for b in blocks[:2]] == [True, True]
    error = blocks[2]
    lines = error.split("\n")
    assert lines[:2] == ["event:error", ":HTTP_STATUS/500"]
    assert lines[2].startswith("data:")
    body = json.loads(lines[2][5:])
    assert body["code"] == "InternalError"
    assert body["message"]
    assert body["request_id"]
    assert raw.endswith("\n\n")
    assert blocks[3:] == [""]


def test_mid_stream_error_with_status_line(call: Call, emu: Emulator) -> None:
    emu.enqueue(
        ScriptedReply(
            error_after_chunks=0,
            status=429,
            code="Throttling.RateQuota",
            message="slow down",
            error_status_line=True,
        )
    )
    raw = call(TEXT_PATH, chat_body(), stream=True).content.decode()
    assert raw.startswith("event:error\n:HTTP_STATUS/429\nstatus:429\ndata:{")
    assert '"code":"Throttling.RateQuota","message":"slow down"' in raw


def test_cumulative_tool_calls_are_snapshots(call: Call, emu: Emulator) -> None:
    emu.enqueue(ScriptedReply(tool_calls=[{"name": "lookup", "arguments": {"city": "Paris"}}]))
    body = chat_body("weather?", incremental_output=False)
    events = sse_events(call(TEXT_PATH, body, stream=True).content)
    snapshots = [e["data"]["output"]["choices"][0]["message"].get("tool_calls") for e in events]
    arguments = [s[0]["function"]["arguments"] for s in snapshots if s]
    assert len(arguments) >= 3
    assert all(b.startswith(a) for a, b in itertools.pairwise(arguments))
    assert json.loads(arguments[-1]) == {"city": "Paris"}
    assert all(s[0]["function"]["name"] == "lookup" for s in snapshots if s)


def test_long_scripted_stream_arrives_intact_with_exact_running_usage(
    call: Call, emu: Emulator
) -> None:
    # ~200 KiB of mixed Latin, CJK and punctuation. Producing it used to be quadratic
    # (every chunk re-counted the whole text so far): minutes instead of about a second.
    text = "".join(f"Line {n}: 流式 text, with punctuation!\n" for n in range(5200))
    assert len(text.encode()) > 200 * 1024
    emu.enqueue(ScriptedReply(text=text))
    response = call(TEXT_PATH, chat_body(incremental_output=True), stream=True)
    assert response.status_code == 200
    payloads = [event["data"] for event in sse_events(response.content)]
    contents = [p["output"]["choices"][0]["message"]["content"] for p in payloads]
    assert "".join(contents) == text
    assert payloads[-1]["usage"]["output_tokens"] == count_tokens(text)
    # Running totals equal a fresh count of the text so far (sampled: counting every
    # prefix would itself be quadratic).
    for index in range(0, len(payloads), 997):
        so_far = "".join(contents[: index + 1])
        assert payloads[index]["usage"]["output_tokens"] == count_tokens(so_far)

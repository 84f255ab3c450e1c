"""SSEDecoder and ChatStreamDecoder on the protocol reference's real transcripts."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashscope_ws.accumulate import ChatAccumulator
from dashscope_ws.errors import (
    BadRequestError,
    ContentFilterError,
    RateLimitError,
    StreamProtocolError,
)
from dashscope_ws.sse import ChatStreamDecoder, SSEDecoder, SSEEvent
from dashscope_ws.types import ChatChunk

# Protocol reference §2.1 (official EN streaming page), verbatim events.
TEXT_STREAM = """id:1
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"I am","role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":27,"output_tokens":1,"input_tokens":26,"prompt_tokens_details":{"cached_tokens":0}},"request_id":"d30a9914-ac97-9102-b746-ce0cb35e3fa2"}

id:2
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":" Qwen","role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":30,"output_tokens":4,"input_tokens":26,"prompt_tokens_details":{"cached_tokens":0}},"request_id":"d30a9914-ac97-9102-b746-ce0cb35e3fa2"}

id:3
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":", an Alibaba","role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":33,"output_tokens":7,"input_tokens":26,"prompt_tokens_details":{"cached_tokens":0}},"request_id":"d30a9914-ac97-9102-b746-ce0cb35e3fa2"}

id:14
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":" ask me!","role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":92,"output_tokens":66,"input_tokens":26,"prompt_tokens_details":{"cached_tokens":0}},"request_id":"d30a9914-ac97-9102-b746-ce0cb35e3fa2"}

id:15
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"","role":"assistant"},"finish_reason":"stop"}]},"usage":{"total_tokens":92,"output_tokens":66,"input_tokens":26,"prompt_tokens_details":{"cached_tokens":0}},"request_id":"d30a9914-ac97-9102-b746-ce0cb35e3fa2"}

"""  # noqa: E501

# Protocol reference §2.3 (code interpreter page), thinking-mode events.
REASONING_STREAM = """id:1
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"","reasoning_content":"The","role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":290,"output_tokens":3,"input_tokens":287,"output_tokens_details":{"reasoning_tokens":1}},"request_id":"a1959ad1-2637-4672-a21f-4d351371d254"}

id:2
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"","reasoning_content":" user is asking","role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":293,"output_tokens":6,"input_tokens":287,"output_tokens_details":{"reasoning_tokens":4}},"request_id":"a1959ad1-2637-4672-a21f-4d351371d254"}

id:44
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"123 to the power of ","reasoning_content":"","role":"assistant"},"finish_reason":"null"}],"tool_info":[{"code_interpreter":{"code":"123**21"},"type":"code_interpreter"}]},"usage":{"total_tokens":947,"output_tokens":213,"input_tokens":734,"output_tokens_details":{"reasoning_tokens":171},"plugins":{"code_interpreter":{"count":1}}},"request_id":"a1959ad1-2637-4672-a21f-4d351371d254"}

id:54
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"","reasoning_content":"","role":"assistant"},"finish_reason":"stop"}],"tool_info":[{"code_interpreter":{"code":"123**21"},"type":"code_interpreter"}]},"usage":{"total_tokens":997,"output_tokens":263,"input_tokens":734,"output_tokens_details":{"reasoning_tokens":171},"plugins":{"code_interpreter":{"count":1}}},"request_id":"a1959ad1-2637-4672-a21f-4d351371d254"}

"""  # noqa: E501

# Protocol reference §2.2 [ERDA], multimodal content-list events (Chinese not needed here).
MULTIMODAL_STREAM = """id:1
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":[{"text":"Hello"}],"role":"assistant"},"finish_reason":"null"}]},"usage":{"input_tokens":92,"output_tokens":1},"request_id":"e2edfd5d-f5c3-958b-b058-f8341b31af05"}

id:5
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":[{"text":" there!"}],"role":"assistant"},"finish_reason":"stop"}]},"usage":{"input_tokens":92,"output_tokens":10},"request_id":"e2edfd5d-f5c3-958b-b058-f8341b31af05"}

"""  # noqa: E501

# Protocol reference §2.5 [HIGRESS], the real error event.
ERROR_EVENT = """event:error
:HTTP_STATUS/400
data:{"code":"InvalidParameter","message":"Preprocessor error","request_id":"0cbe6006-faec-9854-bf8b-c906d75c3bd8"}

"""  # noqa: E501

CHINESE_STREAM = (
    'id:1\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"choices":[{"message":'
    '{"content":"我是通义千问，","role":"assistant"},"finish_reason":"null"}]},'
    '"request_id":"r-zh"}\n\n'
    'id:2\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"choices":[{"message":'
    '{"content":"你好！😀","role":"assistant"},"finish_reason":"stop"}]},"request_id":"r-zh"}\n\n'
)

TRANSCRIPTS = [TEXT_STREAM, REASONING_STREAM, MULTIMODAL_STREAM, CHINESE_STREAM]
LINE_ENDINGS = ["\n", "\r\n", "\r"]


def encode(text: str, eol: str) -> bytes:
    return text.replace("\n", eol).encode("utf-8")


def sse_events(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


def decode_chat(chunks: list[bytes], model: str = "qwen-plus") -> list[ChatChunk]:
    decoder = ChatStreamDecoder(model=model)
    out: list[ChatChunk] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    out.extend(decoder.close())
    return out


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(max(c, 0), len(data)) for c in cuts})
    pieces, last = [], 0
    for point in points:
        pieces.append(data[last:point])
        last = point
    pieces.append(data[last:])
    return pieces


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def expected_events(text: str) -> list[SSEEvent]:
    """Reference events built independently of the decoder (one data line per event)."""
    events = []
    for block in text.strip("\n").split("\n\n"):
        fields = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value
        events.append((fields.get("event", "message"), fields["data"], fields.get("id")))
    return [SSEEvent(event=e, data=d, id=i, http_status=200) for e, d, i in events]


# --------------------------------------------------------------------------- SSEDecoder


@pytest.mark.parametrize("eol", LINE_ENDINGS, ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=["text", "reasoning", "vl", "zh"])
def test_transcript_one_byte_at_a_time(transcript: str, eol: str) -> None:
    data = encode(transcript, eol)
    assert sse_events(bytewise(data)) == expected_events(transcript)
    assert sse_events([data]) == expected_events(transcript)


@settings(max_examples=150, deadline=None)
@given(
    transcript=st.sampled_from(TRANSCRIPTS),
    eol=st.sampled_from(LINE_ENDINGS),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=40),
)
def test_transcript_random_splits(transcript: str, eol: str, cuts: list[int]) -> None:
    data = encode(transcript, eol)
    assert sse_events(split_at(data, cuts)) == expected_events(transcript)


@settings(max_examples=100, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=700), max_size=30))
def test_chinese_text_survives_any_split(cuts: list[int]) -> None:
    chunks = decode_chat(split_at(encode(CHINESE_STREAM, "\r\n"), cuts))
    assert "".join(c.text for c in chunks) == "我是通义千问，你好！😀"


def test_multibyte_character_split_inside_its_bytes() -> None:
    data = "data:通\n\n".encode()
    # "通" is 3 bytes; cut after its first and second byte.
    cut = data.index("通".encode())
    decoder = SSEDecoder()
    assert decoder.feed(data[: cut + 1]) == []
    assert decoder.feed(data[cut + 1 : cut + 2]) == []
    assert [e.data for e in decoder.feed(data[cut + 2 :])] == ["通"]


def test_crlf_split_across_feeds_is_one_line_end() -> None:
    decoder = SSEDecoder()
    # A phantom blank line from the split "\r" | "\n" would dispatch "a" early
    # and then drop "b" (whose data would start a new event).
    assert decoder.feed(b"data:a\r") == []
    assert decoder.feed(b"\ndata:b\r") == []
    assert [e.data for e in decoder.feed(b"\n\r\n")] == ["a\nb"]


def test_lone_cr_then_cr_is_a_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data:a\r") == []
    assert [e.data for e in decoder.feed(b"\r")] == ["a"]


def test_bom_is_stripped_even_when_split() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef\xbb") == []
    assert [e.data for e in decoder.feed(b"\xbfdata:x\n\n")] == ["x"]


def test_comments_and_keepalives_are_ignored() -> None:
    events = sse_events([b": ping\n\n:keepalive\n\ndata:x\n:HTTP_STATUS/200\n\n: ping\n\n"])
    assert [e.data for e in events] == ["x"]


def test_multiline_data_and_optional_space() -> None:
    events = sse_events([b"data: first\ndata:second\ndata:  two spaces\n\n"])
    assert events[0].data == "first\nsecond\n two spaces"
    assert events[0].event == "message"


def test_fields_event_id_retry_and_no_colon_line() -> None:
    events = sse_events([b"event: custom\nid: 7\nretry: 1500\ndata\n\nretry: x\ndata:y\n\n"])
    assert events[0] == SSEEvent(event="custom", data="", id="7", retry=1500)
    # id persists to the next event (WHATWG last-event-id); a bad retry is ignored.
    assert events[1] == SSEEvent(event="message", data="y", id="7", retry=None)


def test_empty_events_are_not_dispatched() -> None:
    assert sse_events([b"\n\nid:3\n\n:comment\n\n"]) == []


def test_incomplete_event_discarded_at_close() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data:complete\n\ndata:partial\n") != []
    assert decoder.close() == []


def test_two_mib_single_line() -> None:
    payload = "x" * (2 * 1024 * 1024)
    data = f"data:{payload}\n\n".encode()
    pieces = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    events = sse_events(pieces)
    assert len(events) == 1
    assert events[0].data == payload


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert sse_events([b"data:a\xffb\n\n"])[0].data == "a\ufffdb"


# --------------------------------------------------------------------------- ChatStreamDecoder


@pytest.mark.parametrize("eol", LINE_ENDINGS, ids=["LF", "CRLF", "CR"])
def test_text_stream_chunks(eol: str) -> None:
    chunks = decode_chat(bytewise(encode(TEXT_STREAM, eol)))
    assert [c.text for c in chunks] == ["I am", " Qwen", ", an Alibaba", " ask me!", ""]
    assert [c.finish_reason for c in chunks] == [None, None, None, None, "stop"]
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 92
    assert chunks[-1].usage.cached_tokens == 0
    assert {c.request_id for c in chunks} == {"d30a9914-ac97-9102-b746-ce0cb35e3fa2"}
    assert {c.model for c in chunks} == {"qwen-plus"}


def test_reasoning_stream_chunks() -> None:
    chunks = decode_chat([encode(REASONING_STREAM, "\n")], model="qwen3-max")
    assert "".join(c.reasoning for c in chunks) == "The user is asking"
    assert "".join(c.text for c in chunks) == "123 to the power of "
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.reasoning_tokens == 171


def test_content_list_stream() -> None:
    chunks = decode_chat([encode(MULTIMODAL_STREAM, "\n")], model="qwen-vl-plus")
    assert [c.text for c in chunks] == ["Hello", " there!"]
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 102  # computed: the wire omits it


def test_text_format_stream_reads_output_text() -> None:
    data = b'data:{"output":{"finish_reason":"stop","text":"hi"},"request_id":"r"}\n\n'
    assert [(c.text, c.finish_reason) for c in decode_chat([data])] == [("hi", "stop")]


def test_error_event_status_from_http_status_comment() -> None:
    decoder = ChatStreamDecoder(model="qwen-plus")
    first_event = TEXT_STREAM.split("\n\n")[0] + "\n\n"
    assert len(decoder.feed(first_event.encode())) == 1
    data = ERROR_EVENT.encode()
    for index in range(len(data) - 1):
        assert decoder.feed(data[index : index + 1]) == []
    with pytest.raises(BadRequestError) as info:
        decoder.feed(data[-1:])
    assert info.value.status_code == 400
    assert info.value.code == "InvalidParameter"
    assert info.value.message == "Preprocessor error"
    assert info.value.request_id == "0cbe6006-faec-9854-bf8b-c906d75c3bd8"


def test_error_event_status_line_wins() -> None:
    data = (
        b"event:error\n:HTTP_STATUS/400\nstatus:429\n"
        b'data:{"code":"Throttling.RateQuota","message":"slow","request_id":"r9"}\n\n'
    )
    with pytest.raises(RateLimitError) as info:
        ChatStreamDecoder(model="qwen-plus").feed(data)
    assert info.value.status_code == 429


def test_error_event_without_status_defaults_to_400() -> None:
    data = b'event:error\ndata:{"code":"Foo","message":"bar"}\n\n'
    with pytest.raises(BadRequestError) as info:
        ChatStreamDecoder(model="qwen-plus").feed(data)
    assert info.value.status_code == 400


def test_compatible_error_event_reads_like_an_error_body() -> None:
    # A nested {"error": {type, message}} event is read by the same rules as an error
    # body (wire.error_fields): the code falls back to "type", the request id to the nest.
    from dashscope_ws.wire import parse_error

    payload = b'{"error":{"type":"invalid_request_error","message":"bad","request_id":"r7"}}'
    with pytest.raises(BadRequestError) as info:
        ChatStreamDecoder(model="qwen-plus").feed(b"event:error\ndata:" + payload + b"\n\n")
    body_error = parse_error(400, {}, payload)
    assert (info.value.code, info.value.message, info.value.request_id) == (
        "invalid_request_error", "bad", "r7",
    )  # fmt: skip
    assert (body_error.code, body_error.message, body_error.request_id) == (
        info.value.code, info.value.message, info.value.request_id,
    )  # fmt: skip


def test_error_payload_in_result_event() -> None:
    data = (
        b':HTTP_STATUS/200\ndata:{"code":"DataInspectionFailed",'
        b'"message":"Output data may contain inappropriate content.","request_id":"r"}\n\n'
    )
    with pytest.raises(ContentFilterError):
        ChatStreamDecoder(model="qwen-plus").feed(data)


def test_invalid_json_shows_snippet() -> None:
    with pytest.raises(StreamProtocolError, match="not json"):
        ChatStreamDecoder(model="qwen-plus").feed(b"data:{not json\n\n")


def test_done_sentinel_ignored() -> None:
    data = encode(MULTIMODAL_STREAM, "\n") + b"data: [DONE]\n\n"
    assert len(decode_chat([data])) == 2


@pytest.mark.parametrize(
    "data",
    [b"", TEXT_STREAM.split("id:15")[0].encode(), encode(TEXT_STREAM, "\n")[:-1]],
    ids=["no-events", "no-final-event", "final-event-cut"],
)
def test_truncated_stream_raises(data: bytes) -> None:
    decoder = ChatStreamDecoder(model="qwen-plus")
    decoder.feed(data)
    with pytest.raises(StreamProtocolError, match="stream ended before its final event"):
        decoder.close()


def _tool_event(calls: list[dict[str, object]], finish: str = "null") -> str:
    message = {"content": "", "role": "assistant", "tool_calls": calls}
    payload = {
        "output": {"choices": [{"message": message, "finish_reason": finish}]},
        "usage": {"input_tokens": 10, "output_tokens": 5},
        "request_id": "r-tools",
    }
    return "event:result\n:HTTP_STATUS/200\ndata:" + json.dumps(payload) + "\n\n"


def _fragments() -> str:
    weather = '{"city": "杭州", "unit": "celsius"}'
    time_args = '{"timezone": "Asia/Shanghai"}'
    events = [
        _tool_event(
            [{"index": 0, "id": "call_a", "type": "function",
              "function": {"name": "get_weather", "arguments": ""}}]
        ),
        _tool_event(
            [{"index": 1, "id": "call_b", "type": "function",
              "function": {"name": "get_time", "arguments": ""}}]
        ),
    ]  # fmt: skip
    # Interleave both calls' arguments in 5-character fragments.
    for i in range(0, max(len(weather), len(time_args)), 5):
        calls: list[dict[str, object]] = []
        if weather[i : i + 5]:
            calls.append(
                {"index": 0, "id": "", "type": "function",
                 "function": {"arguments": weather[i : i + 5]}}
            )  # fmt: skip
        if time_args[i : i + 5]:
            calls.append(
                {"index": 1, "id": "", "type": "function",
                 "function": {"name": "", "arguments": time_args[i : i + 5]}}
            )  # fmt: skip
        events.append(_tool_event(calls))
    events.append(_tool_event([], finish="tool_calls"))
    return "".join(events)


@settings(max_examples=50, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=8000), max_size=60))
def test_parallel_tool_calls_accumulate(cuts: list[int]) -> None:
    accumulator = ChatAccumulator()
    for chunk in decode_chat(split_at(_fragments().encode(), cuts)):
        accumulator.add(chunk)
    result = accumulator.result()
    assert result.finish_reason == "tool_calls"
    assert [(t.index, t.id, t.name) for t in result.tool_calls] == [
        (0, "call_a", "get_weather"),
        (1, "call_b", "get_time"),
    ]
    assert json.loads(result.tool_calls[0].arguments) == {"city": "杭州", "unit": "celsius"}
    assert json.loads(result.tool_calls[1].arguments) == {"timezone": "Asia/Shanghai"}


def test_cumulative_tool_snapshots_without_index() -> None:
    def snap(args: str, finish: str = "null") -> str:
        call: dict[str, object] = {
            "id": "call_x",
            "type": "function",
            "function": {"name": "f", "arguments": args},
        }
        return _tool_event([call], finish)

    data = (snap('{"a"') + snap('{"a": 1') + snap('{"a": 1}', "tool_calls")).encode()
    accumulator = ChatAccumulator()
    for chunk in decode_chat([data]):
        accumulator.add(chunk)
    (call,) = accumulator.result().tool_calls
    assert (call.name, call.arguments, call.id) == ("f", '{"a": 1}', "call_x")


def test_legacy_function_call_delta() -> None:
    payload = {
        "output": {
            "choices": [
                {
                    "message": {"content": "", "function_call": {"name": "f", "arguments": "{}"}},
                    "finish_reason": "function_call",
                }
            ]
        }
    }
    (chunk,) = decode_chat([f"data:{json.dumps(payload)}\n\n".encode()])
    assert chunk.tool_calls[0].name == "f"
    assert chunk.tool_calls[0].arguments == "{}"


# --------------------------------------------------------------------------- deferred errors


def test_error_after_chunks_in_one_read_keeps_the_chunks() -> None:
    first_two = "\n\n".join(TEXT_STREAM.split("\n\n")[:2]) + "\n\n"
    decoder = ChatStreamDecoder(model="qwen-plus")
    chunks = decoder.feed((first_two + ERROR_EVENT).encode())
    assert [c.text for c in chunks] == ["I am", " Qwen"]
    with pytest.raises(BadRequestError) as info:
        decoder.feed(b"")
    assert info.value.code == "InvalidParameter"
    # The failure is sticky: close() reports the same error, not "no final event".
    with pytest.raises(BadRequestError) as again:
        decoder.close()
    assert again.value is info.value


def test_deferred_error_is_raised_by_close() -> None:
    first = TEXT_STREAM.split("\n\n")[0] + "\n\n"
    decoder = ChatStreamDecoder(model="qwen-plus")
    assert len(decoder.feed((first + ERROR_EVENT).encode())) == 1
    with pytest.raises(BadRequestError, match="Preprocessor error"):
        decoder.close()


def test_invalid_json_after_chunks_is_deferred_too() -> None:
    first = TEXT_STREAM.split("\n\n")[0] + "\n\n"
    decoder = ChatStreamDecoder(model="qwen-plus")
    assert [c.text for c in decoder.feed(first.encode() + b"data:{oops\n\n")] == ["I am"]
    with pytest.raises(StreamProtocolError, match="oops"):
        decoder.close()


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=4))
def test_error_stream_any_split_yields_every_chunk_then_raises(cuts: list[int]) -> None:
    body = TEXT_STREAM.split("id:15")[0] + ERROR_EVENT
    decoder = ChatStreamDecoder(model="qwen-plus")
    texts: list[str] = []

    def consume() -> None:
        for piece in [*split_at(body.encode(), cuts), b""]:
            texts.extend(c.text for c in decoder.feed(piece))
        decoder.close()

    with pytest.raises(BadRequestError):
        consume()
    assert texts == ["I am", " Qwen", ", an Alibaba", " ask me!"]


# --------------------------------------------------------------------------- bounded buffers


def test_line_without_newline_is_cut_at_the_limit_with_bounded_memory() -> None:
    import tracemalloc

    limit = 256 * 1024
    read = b"x" * 4096
    decoder = SSEDecoder(max_line_bytes=limit)
    tracemalloc.start()
    fed = 0
    try:
        decoder.feed(b"data:")

        def never_a_newline() -> None:
            nonlocal fed
            for _ in range(10 * limit // len(read)):
                decoder.feed(read)
                fed += len(read)

        with pytest.raises(StreamProtocolError, match=f"max_line_bytes={limit}"):
            never_a_newline()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert limit - len(read) <= fed <= limit  # cut at the limit, not later
    assert peak < 3 * limit  # the buffer, one read and a copy at most; no growth beyond
    with pytest.raises(StreamProtocolError):  # stays failed
        decoder.close()


def test_default_limit_is_16_mib_and_a_long_event_is_bounded_too() -> None:
    assert SSEDecoder().max_line_bytes == 16 * 1024 * 1024
    decoder = SSEDecoder(max_line_bytes=100)
    # Many short lines, but one event larger than the limit.
    with pytest.raises(StreamProtocolError, match="max_line_bytes=100"):
        decoder.feed(b"data:0123456789\n" * 20)


def test_events_before_an_oversized_one_are_returned_first() -> None:
    decoder = ChatStreamDecoder(model="qwen-plus", max_line_bytes=1024)
    first = TEXT_STREAM.split("\n\n")[0] + "\n\n"
    chunks = decoder.feed(first.encode() + b"data:" + b"y" * 2048)
    assert [c.text for c in chunks] == ["I am"]
    with pytest.raises(StreamProtocolError, match="max_line_bytes=1024"):
        decoder.feed(b"more")
    with pytest.raises(StreamProtocolError, match="max_line_bytes=1024"):
        decoder.close()


def test_complete_oversized_event_in_one_read_is_refused() -> None:
    decoder = SSEDecoder(max_line_bytes=64)
    with pytest.raises(StreamProtocolError):
        decoder.feed(b"data:" + b"z" * 100 + b"\n\n")


def test_mixed_line_ends_in_one_event() -> None:
    events = sse_events([b"id:1\r\nevent:result\r:HTTP_STATUS/429\ndata:a\r\ndata:b\r\r\n"])
    assert events == [SSEEvent(event="result", data="a\nb", id="1", http_status=429)]


def test_max_line_bytes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_line_bytes"):
        SSEDecoder(max_line_bytes=0)


def test_status_comment_written_with_a_space() -> None:
    assert sse_events([b": HTTP_STATUS/503\ndata:x\n\n"])[0].http_status == 503
    assert sse_events([b":HTTP_STATUS/50\ndata:x\n\n"])[0].http_status is None


@settings(max_examples=150, deadline=None)
@given(
    transcript=st.sampled_from(TRANSCRIPTS),
    eols=st.lists(st.sampled_from(LINE_ENDINGS), min_size=1, max_size=16),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=40),
)
def test_mixed_line_ends_random_splits(transcript: str, eols: list[str], cuts: list[int]) -> None:
    # Each line end of the transcript written a different way (the slow, general path).
    lines = transcript.split("\n")
    parts, previous = [], ""
    for i, line in enumerate(lines[:-1]):
        eol = eols[i % len(eols)]
        if previous == "\r" and not line and eol == "\n":
            eol = "\r"  # "\r" + "" + "\n" would be one CRLF, not two line ends
        parts.append(line + eol)
        previous = eol
    text = "".join(parts) + lines[-1]
    assert sse_events(split_at(text.encode(), cuts)) == expected_events(transcript)


def test_stream_layer_does_not_import_the_chat_module() -> None:
    import ast
    import inspect

    from dashscope_ws import events, sse, wire

    for module in (events, sse, wire):
        tree = ast.parse(inspect.getsource(module))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "protocol" not in imported, module.__name__

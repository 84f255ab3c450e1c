"""Request building, response parsing and error parsing (protocol reference §1, §3)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from dashscope_ws.config import ClientConfig
from dashscope_ws.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from dashscope_ws.protocol import (
    MULTIMODAL_GENERATION_PATH,
    TEXT_GENERATION_PATH,
    build_chat_request,
    generation_path,
    parse_chat_response,
    parse_error,
    parse_retry_after,
    requires_streaming,
)

KEY = "sk-protocol-test-key"


@pytest.fixture
def config() -> ClientConfig:
    return ClientConfig.resolve(api_key=KEY, env={})


USER = [{"role": "user", "content": "hi"}]

# Every parameter of protocol reference §1.3 with a representative value.
ALL_PARAMETERS: dict[str, Any] = {
    "temperature": 0.7, "top_p": 0.8, "top_k": 20, "max_tokens": 10, "max_input_tokens": 1000,
    "seed": 1, "stop": ["x"], "repetition_penalty": 1.1, "presence_penalty": 0.5,
    "enable_search": True, "search_options": {"forced_search": True},
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
    "tool_choice": "auto", "parallel_tool_calls": True,
    "response_format": {"type": "json_object"}, "enable_thinking": False, "thinking_budget": 50,
    "enable_code_interpreter": False, "logprobs": True, "top_logprobs": 2, "n": 1,
    "vl_high_resolution_images": True, "vl_enable_image_hw_output": False,
    "output_format": "model_detailed_report",
}  # fmt: skip


def test_all_documented_parameters_reach_the_wire(config: ClientConfig) -> None:
    request = build_chat_request(
        config, model="qwen-plus", messages=USER, parameters=ALL_PARAMETERS, stream=False
    )
    assert request.json is not None
    assert list(request.json) == ["model", "input", "parameters"]
    assert request.json["parameters"] == {**ALL_PARAMETERS, "result_format": "message"}
    assert request.json["input"] == {"messages": USER}
    assert request.method == "POST"
    assert request.url == f"https://dashscope.aliyuncs.com/api/v1/{TEXT_GENERATION_PATH}"
    assert request.headers["Accept"] == "application/json"


def test_result_format_forced_none_dropped_unknown_passed(config: ClientConfig) -> None:
    request = build_chat_request(
        config,
        model="qwen-plus",
        messages=USER,
        parameters={"result_format": "text", "temperature": None, "brand_new_knob": {"a": 1}},
        stream=False,
    )
    assert request.json is not None
    assert request.json["parameters"] == {"result_format": "message", "brand_new_knob": {"a": 1}}


def test_stream_request(config: ClientConfig) -> None:
    request = build_chat_request(
        config, model="qwen-plus", messages=USER, parameters={}, stream=True, workspace="ws_2"
    )
    assert request.json is not None
    assert request.json["parameters"] == {"result_format": "message", "incremental_output": True}
    assert request.headers["X-DashScope-SSE"] == "enable"
    assert request.headers["Accept"] == "text/event-stream"
    assert request.headers["X-DashScope-WorkSpace"] == "ws_2"


@pytest.mark.parametrize(
    ("parameters", "stream", "match"),
    [
        ({"stream": True}, True, "stream"),
        ({"stream": False}, False, "stream"),
        ({"incremental_output": False}, True, "incremental_output"),
    ],
)
def test_rejected_parameters(
    config: ClientConfig, parameters: dict[str, Any], stream: bool, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        build_chat_request(
            config, model="qwen-plus", messages=USER, parameters=parameters, stream=stream
        )


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ([{"role": "robot", "content": "x"}], "role"),
        ([{"role": "tool", "content": "42"}], "tool_call_id"),
        ([{"role": "user"}], "content"),
        ([], "empty"),
        (["hi"], "dict"),
    ],
)
def test_invalid_messages(config: ClientConfig, messages: list[Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_chat_request(
            config, model="qwen-plus", messages=messages, parameters={}, stream=False
        )


def test_per_call_workspace_is_validated(config: ClientConfig) -> None:
    with pytest.raises(ValueError, match="workspace"):
        build_chat_request(
            config, model="m", messages=USER, parameters={}, stream=False, workspace="a\r\nX: y"
        )


def test_tool_history_messages(config: ClientConfig) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "天气"}, {"type": "text", "text": "?"}],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "function": {"name": "w", "arguments": {"city": "杭州"}}},
                {"id": "call_2", "type": "function", "function": {"name": "t", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
        {"role": "function", "name": "t", "content": "noon"},
    ]
    request = build_chat_request(
        config, model="qwen-plus", messages=messages, parameters={}, stream=False
    )
    assert request.json is not None
    wire = request.json["input"]["messages"]
    assert wire[1]["content"] == "天气?"  # text path: text-only lists flattened
    assert wire[2]["content"] == ""
    calls = wire[2]["tool_calls"]
    assert calls[0]["function"]["arguments"] == '{"city": "杭州"}'
    assert calls[0]["type"] == "function"
    assert calls[1]["function"]["arguments"] == "{}"
    assert wire[3] == {"role": "tool", "content": "sunny", "tool_call_id": "call_1"}
    assert wire[4]["name"] == "t"
    # The caller's messages are not mutated.
    assert messages[2]["tool_calls"][0]["function"]["arguments"] == {"city": "杭州"}


def test_multimodal_content_conversion(config: ClientConfig) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "describe"},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                {"type": "text", "text": "what"},
                {"image": "https://x/z.png"},
                {"type": "video", "video": ["a.jpg", "b.jpg"], "fps": 2},
            ],
        },
    ]
    request = build_chat_request(
        config, model="qwen-vl-plus", messages=messages, parameters={}, stream=False
    )
    assert request.url.endswith(MULTIMODAL_GENERATION_PATH)
    assert request.json is not None
    wire = request.json["input"]["messages"]
    assert wire[0]["content"] == [{"text": "describe"}]
    assert wire[1]["content"] == [
        {"image": "https://x/y.png"},
        {"text": "what"},
        {"image": "https://x/z.png"},
        {"video": ["a.jpg", "b.jpg"], "fps": 2},
    ]


@pytest.mark.parametrize(
    "model",
    [
        "qwen-vl-plus", "qwen3-vl-plus", "qwen2.5-vl-72b-instruct", "qvq-max", "qwen-audio-turbo",
        "qwen2-audio-instruct", "qwen3.5-plus", "qwen3.6-plus", "qwen3.6-flash", "qwen3.7-plus",
        "qwen3.8-max", "qwen-vl-ocr", "Qwen-VL-Max",
    ],
)  # fmt: skip
def test_multimodal_models(model: str) -> None:
    assert generation_path(model) == MULTIMODAL_GENERATION_PATH


@pytest.mark.parametrize(
    "model", ["qwen-plus", "qwen3-max", "qwq-plus", "qwen3-32b", "deepseek-r1", "my-fine-tune"]
)
def test_text_models(model: str) -> None:
    assert generation_path(model) == TEXT_GENERATION_PATH


@pytest.mark.parametrize(
    ("model", "parameters", "expected"),
    [
        ("qwq-plus", {}, True),
        ("qvq-max", {}, True),
        ("qwen-plus", {"enable_thinking": True}, True),
        ("qwen-plus", {}, False),
        ("qwen-plus", {"enable_thinking": False}, False),
        ("qwen3-32b", {}, True),
        ("qwen3-235b-a22b", {}, True),
        ("qwen3-30b-a3b", {"enable_thinking": False}, False),
        ("qwen3-235b-a22b-thinking-2507", {}, True),
        ("qwen3-235b-a22b-instruct-2507", {}, False),
        ("qwen3-max", {}, False),
        ("qwen3-vl-plus", {}, False),
        ("qwen3.6-plus", {}, True),  # thinks by default
        ("qwen3.6-plus", {"enable_thinking": False}, False),
        ("qwen3-omni-flash", {}, True),
        ("my-fine-tune", {}, False),
    ],
)
def test_requires_streaming(model: str, parameters: dict[str, Any], expected: bool) -> None:
    assert requires_streaming(model, parameters) is expected


# --------------------------------------------------------------------------- responses

# Protocol reference §1.4: real tool-call response (server parts of the SDK print).
TOOL_CALL_BODY = {
    "request_id": "1044d256-65ea-9921-93ee-f276c40ab25a",
    "output": {
        "choices": [
            {
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "首先，我们需要生成一个SM4加密算法所需的密钥。",
                    "tool_calls": [
                        {
                            "function": {
                                "name": "generate_key",
                                "arguments": "{'key_type': 'SM4'}",
                            },
                            "index": 0,
                            "id": "call_f938e2319ff546b28bf264",
                            "type": "function",
                        }
                    ],
                },
            }
        ]
    },
    "usage": {
        "input_tokens": 1726,
        "output_tokens": 57,
        "prompt_tokens_details": {"cached_tokens": 1024},
        "total_tokens": 1783,
    },
}

# Protocol reference §1.4 [ERDA]: real Qwen-VL body (content list, no total_tokens).
VL_BODY = {
    "output": {
        "choices": [
            {
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": [{"text": "Hello! How can I assist you today?"}],
                },
            }
        ]
    },
    "usage": {"output_tokens": 10, "input_tokens": 92},
    "request_id": "cc7bcb16-0a9d-9ca4-ae78-b792393eb840",
}


def _body(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def test_parse_tool_call_response() -> None:
    result = parse_chat_response(200, {}, _body(TOOL_CALL_BODY), model="qwen-plus")
    assert result.text.startswith("首先")
    assert result.finish_reason == "tool_calls"
    (call,) = result.tool_calls
    assert (call.id, call.name, call.arguments, call.index) == (
        "call_f938e2319ff546b28bf264", "generate_key", "{'key_type': 'SM4'}", 0,
    )  # fmt: skip
    assert result.usage.cached_tokens == 1024
    assert result.usage.total_tokens == 1783
    assert result.request_id == "1044d256-65ea-9921-93ee-f276c40ab25a"
    assert result.model == "qwen-plus"


def test_parse_content_list_and_computed_total() -> None:
    result = parse_chat_response(200, {}, _body(VL_BODY), model="qwen-vl-plus")
    assert result.text == "Hello! How can I assist you today?"
    assert result.usage.total_tokens == 102
    assert result.usage.cached_tokens is None


def test_parse_reasoning_and_dict_arguments() -> None:
    body = {
        "output": {
            "choices": [
                {
                    "finish_reason": "tool_calls",
                    "message": {
                        "content": "",
                        "reasoning_content": "The user is asking",
                        "tool_calls": [
                            {
                                "id": "b",
                                "index": 1,
                                "function": {"name": "g", "arguments": {"x": "é"}},
                            },
                            {"id": "a", "index": 0, "function": {"name": "f", "arguments": "{}"}},
                        ],
                    },
                }
            ]
        },
        "usage": {
            "input_tokens": 287,
            "output_tokens": 3,
            "total_tokens": 290,
            "output_tokens_details": {"reasoning_tokens": 1},
        },
        "request_id": "a1959ad1",
    }
    result = parse_chat_response(200, {}, _body(body), model="qwen3-max")
    assert result.reasoning == "The user is asking"
    assert result.usage.reasoning_tokens == 1
    assert [c.id for c in result.tool_calls] == ["a", "b"]
    assert result.tool_calls[1].arguments == '{"x": "é"}'


def test_parse_legacy_function_call_and_null_finish() -> None:
    body = {
        "output": {
            "choices": [
                {
                    "finish_reason": "null",
                    "message": {
                        "role": "assistant",
                        "content": "",
                        "function_call": {
                            "name": "get_current_weather",
                            "arguments": '{"location": "上海"}',
                        },
                    },
                }
            ]
        },
        "request_id": "r",
    }
    result = parse_chat_response(200, {}, _body(body), model="qwen-plus")
    assert result.finish_reason is None
    assert result.tool_calls[0].name == "get_current_weather"
    assert result.tool_calls[0].arguments == '{"location": "上海"}'


def test_parse_text_format_output() -> None:
    body = {"output": {"text": "我是", "finish_reason": "stop"}, "request_id": "r"}
    result = parse_chat_response(200, {}, _body(body), model="qwen-plus")
    assert (result.text, result.finish_reason) == ("我是", "stop")


def test_request_id_from_header() -> None:
    body = {"output": {"text": "x", "finish_reason": "stop"}}
    result = parse_chat_response(200, {"X-Request-Id": "hdr-1"}, _body(body), model="m")
    assert result.request_id == "hdr-1"


def test_two_layer_error_on_200() -> None:
    body = {"code": "Throttling.AllocationQuota", "message": "quota", "request_id": "r2"}
    with pytest.raises(RateLimitError) as info:
        parse_chat_response(200, {}, _body(body), model="m")
    assert info.value.request_id == "r2"


def test_invalid_json_on_200() -> None:
    with pytest.raises(APIStatusError) as info:
        parse_chat_response(200, {}, b"<html>gateway</html>", model="m")
    assert info.value.code == "InvalidResponse"
    assert "gateway" in info.value.message


def test_non_200_raises_mapped_error() -> None:
    body = {"code": "InvalidApiKey", "message": "Invalid API-key provided.", "request_id": "r"}
    with pytest.raises(AuthenticationError):
        parse_chat_response(401, {}, _body(body), model="m")


# --------------------------------------------------------------------------- errors


def test_parse_error_native_json() -> None:
    body = {"code": "InvalidParameter", "message": "Model not exist.", "request_id": "req-1"}
    error = parse_error(400, {}, _body(body))
    assert isinstance(error, BadRequestError)
    assert (error.status_code, error.code, error.message, error.request_id) == (
        400, "InvalidParameter", "Model not exist.", "req-1",
    )  # fmt: skip
    assert error.body == body


def test_parse_error_msg_key_and_header_request_id() -> None:
    error = parse_error(
        403, {"x-dashscope-request-id": "h-9"}, b'{"code":"AccessDenied","msg":"no"}'
    )
    assert isinstance(error, PermissionDeniedError)
    assert (error.message, error.request_id) == ("no", "h-9")


def test_parse_error_compatible_mode() -> None:
    body = (
        b'{"error":{"code":"model_not_found","type":"invalid_request_error",'
        b'"message":"Model not exist."}}'
    )
    error = parse_error(404, {}, body)
    assert isinstance(error, NotFoundError)
    assert error.code == "model_not_found"


def test_parse_error_sse_body() -> None:
    body = (
        b"id:1\nevent:error\n:HTTP_STATUS/400\n"
        b'data:{"code":"InvalidParameter","message":"url error, please check url\xef\xbc\x81",'
        b'"request_id":"s-1"}\n\n'
    )
    error = parse_error(400, {"Content-Type": "text/event-stream"}, body)
    assert isinstance(error, BadRequestError)
    assert error.message == "url error, please check url！"
    assert error.request_id == "s-1"


def test_parse_error_raw_text_truncated() -> None:
    error = parse_error(502, {}, b"Bad gateway " + b"x" * 5000)
    assert error.code == "Unknown"
    assert error.message.startswith("Bad gateway")
    assert len(error.message) == 1000
    assert error.retryable


def test_parse_error_json_without_code_uses_status() -> None:
    error = parse_error(403, {}, b'{"message": "Error api key"}')
    assert isinstance(error, PermissionDeniedError)
    assert error.message == "Error api key"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT"}, 30.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:27:00 GMT"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc)
    assert parse_retry_after(headers, now=now) == expected


def test_parse_error_carries_retry_after() -> None:
    error = parse_error(429, {"Retry-After": "7"}, b'{"code":"Throttling.RateQuota"}')
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0


@pytest.mark.parametrize(
    "part",
    [{"image": "https://example.test/a.png"}, {"type": "image", "image": "oss://a.png"},
     {"audio": "https://example.test/a.wav"}, {"video": ["oss://f1.jpg", "oss://f2.jpg"]}],
)  # fmt: skip
def test_media_in_a_tool_result_is_refused_for_every_caller(
    part: dict[str, Any], config: ClientConfig
) -> None:
    # One rule in the core: the adapters check earlier with the same text, a direct
    # client call (or an adapter's native parts) is stopped here, before anything is sent.
    messages = [
        {"role": "user", "content": "take a photo"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "photo", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"text": "done"}, part]},
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"messages\[2\]: DashScope tool messages take text only"):
        build_chat_request(
            config, model="qwen3-vl-plus", messages=messages, parameters={}, stream=False
        )
    messages[2]["content"] = [{"text": "done"}, {"type": "text", "text": "42"}]
    build_chat_request(
        config, model="qwen3-vl-plus", messages=messages, parameters={}, stream=False
    )

"""Request validation of the generation endpoints, with the service's messages."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_testkit import MM_PATH, TEXT_PATH, Call, chat_body


def error_of(response: Any) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["message"]


def test_malformed_json_body(call: Call) -> None:
    for raw in (b"{not json", b"[1, 2]", b""):
        assert error_of(call(TEXT_PATH, raw)) == (
            400,
            "InvalidParameter",
            "Required body invalid, please check the request body format.",
        )


def test_missing_messages(call: Call) -> None:
    message = 'Either "prompt" or "messages" must exist and cannot both be none'
    for body in (
        {"model": "qwen-plus", "input": {}},
        {"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]},
    ):
        assert error_of(call(TEXT_PATH, body)) == (400, "InvalidParameter", message)


def test_prompt_form_is_accepted(call: Call) -> None:
    response = call(TEXT_PATH, {"model": "qwen-plus", "input": {"prompt": "hi"}})
    assert response.status_code == 200
    assert response.json()["output"]["text"]  # default result_format for qwen-plus is text


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("temperature", 2, "Temperature should be in [0.0, 2.0)"),
        ("temperature", -0.1, "Temperature should be in [0.0, 2.0)"),
        ("top_p", 0, "Range of top_p should be (0.0, 1.0]"),
        ("top_p", 1.5, "Range of top_p should be (0.0, 1.0]"),
        ("n", 5, "Range of n should be [1, 4]"),
        ("n", 0, "Range of n should be [1, 4]"),
        ("top_logprobs", 6, "Range of top_logprobs should be [0, 5]"),
        ("top_k", -1, "Parameter top_k be greater than or equal to 0"),
        ("max_tokens", 0, "Range of max_tokens should be [1, 32768]"),
    ],
)
def test_parameter_ranges(call: Call, name: str, value: float, message: str) -> None:
    response = call(TEXT_PATH, chat_body(**{name: value}))
    assert error_of(response) == (400, "InvalidParameter", message)


@pytest.mark.parametrize(
    ("name", "value"), [("temperature", 0), ("temperature", 1.99), ("top_p", 1), ("n", 4)]
)
def test_parameter_range_edges_are_accepted(call: Call, name: str, value: float) -> None:
    assert call(TEXT_PATH, chat_body(**{name: value})).status_code == 200


def test_thinking_non_stream_is_rejected(call: Call) -> None:
    response = call(TEXT_PATH, chat_body(enable_thinking=True))
    assert error_of(response) == (
        400,
        "InvalidParameter",
        "parameter.enable_thinking must be set to false for non-streaming calls",
    )


def test_qwq_non_stream_is_rejected(call: Call) -> None:
    response = call(TEXT_PATH, chat_body(model="qwq-plus"))
    assert error_of(response) == (
        400,
        "InvalidParameter",
        "This model only support stream mode, please enable the stream parameter to access the "
        "model.",
    )


def test_thinking_needs_incremental_output(call: Call) -> None:
    body = chat_body(enable_thinking=True, incremental_output=False)
    assert error_of(call(TEXT_PATH, body, stream=True)) == (
        400,
        "InvalidParameter",
        'The incremental_output parameter must be "true" when enable_thinking is true',
    )


def test_enable_thinking_on_a_model_without_thinking(call: Call) -> None:
    response = call(TEXT_PATH, chat_body(model="qwen-max", enable_thinking=True), stream=True)
    assert error_of(response) == (
        400,
        "InvalidParameter.NotSupportEnableThinking",
        "The model qwen-max does not support enable_thinking.",
    )


def test_enable_thinking_false_is_fine_everywhere(call: Call) -> None:
    assert call(TEXT_PATH, chat_body(model="qwen-max", enable_thinking=False)).status_code == 200


def test_tool_message_must_follow_tool_calls(call: Call) -> None:
    body = chat_body()
    body["input"]["messages"].append({"role": "tool", "content": "42", "tool_call_id": "x"})
    assert error_of(call(TEXT_PATH, body)) == (
        400,
        "InvalidParameter",
        'messages with role "tool" must be a response to a preceeding message with "tool_calls"',
    )


def test_tool_messages_after_tool_calls_are_accepted(call: Call) -> None:
    calls = [
        {"id": f"call_{i}", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        for i in (1, 2)
    ]
    body = chat_body()
    body["input"]["messages"] += [
        {"role": "assistant", "content": "", "tool_calls": calls},
        {"role": "tool", "content": "one", "tool_call_id": "call_1"},
        {"role": "tool", "content": "two", "tool_call_id": "call_2"},
    ]
    assert call(TEXT_PATH, body).status_code == 200


def test_json_object_requires_the_word_json(call: Call) -> None:
    body = chat_body("Give me a user record", response_format={"type": "json_object"})
    assert error_of(call(TEXT_PATH, body)) == (
        400,
        "InvalidParameter",
        "'messages' must contain the word 'json' in some form, to use 'response_format' of "
        "type 'json_object'.",
    )


def test_tool_choice_string_values(call: Call) -> None:
    assert call(TEXT_PATH, chat_body(tool_choice="none")).status_code == 200
    assert error_of(call(TEXT_PATH, chat_body(tool_choice="sometimes"))) == (
        400,
        "InvalidParameter",
        'tool_choice is one of the strings that should be ["none", "auto"]',
    )


def test_text_models_need_string_content(call: Call) -> None:
    body = chat_body()
    body["input"]["messages"][0]["content"] = [{"text": "hi"}]
    assert error_of(call(TEXT_PATH, body)) == (
        400,
        "InvalidParameter",
        "input content must be a string.",
    )
    body["model"] = "qwen-vl-plus"
    assert call(MM_PATH, body).status_code == 200

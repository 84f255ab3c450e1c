"""The emulated model's generic behaviour: deterministic, extractive, JSON, tools, limits."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
from emulator_testkit import TEXT_PATH, Call, chat_body

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}
STOCK = {
    "type": "function",
    "function": {
        "name": "get_stock_price",
        "description": "Look up the stock price of a company",
        "parameters": {
            "type": "object",
            "properties": {"ticker": {"type": "string"}},
            "required": ["ticker"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current local time in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def message_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    choice = response.json()["output"]["choices"][0]
    message: dict[str, Any] = choice["message"]
    message["finish_reason"] = choice["finish_reason"]
    return message


def test_same_input_same_output_and_different_input_differs(call: Call) -> None:
    first = message_of(call(TEXT_PATH, chat_body("Tell me about otters")))
    again = message_of(call(TEXT_PATH, chat_body("Tell me about otters")))
    other = message_of(call(TEXT_PATH, chat_body("Tell me about volcanoes")))
    assert first["content"] == again["content"]
    assert first["content"] != other["content"]
    assert "otters" in first["content"]


def test_extractive_answer_from_context_in_the_prompt(call: Call) -> None:
    prompt = (
        "Context: The Eiffel Tower was completed in 1889. Mount Fuji is the highest mountain "
        "in Japan. Coffee was first cultivated in Yemen.\nQuestion: Which mountain is the "
        "highest in Japan?"
    )
    answer = message_of(call(TEXT_PATH, chat_body(prompt)))["content"]
    assert answer == "Mount Fuji is the highest mountain in Japan."


def test_extractive_answer_from_system_context_in_chinese(call: Call) -> None:
    body = chat_body("中国的首都是哪里？")
    body["input"]["messages"].insert(
        0, {"role": "system", "content": "杭州是浙江的省会。北京是中国的首都。长江很长。"}
    )
    assert message_of(call(TEXT_PATH, body))["content"] == "北京是中国的首都。"


def test_json_object_reply_is_a_json_object(call: Call) -> None:
    body = chat_body("Answer in JSON: what is 2+2?", response_format={"type": "json_object"})
    parsed = json.loads(message_of(call(TEXT_PATH, body))["content"])
    assert isinstance(parsed, dict)
    assert parsed


def test_json_object_reply_uses_the_keys_the_prompt_quotes(call: Call) -> None:
    prompt = "Tell me a joke. Return JSON with 'setup' and \"punchline\" keys."
    body = chat_body(prompt, response_format={"type": "json_object"})
    parsed = json.loads(message_of(call(TEXT_PATH, body))["content"])
    assert list(parsed) == ["setup", "punchline"]
    assert all(isinstance(value, str) and value for value in parsed.values())


def test_json_schema_reply_conforms_and_uses_prompt_values(call: Call) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 0},
            "email": {"type": "string", "format": "email"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "role": {"type": "string", "enum": ["admin", "user", "guest"]},
            "address": {"$ref": "#/$defs/Address"},
            "nickname": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["name", "age", "email", "tags", "role", "address"],
        "$defs": {
            "Address": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "zip": {"type": "integer"}},
                "required": ["city", "zip"],
            }
        },
    }
    prompt = "Extract the user. name: Alice, age: 31, city: Berlin, role: guest."
    response_format = {"type": "json_schema", "json_schema": {"name": "user", "schema": schema}}
    content = message_of(call(TEXT_PATH, chat_body(prompt, response_format=response_format)))
    value = json.loads(content["content"])
    jsonschema.validate(value, schema)
    assert value["name"] == "Alice"
    assert value["age"] == 31
    assert value["role"] == "guest"
    assert value["address"]["city"] == "Berlin"


def test_tool_call_selected_by_overlap_with_arguments_from_prompt(call: Call) -> None:
    body = chat_body("What is the weather in Paris in celsius?", tools=[STOCK, WEATHER])
    message = message_of(call(TEXT_PATH, body))
    assert message["finish_reason"] == "tool_calls"
    (tool_call,) = message["tool_calls"]
    assert tool_call["type"] == "function"
    assert tool_call["index"] == 0
    assert re.fullmatch(r"call_[0-9a-f]{22}", tool_call["id"])
    assert tool_call["function"]["name"] == "get_weather"
    arguments = json.loads(tool_call["function"]["arguments"])
    jsonschema.validate(arguments, WEATHER["function"]["parameters"])  # type: ignore[index]
    assert arguments == {"city": "Paris", "unit": "celsius"}


def test_parallel_tool_calls_pick_every_matching_tool(call: Call) -> None:
    prompt = "What is the weather and the local time in Tokyo?"
    body = chat_body(prompt, tools=[WEATHER, STOCK, TIME], parallel_tool_calls=True)
    calls = message_of(call(TEXT_PATH, body))["tool_calls"]
    assert sorted(c["function"]["name"] for c in calls) == ["get_time", "get_weather"]
    assert [c["index"] for c in calls] == [0, 1]
    assert len({c["id"] for c in calls}) == 2
    single = message_of(call(TEXT_PATH, chat_body(prompt, tools=[WEATHER, STOCK, TIME])))
    assert len(single["tool_calls"]) == 1


def test_tool_choice_none_and_named(call: Call) -> None:
    prompt = "What is the weather in Paris?"
    none = message_of(call(TEXT_PATH, chat_body(prompt, tools=[WEATHER], tool_choice="none")))
    assert "tool_calls" not in none
    assert none["content"]
    forced = {"type": "function", "function": {"name": "get_stock_price"}}
    named = message_of(
        call(TEXT_PATH, chat_body(prompt, tools=[WEATHER, STOCK], tool_choice=forced))
    )
    assert named["tool_calls"][0]["function"]["name"] == "get_stock_price"


def test_tool_named_like_an_identifier_in_the_prompt_is_chosen(call: Call) -> None:
    magic = {
        "type": "function",
        "function": {
            "name": "magic_function",
            "description": "Applies a secret transformation.",
            "parameters": {"type": "object", "properties": {"input": {"type": "integer"}}},
        },
    }
    body = chat_body("What is the value of magic_function(3)? Use the tool.", tools=[STOCK, magic])
    (tool_call,) = message_of(call(TEXT_PATH, body))["tool_calls"]
    assert tool_call["function"]["name"] == "magic_function"


def test_no_tool_call_when_nothing_matches(call: Call) -> None:
    message = message_of(call(TEXT_PATH, chat_body("Write a haiku about autumn", tools=[STOCK])))
    assert "tool_calls" not in message
    assert message["finish_reason"] == "stop"


def test_reply_after_tool_results_quotes_them(call: Call) -> None:
    body = chat_body("What is the weather in Paris?", tools=[WEATHER])
    body["input"]["messages"] += [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "content": "Sunny, 24 degrees", "tool_call_id": "call_1"},
    ]
    message = message_of(call(TEXT_PATH, body))
    assert "tool_calls" not in message
    assert "Sunny, 24 degrees" in message["content"]


def test_max_tokens_truncates_with_length(call: Call) -> None:
    full = message_of(call(TEXT_PATH, chat_body("Tell me a long story about dragons")))
    short_response = call(TEXT_PATH, chat_body("Tell me a long story about dragons", max_tokens=3))
    short = message_of(short_response)
    assert short["finish_reason"] == "length"
    assert full["content"].startswith(short["content"])
    assert short["content"] != full["content"]
    assert short_response.json()["usage"]["output_tokens"] == 3


def test_stop_sequence_cuts_the_reply(call: Call) -> None:
    full = message_of(call(TEXT_PATH, chat_body("Tell me about otters")))["content"]
    stopped = message_of(call(TEXT_PATH, chat_body("Tell me about otters", stop=["otters"])))
    assert stopped["content"] == full[: full.index("otters")]
    assert stopped["finish_reason"] == "stop"


def test_usage_counts_with_the_documented_tokenizer(call: Call) -> None:
    usage = call(TEXT_PATH, chat_body("你好, world!")).json()["usage"]
    assert usage["input_tokens"] == 5  # 你 好 , world !
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_tokenizer_endpoint_counts_what_chat_usage_counts(call: Call) -> None:
    # Image parts carry no text: neither count may see them.
    content = [{"image": "https://example.com/a.png"}, {"text": "你好, world!"}, {"text": "Hi"}]
    messages = [{"role": "system", "content": "Be brief"}, {"role": "user", "content": content}]
    body = {"model": "qwen-plus", "input": {"messages": messages}, "parameters": {}}
    answer = call("/tokenizer", body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"]["tokens"] == ["Be", "brief", "你", "好", ",", "world", "!", "Hi"]
    text_only = [messages[0], {"role": "user", "content": "你好, world! Hi"}]
    usage = call(TEXT_PATH, {**body, "input": {"messages": text_only}}).json()["usage"]
    assert answer.json()["usage"]["input_tokens"] == usage["input_tokens"] == 8

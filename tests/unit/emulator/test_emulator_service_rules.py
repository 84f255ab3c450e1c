"""Combinations the service refuses are refused by the emulator too (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_testkit import TEXT_PATH, Call, chat_body, sse_events

from dashscope_ws.emulator.validate import (
    FORCED_TOOL_WHILE_THINKING,
    THINKING_BUDGET_LIMIT,
    THINKING_ONLY,
)

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
FORCED = {"type": "function", "function": {"name": "get_weather"}}


def error_of(response: Any) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["message"]


@pytest.mark.parametrize(
    ("model", "thinking"), [("qwen-plus", {"enable_thinking": True}), ("qwq-plus", {})]
)
def test_thinking_with_a_forced_tool_is_refused(
    call: Call, model: str, thinking: dict[str, Any]
) -> None:
    body = chat_body("Weather in Paris?", model=model, tools=TOOLS, tool_choice=FORCED, **thinking)
    response = call(TEXT_PATH, body, stream=True)
    assert error_of(response) == (400, "InvalidParameter", FORCED_TOOL_WHILE_THINKING)


def test_a_forced_tool_without_thinking_is_called(call: Call) -> None:
    body = chat_body("Hello", tools=TOOLS, tool_choice=FORCED, enable_thinking=False)
    response = call(TEXT_PATH, body)
    assert response.status_code == 200
    calls = response.json()["output"]["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather"]


@pytest.mark.parametrize("choice", ["auto", "none"])
def test_thinking_with_auto_or_none_tool_choice_is_fine(call: Call, choice: str) -> None:
    body = chat_body("Weather in Paris?", tools=TOOLS, tool_choice=choice, enable_thinking=True)
    response = call(TEXT_PATH, body, stream=True)
    assert response.status_code == 200
    assert sse_events(response.content)[-1]["event"] == "result"


def test_a_thinking_only_model_refuses_enable_thinking_false(call: Call) -> None:
    body = chat_body(model="qwq-plus", enable_thinking=False)
    assert error_of(call(TEXT_PATH, body, stream=True)) == (400, "InvalidParameter", THINKING_ONLY)


@pytest.mark.parametrize("budget", [0, -5, THINKING_BUDGET_LIMIT + 1, 10.5])
def test_thinking_budget_must_be_a_positive_integer_within_the_limit(
    call: Call, budget: float
) -> None:
    body = chat_body(enable_thinking=True, thinking_budget=budget)
    status, code, message = error_of(call(TEXT_PATH, body, stream=True))
    assert (status, code) == (400, "InvalidParameter")
    assert message == (
        "The thinking_budget parameter must be a positive integer and not greater than "
        f"{THINKING_BUDGET_LIMIT}"
    )


def test_a_valid_thinking_budget_truncates_the_reasoning(call: Call) -> None:
    body = chat_body("Tell me about the sea", enable_thinking=True, thinking_budget=2)
    body["parameters"]["incremental_output"] = True
    events = sse_events(call(TEXT_PATH, body, stream=True).content)
    reasoning = "".join(
        e["data"]["output"]["choices"][0]["message"]["reasoning_content"] for e in events
    )
    assert reasoning
    assert len(reasoning.split()) <= 2

"""Request validation of the text/multimodal generation endpoints, with the service's messages."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .behaviour import message_text
from .identities import ModelSpec
from .wire import ServiceError, invalid

__all__ = ["ChatRequest", "validate_chat"]

GENERIC = "Required parameter(s) missing or invalid, please check the request parameters."
MISSING_MESSAGES = 'Either "prompt" or "messages" must exist and cannot both be none'
TOOL_ORDER = (
    'messages with role "tool" must be a response to a preceeding message with "tool_calls"'
)
JSON_WORD = (
    "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
    "'json_object'."
)
MAX_TOKENS_LIMIT = 32768
# The ceiling quoted in a real qwen-plus answer (CherryHQ/cherry-studio#7263); it varies per
# model on the service, one value is assumed here.
THINKING_BUDGET_LIMIT = 38912
# Real answer, compatible mode, qwen3.5/3.6/3.7-plus (cloudwego/eino#994, can1357/oh-my-pi#886);
# the native API is assumed to carry the same text under code InvalidParameter.
FORCED_TOOL_WHILE_THINKING = (
    "<400> InternalError.Algo.InvalidParameter: The tool_choice parameter does not support "
    "being set to required or object in thinking mode"
)
# Real answer for a thinking-only model (CherryHQ/cherry-studio#8570).
THINKING_ONLY = (
    "<400> InternalError.Algo.InvalidParameter: The value of the enable_thinking parameter is "
    "restricted to True."
)


@dataclass(frozen=True)
class ChatRequest:
    """A validated generation request with its defaults applied.

    Example:
        >>> ChatRequest("qwen-plus", [], {}, False, True, True).thinking
        False
    """

    model: str
    messages: list[Mapping[str, Any]]
    parameters: Mapping[str, Any]
    thinking: bool
    incremental: bool
    message_format: bool


def _number(parameters: Mapping[str, Any], name: str) -> float | None:
    """A finite numeric parameter, or ``None`` when absent.

    Booleans, strings, NaN and infinities (``1e400`` parses as ``inf``) are refused with the
    service's generic message; an integer too large for a float is clamped to ``±inf`` only
    after the type check, so range checks still refuse it instead of overflowing.
    """
    value = parameters.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(GENERIC)
    if isinstance(value, int):
        return float(value) if abs(value) < 2**1000 else (math.inf if value > 0 else -math.inf)
    if not math.isfinite(value):
        raise invalid(GENERIC)
    return value


def _check_ranges(parameters: Mapping[str, Any]) -> None:
    temperature = _number(parameters, "temperature")
    if temperature is not None and not 0 <= temperature < 2:
        raise invalid("Temperature should be in [0.0, 2.0)")
    top_p = _number(parameters, "top_p")
    if top_p is not None and not 0 < top_p <= 1:
        raise invalid("Range of top_p should be (0.0, 1.0]")
    top_k = _number(parameters, "top_k")
    if top_k is not None and top_k < 0:
        raise invalid("Parameter top_k be greater than or equal to 0")
    n = _number(parameters, "n")
    if n is not None and not (1 <= n <= 4 and n == int(n)):
        raise invalid("Range of n should be [1, 4]")
    top_logprobs = _number(parameters, "top_logprobs")
    if top_logprobs is not None and not (
        0 <= top_logprobs <= 5 and top_logprobs == int(top_logprobs)
    ):
        raise invalid("Range of top_logprobs should be [0, 5]")
    max_tokens = _number(parameters, "max_tokens")
    if max_tokens is not None and not (
        1 <= max_tokens <= MAX_TOKENS_LIMIT and max_tokens == int(max_tokens)
    ):
        raise invalid(f"Range of max_tokens should be [1, {MAX_TOKENS_LIMIT}]")
    presence = _number(parameters, "presence_penalty")
    if presence is not None and not -2 <= presence <= 2:
        raise invalid("Range of presence_penalty should be [-2.0, 2.0]")
    seed = _number(parameters, "seed")
    if seed is not None and not 0 <= seed <= 9223372036854775807:
        raise invalid("Range of seed should be [0, 9223372036854775807]")
    budget = _number(parameters, "thinking_budget")
    if budget is not None and not (0 < budget <= THINKING_BUDGET_LIMIT and budget == int(budget)):
        raise invalid(
            "The thinking_budget parameter must be a positive integer and not greater than "
            f"{THINKING_BUDGET_LIMIT}"
        )
    tool_choice = parameters.get("tool_choice")
    if isinstance(tool_choice, str) and tool_choice not in ("none", "auto"):
        raise invalid('tool_choice is one of the strings that should be ["none", "auto"]')
    if tool_choice is not None and not isinstance(tool_choice, str):
        function = tool_choice.get("function") if isinstance(tool_choice, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise invalid(GENERIC)


def _check_messages(messages: Any, multimodal: bool) -> list[Mapping[str, Any]]:
    if not isinstance(messages, list) or not messages:
        raise invalid(MISSING_MESSAGES)
    previous_role: str | None = None
    previous_had_calls = False
    for message in messages:
        if not isinstance(message, Mapping) or message.get("role") not in (
            "system",
            "user",
            "assistant",
            "tool",
            "function",
        ):
            raise invalid(GENERIC)
        role = message["role"]
        content = message.get("content")
        if not multimodal and content is not None and not isinstance(content, str):
            raise invalid("input content must be a string.")
        if role == "tool" and not (previous_had_calls or previous_role == "tool"):
            raise invalid(TOOL_ORDER)
        if role != "tool":
            previous_had_calls = role == "assistant" and bool(message.get("tool_calls"))
        previous_role = role
    return list(messages)


def _text_of(messages: list[Mapping[str, Any]]) -> str:
    return "\n".join(message_text(message.get("content")) for message in messages)


def validate_chat(
    body: Mapping[str, Any], spec: ModelSpec, *, stream: bool, multimodal: bool
) -> ChatRequest:
    """Validate a generation body for ``spec``; raise :class:`ServiceError` like the service."""
    model = str(body["model"])
    raw_input = body.get("input")
    if not isinstance(raw_input, Mapping):
        raise invalid(MISSING_MESSAGES)
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise invalid(GENERIC)
    messages: Any = raw_input.get("messages")
    if messages is None and isinstance(raw_input.get("prompt"), str):
        messages = [{"role": "user", "content": raw_input["prompt"]}]
    messages = _check_messages(messages, multimodal)
    _check_ranges(parameters)

    requested = parameters.get("enable_thinking")
    if requested is True and spec.thinking == "none":
        raise ServiceError(
            400,
            "InvalidParameter.NotSupportEnableThinking",
            f"The model {model} does not support enable_thinking.",
        )
    if requested is False and spec.thinking == "always":
        raise invalid(THINKING_ONLY)
    thinking = spec.thinking == "always" or (spec.thinking == "hybrid" and requested is True)
    if thinking and isinstance(parameters.get("tool_choice"), Mapping):
        raise invalid(FORCED_TOOL_WHILE_THINKING)
    incremental_value = parameters.get("incremental_output")
    incremental = spec.incremental_default if incremental_value is None else bool(incremental_value)
    # Thinking only exists in incremental mode; an absent flag is read that way.
    incremental = incremental or (thinking and incremental_value is None)
    result_format = parameters.get("result_format")
    tools_present = bool(parameters.get("tools"))
    message_format = (
        multimodal
        or tools_present
        or thinking
        or (result_format == "message" if result_format is not None else spec.message_default)
    )
    if thinking:
        if not stream:
            if spec.thinking == "always":
                raise invalid(
                    "This model only support stream mode, please enable the stream parameter "
                    "to access the model."
                )
            raise invalid("parameter.enable_thinking must be set to false for non-streaming calls")
        if incremental_value is False:
            if spec.thinking == "always":
                raise invalid(
                    "The incremental_output parameter of this model cannot be set to False."
                )
            raise invalid(
                'The incremental_output parameter must be "true" when enable_thinking is true'
            )
        if result_format == "text":
            raise invalid(
                'The result_format parameter must be "message" when enable_thinking is true'
            )
    response_format = parameters.get("response_format")
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_object":
        if thinking:
            raise invalid("Json mode response is not supported when enable_thinking is true")
        if "json" not in _text_of(messages).lower():
            raise invalid(JSON_WORD)
    return ChatRequest(model, messages, parameters, thinking, incremental, message_format)

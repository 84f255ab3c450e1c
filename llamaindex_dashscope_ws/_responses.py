"""Core results -> LlamaIndex ``ChatResponse`` (pure; unary replies and streamed chunks).

One builder (:func:`chat_response`) for the response of a whole reply and of every
streamed chunk, so both carry the same ``raw`` and ``additional_kwargs`` names; streams
call it once per chunk, hence no validation (``dashscope_ws._construct``, tested against
the validated constructors).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from dashscope_ws._construct import construct
from dashscope_ws.types import USAGE_COUNTS, ChatChunk, ChatResult, ToolCall, Usage

__all__ = ["chat_message", "chat_response", "to_chat_response", "usage_dict"]


def usage_dict(usage: Usage) -> dict[str, Any]:
    """Native usage names, plus anything extra the service sent.

    Example:
        >>> usage_dict(Usage(input_tokens=3, output_tokens=2, total_tokens=5))
        {'input_tokens': 3, 'output_tokens': 2, 'total_tokens': 5}
    """
    out = dict(usage.raw)
    # Built once per reply, and per streamed response only when that response is read.
    for name in USAGE_COUNTS:
        if (value := getattr(usage, name)) is not None:
            out[name] = value
    return out


def chat_response(
    message: ChatMessage,
    source: Mapping[str, Any],
    delta: str | None,
    facts: tuple[str | None, str | None, str | None, Usage, dict[str, Any]],
    thinking: str = "",
) -> ChatResponse:
    """The ``ChatResponse`` of ``message`` (a unary reply, or any streamed chunk).

    ``source`` is the wire dict shown as ``raw`` (the request id and usage filled in);
    ``facts`` are the request id, finish reason, model, usage and ``usage_dict(usage)``
    (streams reuse the last until the usage changes).
    """
    request_id, finish_reason, model, usage, usage_values = facts
    raw = dict(source)
    raw.setdefault("request_id", request_id)
    raw.setdefault("usage", usage_values)
    kwargs: dict[str, Any] = {
        "request_id": request_id,
        "finish_reason": finish_reason,
        "model": model,
        "usage": usage_values,
    }
    # The names LlamaIndex token counters read from ``additional_kwargs``.
    if (tokens := usage.input_tokens) is not None:
        kwargs["prompt_tokens"] = tokens
    if (tokens := usage.output_tokens) is not None:
        kwargs["completion_tokens"] = tokens
    if (tokens := usage.total_tokens) is not None:
        kwargs["total_tokens"] = tokens
    if thinking:
        kwargs["thinking_delta"] = thinking  # what FunctionAgent streams as thinking
    # No validation (``dashscope_ws._construct``, tested): ChatResponse has no validator.
    values = {"message": message, "raw": raw, "delta": delta, "logprobs": None}
    values["additional_kwargs"] = kwargs
    return construct(ChatResponse, values, {"message", "raw", "delta", "additional_kwargs"})


def to_chat_response(result: ChatResult, *, chunk: ChatChunk | None = None) -> ChatResponse:
    """Build a ``ChatResponse`` from a complete or cumulative-so-far result.

    ``chunk`` (streams) supplies ``delta``, the chunk's ``raw`` and
    ``thinking_delta``; ``message`` is always the cumulative message.

    Example:
        >>> r = to_chat_response(ChatResult(text="hi", request_id="r1"))
        >>> (r.message.content, r.additional_kwargs["request_id"], r.raw["request_id"])
        ('hi', 'r1', 'r1')
    """
    usage = result.usage
    facts = (result.request_id, result.finish_reason, result.model, usage, usage_dict(usage))
    if chunk is None:
        return chat_response(chat_message(result), result.raw, None, facts)
    return chat_response(chat_message(result), chunk.raw, chunk.text, facts, chunk.reasoning)


def chat_message(result: ChatResult) -> ChatMessage:
    """The assistant ``ChatMessage`` of a complete or cumulative-so-far result."""
    if not result.reasoning and not result.tool_calls:
        # Text only, the common reply: ChatMessage's one validator (legacy images in
        # additional_kwargs) has nothing to do, so no validation either.
        text = construct(TextBlock, {"block_type": "text", "text": result.text}, {"text"})
        return construct(
            ChatMessage,
            {"role": MessageRole.ASSISTANT, "additional_kwargs": {}, "blocks": [text]},
            {"role", "additional_kwargs", "blocks"},
        )
    blocks, message_kwargs = _message_parts(result)
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=message_kwargs)


def _message_parts(result: ChatResult) -> tuple[list[Any], dict[str, Any]]:
    """The blocks and ``additional_kwargs`` of ``result``'s assistant message (thinking,
    text, tool calls)."""
    blocks: list[Any] = []
    message_kwargs: dict[str, Any] = {}
    if result.reasoning:
        blocks.append(
            ThinkingBlock(content=result.reasoning, num_tokens=result.usage.reasoning_tokens)
        )
        message_kwargs["reasoning_content"] = result.reasoning
    blocks.append(TextBlock(text=result.text))
    if result.tool_calls:
        message_kwargs["tool_calls"] = [_call_dict(call) for call in result.tool_calls]
        blocks.extend(
            ToolCallBlock(tool_call_id=call.id, tool_name=call.name, tool_kwargs=call.arguments)
            for call in result.tool_calls
        )
    return blocks, message_kwargs


def _call_dict(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": call.type,
        "index": call.index,
        "function": {"name": call.name, "arguments": call.arguments},
    }

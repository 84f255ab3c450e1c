"""Serialise a planned :class:`~.behaviour.Reply` as a generation body or as stream payloads."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .behaviour import Reply, message_text
from .tokenizer import count_tokens, pieces

__all__ = ["CHUNK_TOKENS", "Shape", "chat_body", "chat_payloads", "input_tokens"]

CHUNK_TOKENS = 3  # tokens per streamed text chunk: several chunks even for short replies
ARGUMENT_TOKENS = 4  # tokens per streamed tool-call arguments fragment


@dataclass(frozen=True)
class Shape:
    """How the answer is laid out on the wire.

    Example:
        >>> Shape(True, False, True, False, "rid").incremental
        True
    """

    message_format: bool
    multimodal: bool
    incremental: bool
    thinking: bool
    request_id: str


def input_tokens(messages: Sequence[Mapping[str, Any]], parameters: Mapping[str, Any]) -> int:
    """Prompt tokens: every message's text plus the tool definitions."""
    total = sum(count_tokens(message_text(m.get("content"))) for m in messages)
    if parameters.get("tools"):
        total += count_tokens(json.dumps(parameters["tools"], ensure_ascii=False))
    return total


def _usage(
    prompt: int, reasoning: int, output: int, thinking: bool, override: Mapping[str, Any] | None
) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": prompt,
        "output_tokens": reasoning + output,
        "total_tokens": prompt + reasoning + output,
    }
    if thinking:
        usage["output_tokens_details"] = {"reasoning_tokens": reasoning}
    if override:
        usage.update(override)
    return usage


def _content(text: str, shape: Shape) -> Any:
    if shape.multimodal:
        return [{"text": text}] if text else []
    return text


def _calls(reply: Reply, arguments: Sequence[str] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {
                "name": call["name"],
                "arguments": call["arguments"] if arguments is None else arguments[index],
            },
        }
        for index, call in enumerate(reply.tool_calls)
        if arguments is None or index < len(arguments)
    ]


def _tool_tokens(reply: Reply) -> int:
    return sum(count_tokens(c["name"]) + count_tokens(c["arguments"]) for c in reply.tool_calls)


def _wrap(
    message: dict[str, Any], finish: str, usage: dict[str, Any], shape: Shape
) -> dict[str, Any]:
    if shape.message_format:
        output: dict[str, Any] = {"choices": [{"message": message, "finish_reason": finish}]}
    else:
        output = {"finish_reason": finish, "text": message["content"]}
    return {"output": output, "usage": usage, "request_id": shape.request_id}


def chat_body(
    reply: Reply, shape: Shape, prompt_tokens: int, usage: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The non-streaming response body."""
    message: dict[str, Any] = {"role": "assistant", "content": _content(reply.content, shape)}
    if shape.thinking or reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = _calls(reply)
    output_tokens = count_tokens(reply.content) + _tool_tokens(reply)
    reasoning = count_tokens(reply.reasoning)
    totals = _usage(prompt_tokens, reasoning, output_tokens, bool(reply.reasoning), usage)
    return _wrap(message, reply.finish_reason, totals, shape)


def _groups(text: str, size: int) -> list[str]:
    parts = pieces(text)
    return ["".join(parts[i : i + size]) for i in range(0, len(parts), size)]


def chat_payloads(
    reply: Reply, shape: Shape, prompt_tokens: int, usage: Mapping[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Every stream payload in order; the last one carries the ``finish_reason``.

    Token counts are kept as running totals (chunks end on token boundaries, so counts
    add up): re-counting the text so far for every chunk made long replies quadratic.
    """
    reasoning_so_far: list[str] = []
    content_so_far: list[str] = []
    arguments: list[str] = []
    reasoning_tokens = output_tokens = 0
    thinking = shape.thinking or bool(reply.reasoning)

    def payload(
        r_delta: str, c_delta: str, calls: list[dict[str, Any]] | None, finish: str
    ) -> dict[str, Any]:
        if shape.incremental:
            message: dict[str, Any] = {"content": _content(c_delta, shape), "role": "assistant"}
            if thinking:
                message["reasoning_content"] = r_delta
        else:  # cumulative snapshots: quadratic on the wire by nature, as on the real service
            message = {"content": _content("".join(content_so_far), shape), "role": "assistant"}
            if thinking:
                message["reasoning_content"] = "".join(reasoning_so_far)
            calls = _calls(reply, arguments) if arguments else None
        if calls:
            message["tool_calls"] = calls
        final_usage = usage if finish != "null" else None
        totals = _usage(prompt_tokens, reasoning_tokens, output_tokens, thinking, final_usage)
        return _wrap(message, finish, totals, shape)

    for delta in _groups(reply.reasoning, CHUNK_TOKENS):
        reasoning_so_far.append(delta)
        reasoning_tokens += count_tokens(delta)
        yield payload(delta, "", None, "null")
    for delta in _groups(reply.content, CHUNK_TOKENS):
        content_so_far.append(delta)
        output_tokens += count_tokens(delta)
        yield payload("", delta, None, "null")
    for index, call in enumerate(reply.tool_calls):
        arguments.append("")
        output_tokens += count_tokens(call["name"])
        start = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": ""},
        }
        yield payload("", "", [start], "null")
        for fragment in _groups(call["arguments"], ARGUMENT_TOKENS):
            arguments[index] += fragment
            output_tokens += count_tokens(fragment)
            piece = {
                "index": index,
                "id": "",
                "type": "function",
                "function": {"arguments": fragment},
            }
            yield payload("", "", [piece], "null")
    yield payload("", "", None, reply.finish_reason)


def app_payloads(
    text: str, session_id: str, model: str, prompt_tokens: int, incremental: bool, request_id: str
) -> Iterator[dict[str, Any]]:
    """Stream payloads of the application-completion endpoint."""
    so_far: list[str] = []
    output_tokens = 0
    for delta in _groups(text, CHUNK_TOKENS):
        so_far.append(delta)
        output_tokens += count_tokens(delta)
        yield app_body(
            delta if incremental else "".join(so_far),
            session_id,
            model,
            prompt_tokens,
            output_tokens,
            "null",
            request_id,
        )
    yield app_body(
        "" if incremental else text,
        session_id,
        model,
        prompt_tokens,
        count_tokens(text),
        "stop",
        request_id,
    )


def app_body(
    text: str,
    session_id: str,
    model: str,
    prompt_tokens: int,
    output_tokens: int,
    finish: str,
    request_id: str,
) -> dict[str, Any]:
    """An application-completion body (also one stream payload)."""
    return {
        "output": {"finish_reason": finish, "session_id": session_id, "text": text},
        "usage": {
            "models": [
                {"output_tokens": output_tokens, "model_id": model, "input_tokens": prompt_tokens}
            ]
        },
        "request_id": request_id,
    }

"""Conversions between LangChain messages and the core's wire dicts and results.

Pure functions, named by direction: ``*_to_wire`` builds what ``DashScopeClient``
takes, ``*_to_message`` turns a core ``ChatResult``/``ChatChunk`` into LangChain
messages. ``StreamConverter`` holds the little state a stream needs (the latest
cumulative usage) so that usage is reported once, on the final chunk.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolCallChunk,
    ToolMessage,
)
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk

from dashscope_ws import types
from dashscope_ws.protocol import MULTIMODAL_GENERATION_PATH, generation_path

__all__ = [
    "PROVIDER",
    "StreamConverter",
    "chunk_to_message_chunk",
    "is_multimodal",
    "message_to_wire",
    "messages_to_wire",
    "response_format_to_wire",
    "result_to_message",
    "tool_choice_to_wire",
    "usage_to_metadata",
]

PROVIDER = "dashscope"

# Blocks that describe an earlier assistant turn rather than its text: tool calls are
# replayed from `.tool_calls`, reasoning is never sent back.
_SKIPPED_BLOCKS = frozenset(
    {
        "tool_use", "tool_call", "tool_call_chunk", "invalid_tool_call", "function_call",
        "server_tool_call", "server_tool_call_chunk", "server_tool_result",
        "reasoning", "thinking", "redacted_thinking", "non_standard",
    }
)  # fmt: skip
_MEDIA_BLOCKS = {"image": "image", "image_url": "image", "audio": "audio", "video": "video"}
_ROLE_ALIASES = {"human": "user", "ai": "assistant", "developer": "system"}


def is_multimodal(model: str) -> bool:
    """True when ``model`` is served by the multimodal endpoint (list content)."""
    return generation_path(model) == MULTIMODAL_GENERATION_PATH


# --------------------------------------------------------------------------- to the wire


def messages_to_wire(messages: Sequence[BaseMessage], *, model: str) -> list[dict[str, Any]]:
    """Convert a LangChain conversation into wire dicts for ``model``.

    Raises:
        ValueError: a message type or content block the model cannot take (for
            example an image sent to a text-only model).
    """
    multimodal = is_multimodal(model)
    return [message_to_wire(m, model=model, multimodal=multimodal) for m in messages]


def message_to_wire(message: BaseMessage, *, model: str, multimodal: bool) -> dict[str, Any]:
    """Convert one message (see ``messages_to_wire``)."""
    content = _content_to_wire(message.content, model=model, multimodal=multimodal)
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": content}
    if isinstance(message, HumanMessage):
        return {"role": "user", "content": content}
    if isinstance(message, AIMessage):
        wire: dict[str, Any] = {"role": "assistant", "content": content}
        calls = [_tool_call_to_wire(call) for call in message.tool_calls]
        # Replay malformed calls too: the tool results that follow refer to their ids.
        calls += [_invalid_tool_call_to_wire(call) for call in message.invalid_tool_calls]
        if calls:
            wire["tool_calls"] = calls
        return wire
    if isinstance(message, ToolMessage):
        return {"role": "tool", "content": content, "tool_call_id": message.tool_call_id}
    if isinstance(message, ChatMessage):
        return {"role": _ROLE_ALIASES.get(message.role, message.role), "content": content}
    if isinstance(message, FunctionMessage):
        return {"role": "function", "name": message.name, "content": content}
    raise ValueError(f"ChatDashScope cannot send a {type(message).__name__}")


def _tool_call_to_wire(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.get("id") or "",
        "type": "function",
        "function": {
            "name": call["name"],
            "arguments": json.dumps(call["args"], ensure_ascii=False),
        },
    }


def _invalid_tool_call_to_wire(call: InvalidToolCall) -> dict[str, Any]:
    return {
        "id": call.get("id") or "",
        "type": "function",
        "function": {"name": call.get("name") or "", "arguments": call.get("args") or ""},
    }


def _content_to_wire(content: str | list[Any], *, model: str, multimodal: bool) -> Any:
    if isinstance(content, str):
        return content
    texts: list[str] = []
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            texts.append(block)
            parts.append({"text": block})
            continue
        kind = block.get("type", "text" if "text" in block else None)
        if kind == "text":
            texts.append(str(block.get("text", "")))
            parts.append({"text": str(block.get("text", ""))})
        elif kind in _SKIPPED_BLOCKS:
            continue
        elif kind in _MEDIA_BLOCKS:
            media = _MEDIA_BLOCKS[kind]
            if not multimodal:
                raise ValueError(
                    f"model {model!r} is text-only and cannot take {media} input: "
                    f"use a multimodal model (e.g. 'qwen-vl-plus', 'qwen3-vl-plus' or "
                    f"'qwen-omni-turbo') or send text"
                )
            parts.append({media: _media_source(block, kind)})
        else:
            raise ValueError(
                f"content block type {kind!r} is not supported by DashScope generation "
                f"(supported: text, image, image_url, audio, video)"
            )
    # Text-only models reject list content, so text blocks become one string; they
    # are joined without separators, like `BaseMessage.text`.
    return parts if multimodal else "".join(texts)


def _media_source(block: Mapping[str, Any], kind: str) -> str:
    """A URL or data URI for a media block in any LangChain/OpenAI/Anthropic spelling."""
    if kind == "image_url":
        image = block.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        if isinstance(url, str):
            return url
    source = block.get("source")
    if isinstance(source, Mapping):  # Anthropic: {"type": "base64"|"url", ...}
        if source.get("type") == "url" and isinstance(source.get("url"), str):
            return str(source["url"])
        if isinstance(source.get("data"), str):
            mime = source.get("media_type") or f"{kind}/*"
            return f"data:{mime};base64,{source['data']}"
    if isinstance(block.get("url"), str):
        return str(block["url"])
    data = block.get("base64") or (block.get("data") if block.get("source_type") else None)
    if isinstance(data, str):
        mime = block.get("mime_type") or f"{kind}/*"
        return f"data:{mime};base64,{data}"
    raise ValueError(f"{kind} block needs a URL or base64 data: {sorted(block)}")


def tool_choice_to_wire(
    tool_choice: str | bool | Mapping[str, Any] | None, tools: Sequence[Mapping[str, Any]]
) -> str | dict[str, Any] | None:
    """DashScope's ``tool_choice`` for LangChain's spelling of it.

    DashScope accepts only ``"auto"``, ``"none"`` and one named function. ``"any"``,
    ``"required"`` and ``True`` ("call some tool") therefore name the tool when exactly
    one is bound, and are refused otherwise rather than quietly weakened to ``"auto"``.

    Raises:
        ValueError: a choice DashScope cannot express, or an unknown tool name.
    """
    names = [tool["function"]["name"] for tool in tools if "function" in tool]
    if tool_choice is None or tool_choice is False:
        return None
    if tool_choice in ("auto", "none"):
        return str(tool_choice)
    if tool_choice in ("any", "required") or tool_choice is True:
        if len(names) == 1:
            return {"type": "function", "function": {"name": names[0]}}
        raise ValueError(
            f"tool_choice={tool_choice!r} asks the model to call one of {len(names)} tools, "
            "but DashScope's tool_choice accepts only 'auto', 'none' or a single named "
            "function. Pass the name of the tool to force (tool_choice='<name>'), bind only "
            "that tool, or use 'auto'."
        )
    if isinstance(tool_choice, str):
        name = tool_choice
    elif isinstance(tool_choice, Mapping):
        function = tool_choice.get("function")
        # OpenAI {"type": "function", "function": {"name"}} and Anthropic {"type": "tool", "name"}
        named = function.get("name") if isinstance(function, Mapping) else tool_choice.get("name")
        if not isinstance(named, str):
            raise ValueError(f"tool_choice {dict(tool_choice)!r} names no function")
        name = named
    else:
        raise ValueError(f"unsupported tool_choice {tool_choice!r}")
    if name not in names:
        raise ValueError(f"tool_choice names {name!r}, which is not a bound tool: {names}")
    return {"type": "function", "function": {"name": name}}


def response_format_to_wire(
    schema: Mapping[str, Any], *, name: str | None = None, strict: bool | None = None
) -> dict[str, Any]:
    """``response_format`` asking for JSON matching ``schema`` (a JSON schema dict)."""
    json_schema: dict[str, Any] = {
        "name": name or str(schema.get("title") or "output"),
        "schema": dict(schema),
    }
    if schema.get("description"):
        json_schema["description"] = schema["description"]
    if strict is not None:
        json_schema["strict"] = strict
    return {"type": "json_schema", "json_schema": json_schema}


# --------------------------------------------------------------------------- from the wire


def usage_to_metadata(usage: types.Usage | None) -> UsageMetadata | None:
    """LangChain usage from DashScope's native usage (``None`` if nothing was reported)."""
    if usage is None or (usage.input_tokens is None and usage.output_tokens is None):
        return None
    input_tokens = usage.input_tokens or 0
    output_tokens = usage.output_tokens or 0
    total = usage.total_tokens if usage.total_tokens is not None else input_tokens + output_tokens
    metadata: dict[str, Any] = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": total,
    }
    if usage.cached_tokens is not None:
        metadata["input_token_details"] = InputTokenDetails(cache_read=usage.cached_tokens)
    if usage.reasoning_tokens is not None:
        metadata["output_token_details"] = OutputTokenDetails(reasoning=usage.reasoning_tokens)
    return cast("UsageMetadata", metadata)


def _parse_tool_call(call: types.ToolCall) -> ToolCall | InvalidToolCall:
    raw = call.arguments or ""
    try:
        args = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as error:
        return invalid_tool_call(name=call.name, args=raw, id=call.id, error=str(error))
    if not isinstance(args, dict):
        return invalid_tool_call(
            name=call.name, args=raw, id=call.id, error="arguments are not a JSON object"
        )
    return tool_call(name=call.name, args=args, id=call.id)


def _response_metadata(
    *, finish_reason: str | None, request_id: str | None, model: str
) -> dict[str, Any]:
    return {
        "finish_reason": finish_reason,
        "model_name": model,
        "request_id": request_id,
        "model_provider": PROVIDER,
    }


def result_to_message(result: types.ChatResult, *, model: str) -> AIMessage:
    """An ``AIMessage`` from a complete turn; ``model`` is the model that was called.

    Tool-call arguments are parsed; malformed JSON becomes ``invalid_tool_calls``.
    """
    valid: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call in result.tool_calls:
        parsed = _parse_tool_call(call)
        if parsed.get("type") == "invalid_tool_call":
            invalid.append(parsed)  # type: ignore[arg-type]
        else:
            valid.append(parsed)  # type: ignore[arg-type]
    additional: dict[str, Any] = {}
    if result.reasoning:
        additional["reasoning_content"] = result.reasoning
    return AIMessage(
        content=result.text,
        additional_kwargs=additional,
        tool_calls=valid,
        invalid_tool_calls=invalid,
        usage_metadata=usage_to_metadata(result.usage),
        response_metadata=_response_metadata(
            finish_reason=result.finish_reason,
            request_id=result.request_id,
            model=result.model or model,
        ),
    )


def chunk_to_message_chunk(
    chunk: types.ChatChunk,
    *,
    model: str,
    final: bool = False,
    usage: types.Usage | None = None,
) -> AIMessageChunk:
    """An ``AIMessageChunk`` carrying one chunk's deltas.

    Only the ``final`` chunk carries ``usage`` (DashScope's usage is cumulative, so
    putting it on every chunk would add it up when chunks are merged), the
    ``response_metadata`` strings (they would be concatenated too) and
    ``chunk_position="last"``.
    """
    call_chunks: list[ToolCallChunk] = [
        tool_call_chunk(
            name=delta.name or None,
            args=delta.arguments or None,
            id=delta.id or None,
            index=delta.index,
        )
        for delta in chunk.tool_calls
    ]
    additional: dict[str, Any] = {}
    if chunk.reasoning:
        additional["reasoning_content"] = chunk.reasoning
    if not final:
        return AIMessageChunk(
            content=chunk.text,
            additional_kwargs=additional,
            tool_call_chunks=call_chunks,
            response_metadata={"model_provider": PROVIDER},
        )
    return AIMessageChunk(
        content=chunk.text,
        additional_kwargs=additional,
        tool_call_chunks=call_chunks,
        usage_metadata=usage_to_metadata(usage if usage is not None else chunk.usage),
        response_metadata=_response_metadata(
            finish_reason=chunk.finish_reason,
            request_id=chunk.request_id,
            model=chunk.model or model,
        ),
        chunk_position="last",
    )


class StreamConverter:
    """Turns a stream of core chunks into LangChain chunks, usage reported once.

    Shared by the sync and async stream loops: feed every core chunk to
    ``convert``, then call ``close`` once the core stream is exhausted.

    Example:
        >>> conv = StreamConverter(model="qwen-plus")
        >>> first = conv.convert(types.ChatChunk(text="Hi"))
        >>> last = conv.convert(types.ChatChunk(finish_reason="stop",
        ...     usage=types.Usage(input_tokens=3, output_tokens=1, total_tokens=4)))
        >>> (first.usage_metadata, last.usage_metadata["total_tokens"], conv.close())
        (None, 4, None)
    """

    def __init__(self, *, model: str) -> None:
        self.model = model
        self._usage: types.Usage | None = None
        self._request_id: str | None = None
        self._finished = False

    def convert(self, chunk: types.ChatChunk) -> AIMessageChunk:
        """The LangChain chunk for ``chunk``; the one with a finish reason is final."""
        if chunk.usage is not None:
            self._usage = chunk.usage
        self._request_id = chunk.request_id or self._request_id
        final = chunk.finish_reason is not None and not self._finished
        self._finished = self._finished or final
        return chunk_to_message_chunk(chunk, model=self.model, final=final, usage=self._usage)

    def close(self) -> AIMessageChunk | None:
        """A closing chunk with usage if the stream never sent a finish reason."""
        if self._finished:
            return None
        self._finished = True
        closing = types.ChatChunk(request_id=self._request_id, model=self.model)
        return chunk_to_message_chunk(closing, model=self.model, final=True, usage=self._usage)

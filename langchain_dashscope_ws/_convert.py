"""Conversions between LangChain messages and the core's wire dicts and results.

Pure functions, named by direction: ``*_to_wire`` builds what ``DashScopeClient``
takes, ``*_to_message`` turns a core ``ChatResult``/``ChatChunk`` into LangChain
messages. ``StreamConverter`` holds the little state a stream needs (the latest
cumulative usage) so that usage is reported once, on the final chunk.
``message_to_v1_blocks`` (in ``_v1_blocks.py``, re-exported here) is registered on import
as langchain-core's content-block translator for ``model_provider="dashscope"``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from dashscope_ws import types
from dashscope_ws._construct import construct
from dashscope_ws.adapters import ToolArgumentsError, check_content_for_model, parse_tool_arguments
from langchain_dashscope_ws._media import content_to_wire
from langchain_dashscope_ws._v1_blocks import PROVIDER, message_to_v1_blocks

__all__ = [
    "PROVIDER",
    "StreamConverter",
    "chunk_to_message_chunk",
    "message_to_v1_blocks",
    "message_to_wire",
    "messages_to_wire",
    "result_to_chat_result",
    "result_to_message",
    "usage_to_metadata",
]


_ROLE_ALIASES = {"human": "user", "ai": "assistant", "developer": "system"}
# Exact classes whose text-only turn is just {"role", "content"} (an AIMessage may carry calls).
_PLAIN_ROLES: dict[type, str] = {HumanMessage: "user", SystemMessage: "system"}


# --------------------------------------------------------------------------- to the wire


def messages_to_wire(
    messages: Sequence[BaseMessage], *, model: str, endpoint: str | None = None
) -> list[dict[str, Any]]:
    """Convert a LangChain conversation into wire dicts for ``model``.

    An explicit ``endpoint="multimodal"`` skips the registry's modality check: the caller
    knows better than the registry, and the service decides.

    Raises:
        ValueError: a message type or content block the model cannot take (for
            example an image sent to a text-only model).
    """
    wire = [message_to_wire(message) for message in messages]
    if endpoint not in ("multimodal", "compatible"):
        check_content_for_model(wire, model=model)
    return wire


def message_to_wire(message: BaseMessage) -> dict[str, Any]:
    """Convert one message to neutral wire content (see ``messages_to_wire``).

    Lists of content blocks become OpenAI-style parts whatever the model: the core
    flattens text-only lists for text models and converts parts for multimodal ones.
    """
    plain = _PLAIN_ROLES.get(type(message))
    if plain is not None and type(message.content) is str:  # most turns: nothing to convert
        return {"role": plain, "content": message.content}
    role = "tool" if isinstance(message, (ToolMessage, FunctionMessage)) else "user"
    content = content_to_wire(message.content, role=role)
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
    # Lenient: Qwen sometimes sends a Python-style dict ({'key': 'value'}).
    try:
        args = parse_tool_arguments(call.arguments or "", lenient=True)
    except ToolArgumentsError as error:
        return invalid_tool_call(name=call.name, args=call.arguments, id=call.id, error=str(error))
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


# Explicitly set fields of a validated ``AIMessage(content=..., additional_kwargs=...,
# tool_calls=..., invalid_tool_calls=..., usage_metadata=..., response_metadata=...)``,
# and of the ``ChatGeneration`` / ``ChatResult`` wrapping it (``text`` is set by
# ChatGeneration's own validator): the fast path below matches them exactly.
_RESULT_FIELDS_SET = frozenset(
    {
        "content",
        "additional_kwargs",
        "tool_calls",
        "invalid_tool_calls",
        "usage_metadata",
        "response_metadata",
    }
)
_GENERATION_FIELDS_SET = frozenset({"message", "generation_info", "text"})


def result_to_message(result: types.ChatResult, *, model: str) -> AIMessage:
    """An ``AIMessage`` from a complete turn; ``model`` is the model that was called.

    Tool-call arguments are parsed; malformed JSON becomes ``invalid_tool_calls``.
    """
    additional: dict[str, Any] = {}
    if result.reasoning:
        additional["reasoning_content"] = result.reasoning
    usage = usage_to_metadata(result.usage)
    metadata = _response_metadata(
        finish_reason=result.finish_reason,
        request_id=result.request_id,
        model=result.model or model,
    )
    if not result.tool_calls:
        # The common reply, built without validation: every value is a str, int, None or a
        # dict of them made above (see ``dashscope_ws._construct``; tests compare with the
        # validated constructor). Tool calls keep LangChain's validators (parsed arguments
        # may be any Python dict literal).
        values: dict[str, Any] = {
            "content": result.text,
            "additional_kwargs": additional,
            "response_metadata": metadata,
            "type": "ai",
            "name": None,
            "id": None,
            "tool_calls": [],
            "invalid_tool_calls": [],
            "usage_metadata": usage,
        }
        return construct(AIMessage, values, set(_RESULT_FIELDS_SET), extra={})
    valid: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call in result.tool_calls:
        parsed = _parse_tool_call(call)
        if parsed.get("type") == "invalid_tool_call":
            invalid.append(parsed)  # type: ignore[arg-type]
        else:
            valid.append(parsed)  # type: ignore[arg-type]
    return AIMessage(
        content=result.text,
        additional_kwargs=additional,
        tool_calls=valid,
        invalid_tool_calls=invalid,
        usage_metadata=usage,
        response_metadata=metadata,
    )


def result_to_chat_result(result: types.ChatResult, *, model: str) -> ChatResult:
    """The ``ChatResult`` of a unary call (what ``_generate`` returns).

    The two wrappers are built without validation: their only validator sets
    ``text`` from the (already valid) message, done here the same way.
    """
    message = result_to_message(result, model=model)
    generation = construct(
        ChatGeneration,
        {
            "text": message.text,
            "generation_info": {"finish_reason": result.finish_reason},
            "type": "ChatGeneration",
            "message": message,
        },
        set(_GENERATION_FIELDS_SET),
    )
    llm_output = {"model_name": result.model or model, "request_id": result.request_id}
    return construct(
        ChatResult,
        {"generations": [generation], "llm_output": llm_output},
        {"generations", "llm_output"},
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


# Explicitly set fields of a validated ``AIMessageChunk(content=..., additional_kwargs=...,
# tool_call_chunks=..., response_metadata=...)``: the fast path below matches it exactly.
_MIDDLE_FIELDS_SET = frozenset(
    {"content", "additional_kwargs", "response_metadata", "tool_call_chunks"}
)


def _middle_generation(text: str, reasoning: str) -> ChatGenerationChunk:
    """A text/reasoning chunk without tool calls or usage, built without validation.

    These are the bulk of every stream; their values are valid by construction, and
    LangChain's validators would only re-derive the empty tool-call lists (see
    ``dashscope_ws._construct``; tests compare with the validated constructors).
    """
    message = construct(
        AIMessageChunk,
        {
            "content": text,
            "additional_kwargs": {"reasoning_content": reasoning} if reasoning else {},
            "response_metadata": {"model_provider": PROVIDER},
            "type": "AIMessageChunk",
            "name": None,
            "id": None,
            "tool_calls": [],
            "invalid_tool_calls": [],
            "usage_metadata": None,
            "tool_call_chunks": [],
            "chunk_position": None,
        },
        set(_MIDDLE_FIELDS_SET),
        extra={},
    )
    return construct(
        ChatGenerationChunk,
        {"text": text, "generation_info": None, "type": "ChatGenerationChunk", "message": message},
        {"message"},
    )


class StreamConverter:
    """Turns a stream of core chunks into LangChain chunks, usage reported once.

    Shared by the sync and async stream loops: feed every core chunk to
    ``generation`` (or ``convert``), then call ``close`` once the core stream is
    exhausted. O(1) per chunk: nothing is re-joined or re-validated.

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
        self._finish_reason: str | None = None
        self._finished = False

    def generation(self, chunk: types.ChatChunk) -> ChatGenerationChunk:
        """The ``ChatGenerationChunk`` for ``chunk`` (what ``_stream`` yields)."""
        if chunk.tool_calls or chunk.finish_reason is not None:
            return ChatGenerationChunk(message=self.convert(chunk))
        # Middle chunk: usage (cumulative, on every DashScope event) is kept for the final.
        if chunk.usage is not None:
            self._usage = chunk.usage
        if chunk.request_id:
            self._request_id = chunk.request_id
        return _middle_generation(chunk.text, chunk.reasoning)

    def convert(self, chunk: types.ChatChunk) -> AIMessageChunk:
        """The LangChain chunk for ``chunk``; the one with a finish reason is final.

        A finishing chunk that still carries tool-call fragments is not made final
        (``close`` then sends the final chunk): LangChain reads the tool calls of the
        final chunk as complete calls, not as fragments to merge.
        """
        if chunk.usage is not None:
            self._usage = chunk.usage
        self._request_id = chunk.request_id or self._request_id
        self._finish_reason = chunk.finish_reason or self._finish_reason
        final = chunk.finish_reason is not None and not chunk.tool_calls and not self._finished
        self._finished = self._finished or final
        return chunk_to_message_chunk(chunk, model=self.model, final=final, usage=self._usage)

    def close(self) -> AIMessageChunk | None:
        """The final chunk, if no chunk has been final yet (see ``convert``)."""
        if self._finished:
            return None
        self._finished = True
        closing = types.ChatChunk(
            request_id=self._request_id, model=self.model, finish_reason=self._finish_reason
        )
        return chunk_to_message_chunk(closing, model=self.model, final=True, usage=self._usage)

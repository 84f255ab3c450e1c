"""Pure conversions between LlamaIndex objects and the core's wire dicts and results.

Nothing here does I/O, so sync and async paths (and the tests) share every line:
``ChatMessage`` -> wire message dicts, tool specs and ``tool_choice``, and tool calls ->
``ToolSelection``. Results become ``ChatResponse`` in :mod:`llamaindex_dashscope_ws._responses`;
streams are folded in :mod:`llamaindex_dashscope_ws._stream`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import (
    AudioBlock,
    CachePoint,
    ChatMessage,
    ChatResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llama_index.core.bridge.pydantic import BaseModel
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.llms.utils import parse_partial_json

from dashscope_ws.adapters import (
    ToolArgumentsError,
    check_content_for_model,
    json_schema_response_format,
    text_part,
    wire_tool_choice,
)
from dashscope_ws.adapters import parse_tool_arguments as core_parse_tool_arguments
from dashscope_ws.protocol import TOOL_MEDIA_MESSAGE
from llamaindex_dashscope_ws._media import media_block_part

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

__all__ = [
    "keep_first_tool_call",
    "parse_tool_arguments",
    "resolve_tool_choice",
    "response_format_for",
    "to_wire_message",
    "to_wire_messages",
    "tool_calls_of",
    "tool_selections",
    "tool_spec",
]

_ROLE = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "system",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
    MessageRole.TOOL: "tool",
    MessageRole.FUNCTION: "tool",
}


# --------------------------------------------------------------------------- requests


def to_wire_messages(
    messages: Sequence[ChatMessage], *, model: str, endpoint: str | None = None
) -> list[dict[str, Any]]:
    """Convert LlamaIndex messages to the core's wire dicts for ``model``.

    An explicit ``endpoint="multimodal"`` skips the registry's modality check (the
    service decides).

    Raises:
        ValueError: content ``model`` cannot take (e.g. an image for a text-only
            model), before any request is sent.

    Example:
        >>> to_wire_messages([ChatMessage(role="user", content="hi")], model="qwen-plus")
        [{'role': 'user', 'content': 'hi'}]
    """
    wire = [to_wire_message(message) for message in messages]
    if endpoint not in ("multimodal", "compatible"):
        check_content_for_model(wire, model=model)
    return wire


def to_wire_message(message: ChatMessage) -> dict[str, Any]:
    """One message: text (or multimodal parts), assistant tool calls, tool results.

    Reasoning (``ThinkingBlock``) is not sent back: DashScope documents that
    ``reasoning_content`` must not be part of the history.

    Raises:
        ValueError: for a content block DashScope cannot take (e.g. documents, or
            media in a tool result).
    """
    role = _ROLE.get(message.role)
    if role is None:
        raise ValueError(f"unsupported message role {message.role!r} for DashScope")
    blocks = message.blocks
    if len(blocks) == 1 and type(blocks[0]) is TextBlock:  # plain text: what _content gives
        return _with_calls({"role": role, "content": blocks[0].text}, message)
    parts: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block, TextBlock):
            parts.append(text_part(block.text))
        elif isinstance(block, (ImageBlock, AudioBlock, VideoBlock)):
            if role == "tool":
                raise ValueError(TOOL_MEDIA_MESSAGE)
            parts.append(media_block_part(block))
        elif not isinstance(block, (ThinkingBlock, ToolCallBlock, CachePoint)):
            raise ValueError(
                f"DashScope chat does not accept {type(block).__name__} content; "
                "convert it to text first"
            )
    return _with_calls({"role": role, "content": _content(parts)}, message)


def _with_calls(out: dict[str, Any], message: ChatMessage) -> dict[str, Any]:
    role = out["role"]  # an assistant turn's tool calls, a tool result's call id and name
    if role == "assistant":
        calls = _wire_tool_calls(message)
        if calls:
            out["tool_calls"] = calls
    elif role == "tool":
        call_id = message.additional_kwargs.get("tool_call_id")
        if call_id:
            out["tool_call_id"] = call_id
        if message.additional_kwargs.get("name"):
            out["name"] = message.additional_kwargs["name"]
    return out


def _content(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    # Neutral content whatever the model: the core routes it (a string becomes a text
    # part for multimodal models). Plain text is joined like ChatMessage.content.
    if all(part["type"] == "text" for part in parts):
        return "\n".join(part["text"] for part in parts)
    return parts


def _wire_tool_calls(message: ChatMessage) -> list[dict[str, Any]]:
    calls = message.additional_kwargs.get("tool_calls")
    if calls:
        return [_as_dict(call) for call in calls]
    return [
        {
            "id": block.tool_call_id or "",
            "type": "function",
            "function": {
                "name": block.tool_name,
                "arguments": block.tool_kwargs
                if isinstance(block.tool_kwargs, str)
                else json.dumps(block.tool_kwargs, ensure_ascii=False),
            },
        }
        for block in message.blocks
        if isinstance(block, ToolCallBlock)
    ]


def _as_dict(call: Any) -> dict[str, Any]:
    # Messages built by other integrations may hold OpenAI pydantic objects.
    if isinstance(call, Mapping):
        return dict(call)
    if hasattr(call, "model_dump"):
        dumped: dict[str, Any] = call.model_dump(exclude_none=True)
        return dumped
    raise ValueError(f"unsupported tool call object {type(call).__name__}")


def tool_spec(tool: BaseTool) -> dict[str, Any]:
    """OpenAI-style function spec (``required`` sits inside ``parameters``).

    Example:
        >>> from llama_index.core.tools import FunctionTool
        >>> def add(a: int, b: int) -> int:
        ...     '''Add two integers.'''
        ...     return a + b
        >>> spec = tool_spec(FunctionTool.from_defaults(add))
        >>> spec["function"]["name"], spec["function"]["parameters"]["required"]
        ('add', ['a', 'b'])
    """
    return tool.metadata.to_openai_tool(skip_length_check=True)


def resolve_tool_choice(
    specs: Sequence[Mapping[str, Any]],
    tool_choice: str | dict[str, Any] | None,
    tool_required: bool,
) -> str | dict[str, Any] | None:
    """Map LlamaIndex's ``tool_choice`` / ``tool_required`` onto DashScope's.

    LlamaIndex's own spelling, ``tool_required=True`` without a ``tool_choice``, means
    ``"required"``; the rule itself (forced by name with one tool, ``ValueError``
    with several, names checked) is the core's
    :func:`~dashscope_ws.adapters.wire_tool_choice`.

    Example:
        >>> specs = [{"type": "function", "function": {"name": "add"}}]
        >>> resolve_tool_choice(specs, None, True)
        {'type': 'function', 'function': {'name': 'add'}}
    """
    if tool_choice is None and tool_required:
        tool_choice = "required"
    return wire_tool_choice(tool_choice, specs)


def response_format_for(output_cls: type[BaseModel]) -> dict[str, Any]:
    """DashScope's native ``response_format`` asking for JSON matching ``output_cls``.

    ``strict`` is not sent: strict schemas must list every property as required,
    which pydantic schemas with defaults do not, and the output is validated here anyway.

    Example:
        >>> from pydantic import BaseModel
        >>> class Song(BaseModel):
        ...     title: str
        >>> fmt = response_format_for(Song)
        >>> fmt["type"], fmt["json_schema"]["name"], fmt["json_schema"]["schema"]["required"]
        ('json_schema', 'Song', ['title'])
    """
    return json_schema_response_format(output_cls.model_json_schema(), name=output_cls.__name__)


# --------------------------------------------------------------------------- tool calls


def tool_calls_of(message: ChatMessage) -> list[dict[str, Any]]:
    """The message's tool calls as wire dicts (``additional_kwargs`` first, then blocks)."""
    return _wire_tool_calls(message)


def parse_tool_arguments(arguments: Any, *, strict: bool, name: str = "") -> dict[str, Any]:
    """Parse a tool call's arguments into a dict.

    JSON or a Python-style dict, by the core's lenient
    :func:`~dashscope_ws.adapters.parse_tool_arguments`. ``strict`` raises its
    ``ToolArgumentsError`` (a ``ValueError``) on anything else; otherwise partial
    JSON (a stream still in flight) is completed when possible, and unparseable
    text gives ``{}`` — the behaviour of the other LlamaIndex integrations.

    Example:
        >>> parse_tool_arguments('{"a": 1}', strict=True)
        {'a': 1}
        >>> parse_tool_arguments('{"a": 1, "b', strict=False)
        {'a': 1}
    """
    if isinstance(arguments, Mapping):
        return dict(arguments)
    text = "" if arguments is None else str(arguments)
    try:
        return core_parse_tool_arguments(text, lenient=True)
    except ToolArgumentsError as error:
        if strict:
            raise ToolArgumentsError(error.raw, f"tool {name!r}: {error.reason}") from None
    try:
        value = parse_partial_json(text)
    except (ValueError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


def tool_selections(message: ChatMessage, *, error_on_no_tool_call: bool) -> list[ToolSelection]:
    """``ToolSelection`` list for a response message (streamed or not).

    Raises:
        ValueError: no tool call while ``error_on_no_tool_call``, or (then too)
            arguments that are not a JSON object.
    """
    calls = tool_calls_of(message)
    if not calls and error_on_no_tool_call:
        raise ValueError("Expected at least one tool call, but the model made none.")
    selections = []
    for call in calls:
        function = call.get("function") or {}
        name = str(function.get("name") or "")
        selections.append(
            ToolSelection(
                tool_id=str(call.get("id") or ""),
                tool_name=name,
                tool_kwargs=parse_tool_arguments(
                    function.get("arguments"), strict=error_on_no_tool_call, name=name
                ),
            )
        )
    return selections


def keep_first_tool_call(response: ChatResponse) -> None:
    """Trim a response to its first tool call (parallel calls not allowed)."""
    message = response.message
    calls = message.additional_kwargs.get("tool_calls")
    if calls and len(calls) > 1:
        message.additional_kwargs["tool_calls"] = calls[:1]
    blocks = [block for block in message.blocks if isinstance(block, ToolCallBlock)]
    if len(blocks) > 1:
        message.blocks = [
            block for block in message.blocks if not isinstance(block, ToolCallBlock)
        ] + blocks[:1]

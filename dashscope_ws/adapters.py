"""Framework-agnostic helpers shared by the LangChain and LlamaIndex adapters.

Each adapter method is "convert in, call the core, convert out". Whatever in that
conversion does not depend on the framework lives here, once, so the two adapters
cannot drift apart:

* :class:`ClientHolder` and :class:`ClientLifecycle`: the lazily built per-object
  :class:`~dashscope_ws.client.DashScopeClient`, rebuilt when a setting changes, never
  shared by copies, released by ``close()``/``aclose()``/``with``/``async with``.
* :func:`wire_tool_choice`: DashScope's ``tool_choice`` for the spellings frameworks use.
* :func:`json_schema_response_format`: the ``response_format`` body for JSON-schema output.
* :func:`parse_tool_arguments`: tool-call arguments (JSON, or Python-style dicts) to a dict.
* :func:`text_part`, :func:`media_part`, :func:`check_content_for_model`: the neutral
  (OpenAI-style) message content both adapters emit; the core routes it per endpoint
  (:func:`dashscope_ws.protocol.build_chat_request`), and media meant for a text-only
  model is refused before any request is sent.

This module never imports a framework.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from dashscope_ws._adapter_settings import (
    CLIENT_OBJECTS,
    CLIENT_SETTINGS,
    ClientHolder,
    ClientLifecycle,
    client_settings,
)
from dashscope_ws.models import (
    DEFAULT_MODEL,
    MULTIMODAL_GENERATION_PATH,
    generation_endpoint,
    lookup,
)

__all__ = [
    "CLIENT_OBJECTS",
    "CLIENT_SETTINGS",
    "MEDIA_KINDS",
    "ClientHolder",
    "ClientLifecycle",
    "ToolArgumentsError",
    "check_content_for_model",
    "client_settings",
    "is_multimodal",
    "json_schema_response_format",
    "media_part",
    "parse_tool_arguments",
    "text_part",
    "wire_tool_choice",
]

# --------------------------------------------------------------------------- tools


def _tool_names(tools: Sequence[Mapping[str, Any]]) -> list[str]:
    names = []
    for tool in tools:
        function = tool.get("function")
        name = function.get("name") if isinstance(function, Mapping) else tool.get("name")
        if isinstance(name, str):
            names.append(name)
    return names


def _named(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def wire_tool_choice(
    tool_choice: str | bool | Mapping[str, Any] | None, tools: Sequence[Mapping[str, Any]]
) -> str | dict[str, Any] | None:
    """DashScope's ``tool_choice`` for a framework's choice among the bound ``tools``.

    DashScope accepts only ``"auto"``, ``"none"`` and one named function. ``"any"``,
    ``"required"`` and ``True`` ("call some tool") therefore name the tool when exactly
    one is bound and are refused with several, rather than quietly weakened to
    ``"auto"``. A name, an OpenAI ``{"type": "function", "function": {"name": ...}}``
    or an Anthropic ``{"type": "tool", "name": ...}`` must name a bound tool.
    ``None``/``False`` mean "not set" (``None``: the service default).

    Args:
        tool_choice: the requested choice.
        tools: the bound tools as OpenAI-style specs (``{"function": {"name": ...}}``).

    Raises:
        ValueError: a choice DashScope cannot express, or a tool that is not bound.

    Example:
        >>> tools = [{"type": "function", "function": {"name": "add"}}]
        >>> wire_tool_choice("required", tools)
        {'type': 'function', 'function': {'name': 'add'}}
    """
    if tool_choice is None or tool_choice is False:
        return None
    names = _tool_names(tools)
    if tool_choice in ("auto", "none"):
        return str(tool_choice)
    if tool_choice is True or tool_choice in ("any", "required"):
        if len(names) == 1:
            return _named(names[0])
        raise ValueError(
            f"tool_choice={tool_choice!r} asks the model to call one of {len(names)} tools "
            f"{names}, but DashScope's tool_choice accepts only 'auto', 'none' or a single "
            "named function. Name the tool to force (tool_choice='<name>'), bind only that "
            "tool, or use 'auto'."
        )
    if isinstance(tool_choice, str):
        name: object = tool_choice
    elif isinstance(tool_choice, Mapping):
        function = tool_choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else tool_choice.get("name")
        if not isinstance(name, str):
            raise ValueError(f"tool_choice {dict(tool_choice)!r} names no function")
    else:
        raise ValueError(f"unsupported tool_choice {tool_choice!r}")
    if name not in names:
        raise ValueError(f"tool_choice names {name!r}, which is not a bound tool: {names}")
    return _named(str(name))


def json_schema_response_format(
    schema: Mapping[str, Any],
    *,
    name: str | None = None,
    strict: bool | None = None,
) -> dict[str, Any]:
    """``response_format`` asking for JSON that matches ``schema`` (a JSON schema dict).

    The name defaults to the schema's ``title`` (else ``"output"``) and is reduced to
    the characters the OpenAI-style field allows; the schema's ``description`` is
    carried over; ``strict`` is sent only when given.

    Example:
        >>> fmt = json_schema_response_format({"title": "Song v2", "type": "object"})
        >>> fmt["type"], fmt["json_schema"]["name"]
        ('json_schema', 'Song_v2')
    """
    raw_name = name or str(schema.get("title") or "output")
    spec: dict[str, Any] = {
        "name": re.sub(r"[^A-Za-z0-9_-]", "_", raw_name)[:64],
        "schema": dict(schema),
    }
    if schema.get("description"):
        spec["description"] = schema["description"]
    if strict is not None:
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}


class ToolArgumentsError(ValueError):
    """A tool call's arguments are not a JSON object (nor, when lenient, a Python dict).

    Attributes:
        raw: the arguments as the model sent them.
        reason: what was wrong, without the arguments.

    Example:
        >>> try:
        ...     parse_tool_arguments("[1, 2]", lenient=False)
        ... except ToolArgumentsError as error:
        ...     error.reason
        'arguments are a list, not a JSON object'
    """

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"invalid tool-call arguments ({reason}): {raw[:200]!r}")
        self.raw = raw
        self.reason = reason


def parse_tool_arguments(raw: str, *, lenient: bool) -> dict[str, Any]:
    """Parse a tool call's ``arguments`` string into a dict.

    Empty arguments are ``{}``. JSON is tried first; with ``lenient`` a Python-style
    dict literal is accepted too, because Qwen sometimes emits single quotes (the
    protocol reference records ``"{'key_type': 'SM4'}"``). It is read with
    :func:`ast.literal_eval`, which evaluates literals only, never code.

    Raises:
        ToolArgumentsError: anything else (malformed, or not an object).

    Example:
        >>> parse_tool_arguments("{'key_type': 'SM4'}", lenient=True)
        {'key_type': 'SM4'}
    """
    if not raw.strip():
        return {}
    try:
        value: Any = json.loads(raw)
    except ValueError as error:
        if not lenient:
            raise ToolArgumentsError(raw, f"not JSON: {error}") from None
        try:
            value = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise ToolArgumentsError(raw, f"neither JSON nor a Python dict: {error}") from None
    if not isinstance(value, dict):
        raise ToolArgumentsError(raw, f"arguments are a {type(value).__name__}, not a JSON object")
    return value


# --------------------------------------------------------------------------- content

# Neutral part types other than text, by the media kind they carry.
MEDIA_KINDS: Mapping[str, str] = {
    "image_url": "image",
    "image": "image",
    "audio": "audio",
    "video": "video",
}


def is_multimodal(model: str) -> bool:
    """True when ``model`` is served by the multimodal endpoint.

    Example:
        >>> is_multimodal("qwen-vl-plus"), is_multimodal("qwen-plus")
        (True, False)
    """
    return generation_endpoint(model) == MULTIMODAL_GENERATION_PATH


def text_part(text: str) -> dict[str, Any]:
    """A neutral (OpenAI-style) text part.

    Example:
        >>> text_part("hi")
        {'type': 'text', 'text': 'hi'}
    """
    return {"type": "text", "text": text}


def media_part(kind: str, url: str | list[str]) -> dict[str, Any]:
    """A neutral media part: OpenAI's ``image_url`` for images, ``{"type": kind, kind: url}``
    for audio and video (the spelling the core turns into DashScope's ``{kind: url}``).

    Example:
        >>> media_part("image", "https://x/cat.png")
        {'type': 'image_url', 'image_url': {'url': 'https://x/cat.png'}}
    """
    if kind == "image":
        return {"type": "image_url", "image_url": {"url": url}}
    if kind not in ("audio", "video"):
        raise ValueError(f"unknown media kind {kind!r} (expected image, audio or video)")
    return {"type": kind, kind: url}


def _media_kind(part: Any) -> str | None:
    if not isinstance(part, Mapping):
        return None
    kind = part.get("type")
    if isinstance(kind, str):
        return MEDIA_KINDS.get(kind)
    # Native DashScope spelling ({"image": url}) is accepted as input too.
    return next((MEDIA_KINDS[key] for key in ("image", "audio", "video") if key in part), None)


def check_content_for_model(messages: Sequence[Mapping[str, Any]], *, model: str) -> None:
    """Refuse media content that ``model`` cannot take, before any request is sent.

    The input modalities come from the registry (:mod:`dashscope_ws.models`). A model
    the registry does not know takes text only, unless it is routed to the multimodal
    endpoint (``register_model``, or learned by the safety net): then the service decides.

    Raises:
        ValueError: a message carries an image, audio or video part that ``model``
            does not accept.

    Example:
        >>> check_content_for_model([{"role": "user", "content": "hi"}], model="qwen-plus")
    """
    info = lookup(model)
    if info is DEFAULT_MODEL and is_multimodal(model):
        return
    for position, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        kind = next((k for k in map(_media_kind, content) if k not in (None, *info.inputs)), None)
        if kind is None:
            continue
        if info.inputs == ("text",):
            raise ValueError(
                f"model {model!r} is text-only and cannot take {kind} input "
                f"(messages[{position}]): use a multimodal model (e.g. 'qwen3.6-plus', "
                "'qwen3-vl-plus' or 'qwen-vl-plus') or send text"
            )
        raise ValueError(
            f"model {model!r} cannot take {kind} input (messages[{position}]); it takes "
            f"{', '.join(info.inputs)}"
        )

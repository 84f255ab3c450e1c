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
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dashscope_ws._closeable import Closeable
from dashscope_ws.client import DashScopeClient
from dashscope_ws.protocol import MULTIMODAL_GENERATION_PATH, generation_path
from dashscope_ws.settings import CONNECTION_SETTINGS, Parameter

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
    "object_fields",
    "parse_tool_arguments",
    "pydantic_fields",
    "text_part",
    "wire_tool_choice",
]

# --------------------------------------------------------------------------- the client


# The connection settings both adapters expose as fields, with the core's names: derived
# from the one declaration (dashscope_ws.settings), plus the objects a client is given.
CLIENT_SETTINGS = tuple(setting.name for setting in CONNECTION_SETTINGS)
CLIENT_OBJECTS = ("transport", "async_transport", "usage_tracker")


def pydantic_fields(
    parameters: Sequence[Parameter], field: Callable[..., Any]
) -> dict[str, tuple[Any, Any]]:
    """``pydantic.create_model`` definitions for declared parameters (both adapters use it).

    Each becomes ``<type> | None = None`` with the declaration's doc and bounds, so the two
    frameworks validate identically. ``field`` is the framework's ``Field``.

    Example:
        >>> from pydantic import Field
        >>> pydantic_fields(GENERATION_PARAMETERS, Field)["top_p"][1].metadata
        [Gt(gt=0), Le(le=1)]
    """
    return {
        p.name: (p.type | None, field(default=None, description=p.doc, **p.bounds()))
        for p in parameters
    }


def object_fields(field: Callable[..., Any]) -> dict[str, tuple[Any, Any]]:
    """Fields for the objects a client is given (transports, usage sink): never serialised."""
    return {name: (Any, field(default=None, exclude=True)) for name in CLIENT_OBJECTS}


def client_settings(source: object, *, api_key: object) -> dict[str, Any]:
    """``DashScopeClient`` keyword arguments from an object's :data:`CLIENT_SETTINGS`.

    ``api_key`` is passed separately because each framework stores it its own way
    (a plain string or a ``SecretStr``; the core takes either).

    Example:
        >>> from types import SimpleNamespace
        >>> fields = {**dict.fromkeys(CLIENT_SETTINGS), "workspace": "ws-1"}
        >>> client_settings(SimpleNamespace(**fields), api_key=None)["workspace"]
        'ws-1'
    """
    names = (*CLIENT_SETTINGS, *CLIENT_OBJECTS)
    return {"api_key": api_key, **{name: getattr(source, name, None) for name in names}}


class ClientHolder:
    """One adapter object's lazily built core client.

    ``get(settings)`` returns the client for ``settings`` (the ``DashScopeClient``
    keyword arguments), building it on first use and rebuilding it, after closing the
    old one, when the settings differ from the last call: a field changed in place
    takes effect. Copies, deep copies and pickles start empty, because connection
    pools are not copyable and belong to the original object.

    Example:
        >>> import copy
        >>> holder = ClientHolder()
        >>> client = holder.get({"api_key": "sk-test", "workspace": "ws-1"})
        >>> holder.get({"api_key": "sk-test", "workspace": "ws-1"}) is client
        True
        >>> copy.copy(holder).built, holder.built
        (False, True)
        >>> holder.close(); holder.built
        False
    """

    __slots__ = ("_client", "_lock", "_settings")

    def __init__(self) -> None:
        self._client: DashScopeClient | None = None
        self._settings: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        """True while a client is held (built and not yet closed)."""
        return self._client is not None

    def get(self, settings: Mapping[str, Any]) -> DashScopeClient:
        """The client for ``settings``, built on first use or when they changed."""
        wanted = dict(settings)
        with self._lock:
            stale = self._client if self._settings != wanted else None
            if self._client is None or stale is not None:
                self._client = DashScopeClient(**wanted)
                self._settings = wanted
            client = self._client
        if stale is not None:
            stale.close()  # its pools would otherwise leak until garbage collection
        return client

    def take(self) -> DashScopeClient | None:
        """Detach and return the client (the next :meth:`get` builds a new one)."""
        with self._lock:
            client, self._client, self._settings = self._client, None, None
        return client

    def close(self) -> None:
        """Close the client's connection pools (a no-op if none was built)."""
        client = self.take()
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Async :meth:`close`: also closes the aiohttp session on the running loop."""
        client = self.take()
        if client is not None:
            await client.aclose()

    def fresh(self) -> ClientHolder:
        """An empty holder, what every copy of the owning object gets."""
        return ClientHolder()

    def __copy__(self) -> ClientHolder:
        return self.fresh()

    def __deepcopy__(self, memo: dict[int, Any]) -> ClientHolder:
        return self.fresh()

    def __reduce__(self) -> tuple[Any, ...]:
        return (ClientHolder, ())

    def __repr__(self) -> str:
        # Never the settings: they hold the API key.
        return f"ClientHolder(built={self.built})"


class ClientLifecycle(Closeable):
    """Mixin: ``close``/``aclose`` and the context-manager protocols over a holder.

    The class mixing it in provides ``_client_holder`` (a :class:`ClientHolder`).
    The object stays usable after closing: its next call builds a fresh client.

    Example:
        >>> class Thing(ClientLifecycle):
        ...     def __init__(self) -> None:
        ...         self._client_holder = ClientHolder()
        >>> with Thing() as thing:
        ...     _ = thing._client_holder.get({"api_key": "sk-test"})
        >>> thing._client_holder.built
        False
    """

    if TYPE_CHECKING:
        _client_holder: ClientHolder

    def close(self) -> None:
        """Close the cached client's connection pools (a no-op if none was built)."""
        self._client_holder.close()

    async def aclose(self) -> None:
        """Async :meth:`close`: closes the aiohttp session on the running loop too."""
        await self._client_holder.aclose()


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
    return generation_path(model) == MULTIMODAL_GENERATION_PATH


def text_part(text: str) -> dict[str, Any]:
    """A neutral (OpenAI-style) text part.

    Example:
        >>> text_part("hi")
        {'type': 'text', 'text': 'hi'}
    """
    return {"type": "text", "text": text}


def media_part(kind: str, url: str) -> dict[str, Any]:
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
    """Refuse media content for a text-only ``model`` before any request is sent.

    The core routes by model: text-only models get string content and would reject
    the request with an opaque 400, so the adapters ask here first.

    Raises:
        ValueError: a message carries an image, audio or video part and ``model``
            is not served by the multimodal endpoint.

    Example:
        >>> check_content_for_model([{"role": "user", "content": "hi"}], model="qwen-plus")
    """
    if is_multimodal(model):
        return
    for position, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        kind = next((k for k in map(_media_kind, content) if k is not None), None)
        if kind is not None:
            raise ValueError(
                f"model {model!r} is text-only and cannot take {kind} input "
                f"(messages[{position}]): use a multimodal model (e.g. 'qwen-vl-plus', "
                "'qwen3-vl-plus' or 'qwen-omni-turbo') or send text"
            )

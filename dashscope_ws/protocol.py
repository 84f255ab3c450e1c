"""Pure chat protocol: request building, non-streamed response parsing, model routing.

Nothing here does I/O. The transports hand in ``(status, headers, body)`` and get
back typed results or a typed exception. The wire helpers every endpoint shares
(headers, usage, errors, :func:`~dashscope_ws.wire.load_success_body`) live in
:mod:`dashscope_ws.wire` and are re-exported here for existing imports; the stream
decoder (:mod:`dashscope_ws.sse`) reads chat fields through the same helpers, so a
field is read the same way streamed or not.

A 200 answer that is JSON but not a chat reply (``{}``, ``"output": null``, empty
``choices``, a ``message`` that is a string, ``tool_calls`` that is not a list...)
raises :class:`~dashscope_ws.errors.APIResponseValidationError`; a legitimately empty
reply (empty content with a ``finish_reason``, or tool calls only) is returned.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import models
from .errors import UnsupportedModelError
from .http import HTTPRequest
from .models import MULTIMODAL_GENERATION_PATH, TEXT_GENERATION_PATH
from .types import ChatResult, ToolCall
from .wire import (
    ShapeError,
    content_text,
    error_detail,
    header_value,
    invalid_response,
    is_error_payload,
    json_object,
    load_success_body,
    normalise_finish_reason,
    parse_error,
    parse_retry_after,
    parse_usage,
    read_tool_call,
    request_id_of,
    text_field,
)

if TYPE_CHECKING:
    from .config import ClientConfig

__all__ = [
    "MULTIMODAL_GENERATION_PATH",
    "TEXT_GENERATION_PATH",
    "TOOL_MEDIA_MESSAGE",
    "HTTPRequest",
    "build_chat_request",
    "content_text",
    "error_detail",
    "generation_path",
    "header_value",
    "is_error_payload",
    "json_object",
    "load_success_body",
    "normalise_finish_reason",
    "parse_chat_response",
    "parse_error",
    "parse_retry_after",
    "parse_usage",
    "requires_streaming",
]

_ROLES = frozenset({"system", "user", "assistant", "tool", "function"})

# The protocol reference documents ``role: "tool"`` messages with text content only (docs
# "Function calling"; dashscope-protocol §1.3): media in a tool result is assumed refused by the
# service, so it is refused here, before sending, for every caller; the adapters check it even
# earlier (before any upload) with this same text.
TOOL_MEDIA_MESSAGE = (
    "DashScope tool messages take text only: an image, audio or video tool result cannot be "
    "sent in a tool message; return a text summary from the tool, or send the media in a "
    "user message after the tool message"
)


def generation_path(model: str, endpoint: str | None = None) -> str:
    """The generation path for ``model`` (:func:`dashscope_ws.models.generation_endpoint`)."""
    return models.generation_endpoint(model, endpoint)


def requires_streaming(model: str, parameters: Mapping[str, Any]) -> bool:
    """True when the service only answers ``model`` with these parameters as a stream
    (see :func:`dashscope_ws.models.requires_streaming`)."""
    return models.requires_streaming(model, parameters)


# --------------------------------------------------------------------------- requests


def build_chat_request(
    config: ClientConfig,
    *,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    parameters: Mapping[str, Any],
    stream: bool,
    workspace: str | None = None,
    endpoint: str | None = None,
) -> HTTPRequest:
    """Build the native generation request.

    ``endpoint`` (``"text"``/``"multimodal"``) overrides the registry's routing.

    Raises:
        UnsupportedModelError: the model is served only in OpenAI-compatible mode (Omni).
        ValueError: bad model/messages, ``stream`` inside parameters, or
            ``incremental_output=False`` on a stream.
    """
    if not isinstance(model, str) or not model.strip():
        raise ValueError("model must be a non-empty string")
    path = generation_path(model, endpoint)
    if path not in (TEXT_GENERATION_PATH, MULTIMODAL_GENERATION_PATH):
        raise UnsupportedModelError(
            model,
            "it is served only by DashScope's OpenAI-compatible mode (streamed), never by the "
            "native generation endpoints this client speaks; call it through an "
            "OpenAI-compatible client at <base>/compatible-mode/v1",
        )
    wire_messages = _convert_messages(messages, multimodal=path == MULTIMODAL_GENERATION_PATH)
    params = _build_parameters(parameters, stream=stream)
    body: dict[str, Any] = {"model": model, "input": {"messages": wire_messages}}
    body["parameters"] = params
    return HTTPRequest(
        method="POST",
        url=config.url(path, workspace=workspace),
        headers=config.headers(workspace=workspace, stream=stream),
        json=body,
    )


def _build_parameters(parameters: Mapping[str, Any], *, stream: bool) -> dict[str, Any]:
    if "stream" in parameters:
        raise ValueError("'stream' is not a parameter: call stream_chat()/astream_chat() to stream")
    params = {key: value for key, value in parameters.items() if value is not None}
    if stream and params.get("incremental_output") is False:
        raise ValueError(
            "incremental_output=False is not supported: streams are always consumed as deltas"
        )
    # Tools, thinking and our parser all need the message format.
    params["result_format"] = "message"
    if stream:
        params["incremental_output"] = True
    return params


def _convert_messages(
    messages: Sequence[Mapping[str, Any]], *, multimodal: bool
) -> list[dict[str, Any]]:
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise ValueError("messages must be a list of dicts")
    if not messages:
        raise ValueError("messages must not be empty")
    return [_convert_message(i, m, multimodal=multimodal) for i, m in enumerate(messages)]


def _convert_message(
    position: int, message: Mapping[str, Any], *, multimodal: bool
) -> dict[str, Any]:
    if not isinstance(message, Mapping):
        raise ValueError(f"messages[{position}] must be a dict, got {type(message).__name__}")
    role = message.get("role")
    if role not in _ROLES:
        raise ValueError(
            f"messages[{position}] has role {role!r}; expected one of {sorted(_ROLES)}"
        )
    out = {key: value for key, value in message.items() if value is not None}
    if role == "tool" and not out.get("tool_call_id"):
        raise ValueError(f"messages[{position}] (role 'tool') needs a tool_call_id")
    content = out.get("content")
    if content is None:
        if role != "assistant":
            raise ValueError(f"messages[{position}] (role {role!r}) needs content")
        content = ""  # an assistant turn that only calls tools
    if role == "tool" and isinstance(content, list) and not all(map(_is_text_part, content)):
        raise ValueError(f"messages[{position}]: {TOOL_MEDIA_MESSAGE}")
    out["content"] = _convert_multimodal(content) if multimodal else _convert_text(content)
    if role == "assistant" and out.get("tool_calls"):
        out["tool_calls"] = [_wire_tool_call(call) for call in out["tool_calls"]]
    return out


def _wire_tool_call(call: Mapping[str, Any]) -> dict[str, Any]:
    call = dict(call)
    function = call.get("function")
    if isinstance(function, Mapping):
        function = dict(function)
        if not isinstance(function.get("arguments", ""), str):
            function["arguments"] = json.dumps(function["arguments"], ensure_ascii=False)
        call["function"] = function
    call.setdefault("type", "function")
    return call


def _convert_text(content: Any) -> Any:
    # Text models reject list content ("input content must be a string").
    if isinstance(content, list) and all(_is_text_part(part) for part in content):
        return "".join(str(part["text"]) for part in content)
    return content


def _is_text_part(part: Any) -> bool:
    return (
        isinstance(part, Mapping)
        and "text" in part
        and (part.get("type", "text") == "text")
        and set(part) <= {"type", "text"}
    )


def _convert_multimodal(content: Any) -> Any:
    if isinstance(content, str):
        return [{"text": content}]
    if not isinstance(content, list):
        return content
    return [_convert_part(part) for part in content]


def _convert_part(part: Any) -> Any:
    if isinstance(part, str):
        return {"text": part}
    if not isinstance(part, Mapping) or "type" not in part:
        return part  # already native ({"text"}, {"image"}, ...)
    kind = part["type"]
    rest = {key: value for key, value in part.items() if key not in ("type", kind)}
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        rest.pop("image_url", None)
        return {"image": url, **rest}
    if kind in part:
        return {kind: part[kind], **rest}
    return part


# --------------------------------------------------------------------------- responses


def parse_chat_response(
    status: int, headers: Mapping[str, str], body: bytes, *, model: str
) -> ChatResult:
    """Parse a non-streamed generation response (``result_format`` message or text).

    Raises:
        APIStatusError: see :func:`~dashscope_ws.wire.load_success_body`.
        APIResponseValidationError: the JSON is not a chat reply (see the module docstring).
    """
    payload = load_success_body(status, headers, body)
    request_id = request_id_of(payload, headers)
    try:
        result = _chat_result(payload, request_id, model)
    except ShapeError as error:
        raise invalid_response(error, body, request_id=request_id, status=status) from None
    if not (result.text or result.reasoning or result.tool_calls or result.finish_reason):
        # An empty reply is only legitimate when the service says why it ended.
        raise invalid_response(
            "the reply has no content, tool calls or finish_reason",
            body,
            request_id=request_id,
            status=status,
        )
    return result


def _chat_result(payload: dict[str, Any], request_id: str | None, model: str) -> ChatResult:
    output = payload.get("output")
    if not isinstance(output, dict):
        raise ShapeError("output is missing or not an object")
    finish = normalise_finish_reason(output.get("finish_reason"))
    choices = output.get("choices")
    if choices is None:  # result_format "text": output.text + output.finish_reason
        if "text" not in output:
            raise ShapeError("output has neither choices nor text")
        text = text_field(output["text"], "output.text")
        return ChatResult(
            text=text,
            finish_reason=finish,
            usage=parse_usage(payload.get("usage")),
            request_id=request_id,
            model=model,
            raw=payload,
        )
    if not isinstance(choices, list) or not choices:
        raise ShapeError("output.choices is not a non-empty list")
    choice = choices[0]
    if not isinstance(choice, dict):
        raise ShapeError("output.choices[0] is not an object")
    message = choice.get("message")
    if not isinstance(message, dict):
        raise ShapeError("output.choices[0].message is missing or not an object")
    where = "output.choices[0].message"
    return ChatResult(
        text=text_field(message.get("content"), f"{where}.content"),
        reasoning=text_field(message.get("reasoning_content"), f"{where}.reasoning_content"),
        tool_calls=tuple(sorted(_tool_calls(message, where), key=lambda call: call.index)),
        finish_reason=normalise_finish_reason(choice.get("finish_reason")) or finish,
        usage=parse_usage(payload.get("usage")),
        request_id=request_id,
        model=model,
        raw=payload,
    )


def _tool_calls(message: Mapping[str, Any], where: str) -> list[ToolCall]:
    raw_calls = message.get("tool_calls")
    if raw_calls is None:
        raw_calls = []
    elif not isinstance(raw_calls, list):
        raise ShapeError(f"{where}.tool_calls is a {type(raw_calls).__name__}, not a list")
    calls: list[ToolCall] = []
    for position, call in enumerate(raw_calls):
        index, call_id, name, arguments, kind = read_tool_call(
            call, f"{where}.tool_calls[{position}]"
        )
        if name is None:
            raise ShapeError(f"{where}.tool_calls[{position}] has no function name")
        calls.append(
            ToolCall(
                id=call_id or "",
                name=name,
                arguments=arguments or "",
                index=position if index is None else index,
                type=kind,
            )
        )
    legacy = message.get("function_call")  # the pre-tools shape: {"name", "arguments"}
    if not calls and legacy is not None:
        if not isinstance(legacy, Mapping):
            raise ShapeError(f"{where}.function_call is a {type(legacy).__name__}, not an object")
        _, _, name, arguments, _ = read_tool_call({"function": legacy}, f"{where}.function_call")
        if name is None:
            raise ShapeError(f"{where}.function_call has no name")
        calls.append(ToolCall(id="", name=name, arguments=arguments or ""))
    return calls

"""Pure chat protocol: request building, response and error parsing, model routing.

Nothing here does I/O. The transports hand in ``(status, headers, body)`` and get
back typed results or a typed exception; the same helpers parse stream chunks
(see :mod:`dashscope_ws.sse`), so a field is read the same way streamed or not.

Every non-streamed answer (chat, embeddings, rerank) is opened by one helper,
:func:`load_success_body`: an error status or a 200 carrying a business error raises
the mapped error, and a body that is not a JSON object (a proxy's HTML page, a
truncated body) raises ``APIStatusError`` with code ``"InvalidResponse"`` and the real
status. ``StreamProtocolError`` is kept for streams (malformed or cut SSE) and for
JSON answers that lack what was asked for (a missing vector).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from .errors import APIStatusError, error_from_response
from .http import HTTPRequest
from .types import ChatResult, ToolCall, Usage

if TYPE_CHECKING:
    from .config import ClientConfig

__all__ = [
    "MULTIMODAL_GENERATION_PATH",
    "TEXT_GENERATION_PATH",
    "HTTPRequest",
    "build_chat_request",
    "content_text",
    "error_detail",
    "generation_path",
    "header_value",
    "is_error_payload",
    "json_object",
    "load_success_body",
    "parse_chat_response",
    "parse_error",
    "parse_retry_after",
    "parse_usage",
    "requires_streaming",
]

TEXT_GENERATION_PATH = "services/aigc/text-generation/generation"
MULTIMODAL_GENERATION_PATH = "services/aigc/multimodal-generation/generation"

_MULTIMODAL_PREFIXES = (
    "qwen-vl", "qwen3-vl", "qwen2.5-vl", "qvq", "qwen-audio", "qwen2-audio",
    "qwen-omni", "qwen3-omni", "qwen3.5", "qwen-vl-ocr",
)  # fmt: skip
_ROLES = frozenset({"system", "user", "assistant", "tool", "function"})
# Qwen3 open-source checkpoints: qwen3-32b, qwen3-235b-a22b, qwen3-30b-a3b-instruct-2507 ...
_QWEN3_OPEN = re.compile(r"^qwen3-\d+(?:\.\d+)?b(?:-a\d+(?:\.\d+)?b)?(?:-|$)")
_ERROR_TEXT_LIMIT = 1000


def generation_path(model: str) -> str:
    """The generation endpoint for ``model`` (multimodal models live on their own path)."""
    name = model.strip().lower()
    if name.startswith(_MULTIMODAL_PREFIXES):
        return MULTIMODAL_GENERATION_PATH
    return TEXT_GENERATION_PATH


def requires_streaming(model: str, parameters: Mapping[str, Any]) -> bool:
    """True when the service only answers ``model`` with these parameters as a stream."""
    name = model.strip().lower()
    thinking = parameters.get("enable_thinking")
    if thinking is True or name.startswith(("qwq", "qvq")):
        return True
    if name.startswith("qwen3") and "-thinking" in name:
        return True
    if _QWEN3_OPEN.match(name) and "instruct" not in name:
        # Open-source Qwen3 thinks by default, and thinking is stream-only.
        return thinking is not False
    return False


# --------------------------------------------------------------------------- requests


def build_chat_request(
    config: ClientConfig,
    *,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    parameters: Mapping[str, Any],
    stream: bool,
    workspace: str | None = None,
) -> HTTPRequest:
    """Build the native generation request.

    Raises:
        ValueError: bad model/messages, ``stream`` inside parameters, or
            ``incremental_output=False`` on a stream.
    """
    if not isinstance(model, str) or not model.strip():
        raise ValueError("model must be a non-empty string")
    path = generation_path(model)
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


def header_value(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup that works on plain dicts too."""
    if not headers:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def content_text(content: Any) -> str:
    """Text of a message ``content``: a string, or a list of ``{"text": ...}`` parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part["text"])
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    return str(content)


def parse_usage(raw: Any) -> Usage:
    """Native usage object -> :class:`Usage` (``total_tokens`` computed when absent)."""
    if not isinstance(raw, Mapping):
        return Usage()
    input_tokens = _int_or_none(raw.get("input_tokens"))
    output_tokens = _int_or_none(raw.get("output_tokens"))
    total = _int_or_none(raw.get("total_tokens"))
    if total is None and input_tokens is not None and output_tokens is not None:
        total = input_tokens + output_tokens
    prompt_details = raw.get("prompt_tokens_details")
    output_details = raw.get("output_tokens_details")
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total,
        cached_tokens=_int_or_none(prompt_details.get("cached_tokens"))
        if isinstance(prompt_details, Mapping)
        else None,
        reasoning_tokens=_int_or_none(output_details.get("reasoning_tokens"))
        if isinstance(output_details, Mapping)
        else None,
        raw=dict(raw),
    )


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def normalise_finish_reason(value: Any) -> str | None:
    """The wire sends the *string* ``"null"`` while generating."""
    if not isinstance(value, str) or value in ("", "null"):
        return None
    return value


def parse_chat_response(
    status: int, headers: Mapping[str, str], body: bytes, *, model: str
) -> ChatResult:
    """Parse a non-streamed generation response.

    Raises:
        APIStatusError: see :func:`load_success_body`.
    """
    payload = load_success_body(status, headers, body)
    request_id = payload.get("request_id") or _header_request_id(headers)
    output = payload.get("output") or {}
    choices = output.get("choices") if isinstance(output, Mapping) else None
    choice = choices[0] if isinstance(choices, list) and choices else {}
    message = choice.get("message") or {}
    text = content_text(message.get("content")) or content_text(output.get("text"))
    return ChatResult(
        text=text,
        reasoning=message.get("reasoning_content") or "",
        tool_calls=tuple(sorted(_tool_calls(message), key=lambda call: call.index)),
        finish_reason=normalise_finish_reason(choice.get("finish_reason"))
        or normalise_finish_reason(output.get("finish_reason")),
        usage=parse_usage(payload.get("usage")),
        request_id=request_id,
        model=model,
        raw=payload,
    )


def _arguments(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _tool_calls(message: Mapping[str, Any]) -> list[ToolCall]:
    calls: list[ToolCall] = []
    for position, call in enumerate(message.get("tool_calls") or ()):
        if not isinstance(call, Mapping):
            continue
        function = call.get("function") or {}
        index = call.get("index")
        calls.append(
            ToolCall(
                id=call.get("id") or "",
                name=function.get("name") or "",
                arguments=_arguments(function.get("arguments")),
                index=index if isinstance(index, int) else position,
                type=call.get("type") or "function",
            )
        )
    legacy = message.get("function_call")
    if not calls and isinstance(legacy, Mapping):
        calls.append(
            ToolCall(
                id="", name=legacy.get("name") or "", arguments=_arguments(legacy.get("arguments"))
            )
        )
    return calls


# --------------------------------------------------------------------------- errors


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> APIStatusError:
    """Map an error response to its exception (built, not raised).

    Understands native ``{code, message|msg, request_id}``, compatible-mode
    ``{"error": {...}}``, an SSE body (first ``data:`` line) and raw text.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body)
    payload = json_object(text)
    if payload is None:
        payload = _first_sse_data(text)
    code: str | None
    if payload is not None:
        detail = error_detail(payload)
        code = _str_or_none(detail.get("code")) or _str_or_none(
            detail.get("type") if detail is not payload else None
        )
        message = _str_or_none(detail.get("message")) or _str_or_none(detail.get("msg"))
        request_id = _str_or_none(payload.get("request_id")) or _str_or_none(
            detail.get("request_id")
        )
        error_body: Any = payload
    else:
        code, message, request_id = "Unknown", text[:_ERROR_TEXT_LIMIT] or "(empty body)", None
        error_body = text[:_ERROR_TEXT_LIMIT]
    request_id = request_id or _header_request_id(headers)
    return error_from_response(
        status, code, message, request_id, retry_after=parse_retry_after(headers), body=error_body
    )


def load_success_body(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The JSON object of a successful non-streamed answer.

    Raises:
        APIStatusError: (the mapped subclass) for a non-200 status or a 200 body carrying a
            business error; code ``"InvalidResponse"`` (with the real status) for a body
            that is not a JSON object.
    """
    if status != 200:
        raise parse_error(status, headers, body)
    try:
        payload = json.loads(body)
    except ValueError:  # includes UnicodeDecodeError
        payload = None
    if not isinstance(payload, dict):
        snippet = body[:200].decode("utf-8", "replace")
        raise error_from_response(
            status, "InvalidResponse", f"response body is not a JSON object: {snippet!r}",
            _header_request_id(headers), body=snippet,
        )  # fmt: skip
    if is_error_payload(payload):
        raise parse_error(400, headers, body)  # two-layer error: HTTP 200, error in the body
    return payload


def is_error_payload(payload: Mapping[str, Any]) -> bool:
    """Whether a 200 answer or stream event carries a business error instead of a result.

    Native errors are ``{code, message}`` without ``output``; compatible mode nests
    ``{"error": {...}}``.
    """
    return isinstance(payload.get("error"), Mapping) or bool(
        payload.get("code") and not payload.get("output")
    )


def _header_request_id(headers: Mapping[str, str]) -> str | None:
    return header_value(headers, "x-request-id") or header_value(headers, "x-dashscope-request-id")


def error_detail(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The error object: compatible mode nests it under ``"error"``, native does not."""
    nested = payload.get("error")
    return nested if isinstance(nested, Mapping) else payload


def _str_or_none(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def json_object(text: str) -> dict[str, Any] | None:
    """``text`` parsed as a JSON object, else ``None`` (invalid JSON, or not an object)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _first_sse_data(text: str) -> dict[str, Any] | None:
    for line in text.splitlines():
        if line.startswith("data:"):
            data = line[5:]
            return json_object(data[1:] if data.startswith(" ") else data)
    return None


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: datetime | None = None
) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    millis = header_value(headers, "retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = header_value(headers, "retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max((when - current).total_seconds(), 0.0)

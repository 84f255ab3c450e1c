"""Wire helpers shared by every endpoint: headers, usage, errors, answer shapes (pure).

Chat (:mod:`dashscope_ws.protocol`), streams (:mod:`dashscope_ws.sse`) and retrieval
(:mod:`dashscope_ws.retrieval`) all read answers through this module, so a field is read
the same way whichever endpoint, streamed or not, sent it.

Every non-streamed answer is opened by :func:`load_success_body`: an error status or a
200 carrying a business error raises the mapped ``APIStatusError``; a body that is not a
JSON object (a proxy's HTML page, a truncated body) raises ``APIStatusError`` with code
``"InvalidResponse"`` and the real status. A JSON answer of the wrong *shape* (no
``output``, ``tool_calls`` not a list, a vector of the wrong length) is reported by the
parsers as :class:`~dashscope_ws.errors.APIResponseValidationError`: readers here raise
the internal :class:`ShapeError`, and each parser turns it into the typed error once, with
the request id and an excerpt of the body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeGuard

from .errors import APIResponseValidationError, APIStatusError, error_from_response
from .types import Usage

__all__ = [
    "ShapeError",
    "answer_request_id",
    "content_text",
    "error_detail",
    "error_fields",
    "header_request_id",
    "header_value",
    "invalid_response",
    "is_error_payload",
    "is_int",
    "is_number",
    "json_object",
    "load_success_body",
    "normalise_finish_reason",
    "object_or_empty",
    "parse_error",
    "parse_retry_after",
    "parse_usage",
    "read_tool_call",
    "request_id_of",
    "strict_int",
    "text_field",
]

_ERROR_TEXT_LIMIT = 1000
_EXCERPT = 200


class ShapeError(Exception):
    """Internal: an answer's JSON does not have the documented shape (message names the field).

    Parsers catch it once and raise :class:`~dashscope_ws.errors.APIResponseValidationError`.

    Example:
        >>> str(ShapeError("output is missing"))
        'output is missing'
    """


def invalid_response(
    error: ShapeError | str, body: bytes | str, *, request_id: str | None, status: int = 200
) -> APIResponseValidationError:
    """The typed error for a malformed answer, with an excerpt of ``body`` (built, not raised)."""
    raw = body[: _EXCERPT * 4] if isinstance(body, (bytes, bytearray)) else body[:_EXCERPT]
    excerpt = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else raw
    return APIResponseValidationError(
        str(error), status_code=status, request_id=request_id, body=excerpt[:_EXCERPT]
    )


# --------------------------------------------------------------------------- headers


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


def header_request_id(headers: Mapping[str, str] | None) -> str | None:
    """The request id a gateway put in the headers (the body's wins when present)."""
    return header_value(headers, "x-request-id") or header_value(headers, "x-dashscope-request-id")


def request_id_of(payload: Mapping[str, Any], headers: Mapping[str, str] | None) -> str | None:
    """``request_id`` of an answer (a string), else the one from the headers."""
    value = payload.get("request_id")
    if isinstance(value, str) and value:
        return value
    return header_request_id(headers)


def answer_request_id(payload: Mapping[str, Any], headers: Mapping[str, str] | None) -> str | None:
    """:func:`request_id_of`, reading the OpenAI-style ``id`` of compatible-mode answers too."""
    value = payload.get("id")
    if "request_id" not in payload and isinstance(value, str) and value:
        return value
    return request_id_of(payload, headers)


# --------------------------------------------------------------------------- JSON values


def is_int(value: Any) -> TypeGuard[int]:
    """A JSON integer (``True``/``False`` are not numbers on the wire)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A JSON number (int or float, not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def strict_int(value: Any) -> int | None:
    """``value`` when it is a JSON integer, else ``None``."""
    return value if is_int(value) else None


def object_or_empty(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else ``{}`` (optional sub-objects like ``usage``)."""
    return value if isinstance(value, dict) else {}


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


# --------------------------------------------------------------------------- fields


def content_text(content: Any) -> str:
    """Text of a message ``content``: a string, or a list of ``{"text": ...}`` parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    return str(content)


def text_field(value: Any, where: str) -> str:
    """A text-valued field (``content``, ``reasoning_content``, ``output.text``).

    ``None`` is empty; a list is multimodal ``[{"text": ...}]`` parts (other parts, such as
    images, carry no text). Anything else raises :class:`ShapeError`.
    """
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, list):
        return content_text(value)
    raise ShapeError(f"{where} is a {type(value).__name__}, not text")


def normalise_finish_reason(value: Any) -> str | None:
    """The wire sends the *string* ``"null"`` while generating."""
    if not isinstance(value, str) or value in ("", "null"):
        return None
    return value


def read_tool_call(
    call: Any, where: str
) -> tuple[int | None, str | None, str | None, str | None, str]:
    """``(index, id, name, arguments, type)`` of one wire tool call (or fragment of one).

    Empty strings read as ``None``; ``arguments`` that are not a string (some models send
    an object) are serialised to JSON. A call that is not an object, or whose ``function``
    is not an object, raises :class:`ShapeError`.
    """
    if not isinstance(call, Mapping):
        raise ShapeError(f"{where} is a {type(call).__name__}, not an object")
    function = call.get("function")
    if function is None:
        function = {}
    elif not isinstance(function, Mapping):
        raise ShapeError(f"{where}.function is a {type(function).__name__}, not an object")
    call_id = call.get("id")
    name = function.get("name")
    if not isinstance(call_id, (str, type(None))) or not isinstance(name, (str, type(None))):
        raise ShapeError(f"{where} has an id or name that is not a string")
    arguments = function.get("arguments")
    if arguments is not None and not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    index = call.get("index")
    kind = call.get("type")
    return (
        index if isinstance(index, int) and not isinstance(index, bool) else None,
        call_id or None,
        name or None,
        arguments or None,
        kind if isinstance(kind, str) and kind else "function",
    )


def parse_usage(raw: Any) -> Usage:
    """Native usage object -> :class:`Usage` (``total_tokens`` computed when absent).

    ``Usage.raw`` is the wire object itself (not a copy: results are never mutated).
    Called once per stream event, hence the exact-``int`` shortcuts.
    """
    if raw.__class__ is not dict:
        return Usage()
    input_tokens = raw.get("input_tokens")
    if input_tokens.__class__ is not int:
        input_tokens = _int_or_none(input_tokens)
    output_tokens = raw.get("output_tokens")
    if output_tokens.__class__ is not int:
        output_tokens = _int_or_none(output_tokens)
    total = raw.get("total_tokens")
    if total.__class__ is not int:
        total = _int_or_none(total)
        if total is None and input_tokens is not None and output_tokens is not None:
            total = input_tokens + output_tokens
    cached = reasoning = None
    details = raw.get("prompt_tokens_details")
    if details.__class__ is dict:
        cached = details.get("cached_tokens")
        if cached.__class__ is not int:
            cached = _int_or_none(cached)
    details = raw.get("output_tokens_details")
    if details.__class__ is dict:
        reasoning = _int_or_none(details.get("reasoning_tokens"))
    return Usage(input_tokens, output_tokens, total, cached, reasoning, raw)


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


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
    if payload is not None:
        code, message, request_id = error_fields(payload)
        error_body: Any = payload
    else:
        code, message, request_id = "Unknown", text[:_ERROR_TEXT_LIMIT] or "(empty body)", None
        error_body = text[:_ERROR_TEXT_LIMIT]
    request_id = request_id or header_request_id(headers)
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
    except (ValueError, RecursionError):  # ValueError includes UnicodeDecodeError
        payload = None
    if not isinstance(payload, dict):
        snippet = body[:_EXCERPT].decode("utf-8", "replace")
        raise error_from_response(
            status, "InvalidResponse", f"response body is not a JSON object: {snippet!r}",
            header_request_id(headers), body=snippet,
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


def error_detail(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The error object: compatible mode nests it under ``"error"``, native does not."""
    nested = payload.get("error")
    return nested if isinstance(nested, Mapping) else payload


def error_fields(payload: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """``(code, message, request_id)`` of an error body or error stream event.

    Native errors carry ``{code, message|msg, request_id}``; compatible mode nests
    ``{"error": {code|type, message}}`` beside a top-level ``request_id``.
    """
    detail = error_detail(payload)
    code = _str_or_none(detail.get("code")) or _str_or_none(
        detail.get("type") if detail is not payload else None
    )
    message = _str_or_none(detail.get("message")) or _str_or_none(detail.get("msg"))
    request_id = _str_or_none(payload.get("request_id")) or _str_or_none(detail.get("request_id"))
    return code, message, request_id


def _str_or_none(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def json_object(text: str | bytes) -> dict[str, Any] | None:
    """``text`` parsed as a JSON object, else ``None`` (invalid JSON, or not an object)."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _first_sse_data(text: str) -> dict[str, Any] | None:
    for line in text.splitlines():
        if line.startswith("data:"):
            data = line[5:]
            return json_object(data[1:] if data.startswith(" ") else data)
    return None

"""Between the core's native shapes and the OpenAI-compatible shapes of batch lines.

A batch line's ``body`` is an OpenAI-compatible request and its answer an OpenAI-compatible
response (DashScope "OpenAI兼容-Batch"; ``openai`` SDK ``types/chat/chat_completion.py``,
``types/create_embedding_response.py``). The core and the adapters speak the native shapes
(:class:`~dashscope_ws.types.ChatResult`, native message dicts), so the framework batch jobs
convert here, once, in both directions:

* native message -> compatible message: text and ``{"text"}`` / ``{"image"}`` content parts
  become ``{"type": "text"}`` / ``{"type": "image_url"}`` parts (the compatible-mode
  multimodal format, DashScope "OpenAI兼容-视觉理解"); roles, ``tool_calls`` and
  ``tool_call_id`` have the same shape in both (CONFIRMED: same page family, "Function
  Calling"). Other parts (audio, video) pass through unchanged — ASSUMED unsupported in
  batch; the service answers the row with an error, which is reported, not dropped.
* compatible response body -> :class:`~dashscope_ws.types.ChatResult` through the native
  parser (``choices`` are the same objects; usage names differ: ``prompt_tokens`` /
  ``completion_tokens`` -> ``input_tokens`` / ``output_tokens``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..protocol import _chat_result
from ..types import ChatResult, Usage
from ..wire import ShapeError, parse_usage
from .lines import BatchResult

__all__ = ["chat_result", "compatible_message", "compatible_usage", "embedding"]


def compatible_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """A native message dict as an OpenAI-compatible one.

    Example:
        >>> message = {"role": "user", "content": [{"text": "Hi"}, {"image": "u"}]}
        >>> compatible_message(message)["content"]
        [{'type': 'text', 'text': 'Hi'}, {'type': 'image_url', 'image_url': {'url': 'u'}}]
    """
    out = dict(message)
    content = out.get("content")
    if isinstance(content, list):
        out["content"] = [_part(part) for part in content]
    return out


def _part(part: Any) -> Any:
    if not isinstance(part, Mapping) or "type" in part:
        return part
    if set(part) == {"text"}:
        return {"type": "text", "text": part["text"]}
    if set(part) == {"image"}:
        return {"type": "image_url", "image_url": {"url": part["image"]}}
    return part


def compatible_usage(raw: Any) -> Usage:
    """OpenAI-compatible ``usage`` -> :class:`Usage` (``raw`` keeps the wire object).

    Example:
        >>> u = compatible_usage({"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5})
        >>> (u.input_tokens, u.output_tokens, u.total_tokens)
        (3, 2, 5)
    """
    if not isinstance(raw, dict):
        return Usage()
    native = dict(raw)
    native.setdefault("input_tokens", raw.get("prompt_tokens"))
    native.setdefault("output_tokens", raw.get("completion_tokens"))
    details = raw.get("completion_tokens_details")
    if isinstance(details, dict):
        native.setdefault("output_tokens_details", details)
    usage = parse_usage(native)
    return Usage(
        usage.input_tokens, usage.output_tokens, usage.total_tokens,
        usage.cached_tokens, usage.reasoning_tokens, raw,
    )  # fmt: skip


def chat_result(row: BatchResult, model: str) -> ChatResult:
    """A successful chat row as the :class:`ChatResult` ``client.chat`` would have returned.

    Raises:
        ValueError: the row's body has no valid ``choices`` (named by ``custom_id``).
    """
    body = dict(row.body or {})
    payload = {"output": {"choices": body.get("choices")}, "usage": None}
    try:
        result = _chat_result(payload, _request_id(body), str(body.get("model") or model))
    except ShapeError as error:
        raise ValueError(f"batch row {row.custom_id!r}: {error}") from None
    result.usage = compatible_usage(body.get("usage"))
    result.raw = body
    return result


def embedding(row: BatchResult) -> list[float]:
    """A successful embeddings row's vector.

    Raises:
        ValueError: the row's body has no ``data[0].embedding`` list.
    """
    vector = row.embedding
    if vector is None:
        raise ValueError(f"batch row {row.custom_id!r} has no data[0].embedding")
    return vector


def _request_id(body: Mapping[str, Any]) -> str | None:
    value = body.get("id")
    return str(value) if value else None

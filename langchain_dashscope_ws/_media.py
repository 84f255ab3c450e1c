"""LangChain message content -> the core's neutral content parts (the input side).

Every spelling of text and media LangChain users send: standard v1 blocks
(``{"type": "image", "url" | "base64" + "mime_type"}``, video, audio, ``file``,
``text-plain``), the v0 ``source_type`` forms, OpenAI's ``image_url`` / ``input_audio`` parts,
Anthropic's ``source`` blocks, and DashScope's native parts. The core turns the neutral parts
into ``{"image": ...}`` / ``{"video": ...}`` / ``{"audio": ...}`` / ``{"text": ...}`` for the
multimodal endpoint and uploads local media (``file://``, base64) before sending.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dashscope_ws.adapters import MEDIA_KINDS, media_part, text_part
from dashscope_ws.protocol import TOOL_MEDIA_MESSAGE

__all__ = ["content_to_wire"]

# Blocks that describe an earlier assistant turn rather than its text: tool calls are
# replayed from `.tool_calls`, reasoning is never sent back.
_SKIPPED_BLOCKS = frozenset(
    {
        "tool_use", "tool_call", "tool_call_chunk", "invalid_tool_call", "function_call",
        "server_tool_call", "server_tool_call_chunk", "server_tool_result",
        "reasoning", "thinking", "redacted_thinking", "non_standard",
    }
)  # fmt: skip


def content_to_wire(content: str | list[Any], *, role: str = "user") -> str | list[dict[str, Any]]:
    """Neutral (OpenAI-style) content: the core turns it into what the endpoint takes.

    Media sources may be URLs, base64 (becomes a ``data:`` URL) or local (``file://``,
    ``Path``, bytes): the core uploads local ones before sending (``dashscope_ws._media``).
    """
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            parts.append(text_part(block))
            continue
        kind = str(block.get("type") or _native_kind(block))
        if kind in ("text", "text-plain"):
            parts.append(text_part(str(block.get("text", ""))))
        elif kind in _SKIPPED_BLOCKS:
            continue
        elif kind == "native":
            parts.append(dict(block))  # DashScope's own spelling: {"image": ...}, {"video": [...]}
        elif kind in MEDIA_KINDS or kind in ("input_audio", "file"):
            media, source = _media_source(block, kind)
            if role == "tool":
                raise ValueError(TOOL_MEDIA_MESSAGE)
            parts.append(media_part(media, source))
        else:
            raise ValueError(
                f"content block type {kind!r} is not supported by DashScope generation "
                f"(supported: text, image, image_url, audio, input_audio, video, and file "
                f"blocks holding an image, audio or video)"
            )
    return parts


def _native_kind(block: Mapping[str, Any]) -> str | None:
    if "text" in block:
        return "text"
    if any(key in block for key in ("image", "video", "audio")):
        return "native"
    return None


def _media_source(block: Mapping[str, Any], kind: str) -> tuple[str, Any]:
    """``(media kind, source)`` for a media block in any LangChain (v0/v1), OpenAI or
    Anthropic spelling; the source is a URL, a ``data:`` URL or a list of video frames."""
    if kind == "image_url":
        image = block.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        if isinstance(url, str):
            return "image", url
    if kind == "input_audio":  # OpenAI: {"input_audio": {"data": b64, "format": "wav"}}
        audio = block.get("input_audio")
        if isinstance(audio, Mapping) and isinstance(audio.get("data"), str):
            return "audio", f"data:audio/{audio.get('format') or 'wav'};base64,{audio['data']}"
        raise ValueError("input_audio block needs input_audio.data (base64) and format")
    media = MEDIA_KINDS.get(kind)
    mime = block.get("mime_type") or block.get("media_type")
    if kind == "file":  # only a file that is an image, audio or video can be sent
        media = next((m for m in ("image", "audio", "video") if str(mime).startswith(m)), None)
        if media is None:
            raise ValueError(
                f"a 'file' block of type {mime!r} cannot be sent to DashScope generation: only "
                "image, audio and video files (set mime_type), or extracted text"
            )
    assert media is not None
    if block.get("file_id") is not None or block.get("source_type") == "id":
        raise ValueError(
            f"{kind} blocks with a file_id are not supported: DashScope generation has no "
            "file ids; pass a URL, base64 data or a local file:// path"
        )
    source = block.get("source")
    if isinstance(source, Mapping):  # Anthropic: {"type": "base64"|"url", ...}
        if source.get("type") == "url" and isinstance(source.get("url"), str):
            return media, str(source["url"])
        if isinstance(source.get("data"), str):
            mime = source.get("media_type") or f"{media}/*"
            return media, f"data:{mime};base64,{source['data']}"
    if isinstance(block.get("url"), str):
        return media, str(block["url"])
    if media == "video" and isinstance(block.get(media), list):
        return media, list(block[media])  # DashScope's list of frame URLs
    if isinstance(block.get(media), str):
        return media, str(block[media])
    data = block.get("base64") or (block.get("data") if block.get("source_type") else None)
    if isinstance(data, str):
        return media, f"data:{mime or f'{media}/*'};base64,{data}"
    raise ValueError(f"{kind} block needs a URL or base64 data: {sorted(block)}")

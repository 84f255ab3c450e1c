"""LlamaIndex media blocks -> the core's neutral content parts.

``ImageBlock`` / ``AudioBlock`` / ``VideoBlock`` by ``url``, ``path`` or inline bytes. DashScope
cannot read local data: a ``path`` is handed to the core as a ``Path`` and bytes as a ``data:``
URL with the block's MIME type, and the core uploads both before sending
(``DashScopeClient.upload_file``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import AudioBlock, ImageBlock, VideoBlock

from dashscope_ws.adapters import media_part

__all__ = ["media_block_part"]


def media_block_part(block: ImageBlock | AudioBlock | VideoBlock) -> dict[str, Any]:
    """A neutral media part. A URL is sent as it is; a ``path`` goes as a ``Path`` and
    inline bytes as a ``data:`` URL with the block's MIME type: the core uploads both
    before sending (``DashScopeClient.upload_file``; DashScope cannot read local data)."""
    if isinstance(block, ImageBlock):
        kind, mime = "image", block.image_mimetype
    elif isinstance(block, AudioBlock):
        kind, mime = "audio", f"audio/{block.format}" if block.format else None
    else:
        kind, mime = "video", block.video_mimetype
    part = media_part(kind, _media_source(block, kind, mime))
    if isinstance(block, VideoBlock) and block.fps is not None:
        part["fps"] = block.fps  # DashScope's frame-sampling hint on a video part
    return part


def _media_source(block: ImageBlock | AudioBlock | VideoBlock, kind: str, mime: str | None) -> Any:
    if block.url is not None:
        return str(block.url)
    if block.path is not None:
        return Path(block.path)
    if isinstance(block, ImageBlock):
        data = block.resolve_image(as_base64=True).read()
    elif isinstance(block, AudioBlock):
        data = block.resolve_audio(as_base64=True).read()
    else:
        data = block.resolve_video(as_base64=True).read()
    if not data:
        raise ValueError(f"the {kind} block has no url, path or data")
    return f"data:{mime or kind + '/*'};base64,{data.decode('ascii')}"

"""Multimodal content: part validation, ``oss://`` resolution, and what the model "sees".

Confirmed (protocol reference §6, [DOC-ERR-ZH] "The item of content should be a message of a
certain modal."): content is a list of single-modality objects ``{"text"}``, ``{"image": url}``,
``{"video": url | [frame urls]}``, ``{"audio": url}``, with optional hints (``min_pixels``,
``max_pixels``, ``fps``, ``total_pixels``, ``cache_control``); media URLs are ``http(s)://``,
``data:…;base64,…`` or a temporary ``oss://`` reference, the latter only with
``X-DashScope-OssResourceResolve: enable``.

Assumed (the emulator's wording, marked so in docs/emulator.md): the answer to a value of the
wrong type (the "certain modal" message), to an unreadable URL scheme or an ``oss://`` URL
without the header (``The provided URL does not appear to be valid…``), and to an ``oss://``
object never uploaded for this model (``InvalidParameter.DataInspection``, the documented
"Unable to download the media resource…" error).
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .uploads import UploadStore
from .wire import ServiceError, invalid

__all__ = ["MediaSummary", "check_media", "image_size"]

CERTAIN_MODAL = "The item of content should be a message of a certain modal."
BAD_URL = "The provided URL does not appear to be valid. Ensure it is correctly formatted."
DOWNLOAD_FAILED = "Unable to download the media resource during the data inspection process."
_MODALITIES = ("text", "image", "video", "audio")
_HINTS = frozenset({"min_pixels", "max_pixels", "fps", "total_pixels", "cache_control", "type"})
_SCHEMES = ("http://", "https://", "data:", "oss://")
_JPEG_SOF = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)


@dataclass
class MediaSummary:
    """What the request carried: counts, and the pixel size of each image that could be read.

    Example:
        >>> MediaSummary(images=1, sizes=[(64, 32)]).describe()
        'I received 1 image (64x32), 0 videos and 0 audios.'
    """

    images: int = 0
    videos: int = 0
    audios: int = 0
    frames: int = 0
    sizes: list[tuple[int, int] | None] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """No media at all."""
        return not (self.images or self.videos or self.audios)

    def describe(self) -> str:
        """One deterministic sentence for the reply."""
        images = f"{self.images} image{'s' if self.images != 1 else ''}"
        if self.sizes:
            shown = ", ".join(f"{s[0]}x{s[1]}" if s else "size unknown" for s in self.sizes)
            images += f" ({shown})"
        videos = f"{self.videos} video{'s' if self.videos != 1 else ''}"
        if self.frames:
            videos += f" ({self.frames} frames)"
        audios = f"{self.audios} audio{'s' if self.audios != 1 else ''}"
        return f"I received {images}, {videos} and {audios}."


def image_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from a PNG or JPEG header, else ``None`` (no decoding)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:2] != b"\xff\xd8":
        return None
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length field
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _JPEG_SOF and position + 9 <= len(data):
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return int(width), int(height)
        position += 2 + length
    return None


def _bytes_of(url: str, store: UploadStore, model: str, resolve: bool) -> bytes | None:
    if not url.startswith(_SCHEMES):
        raise invalid(BAD_URL)
    if url.startswith("data:"):
        head, comma, payload = url.partition(",")
        if not comma or ";base64" not in head:
            raise invalid(BAD_URL)
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise invalid(BAD_URL) from None
    if url.startswith("oss://"):
        if not resolve:
            raise invalid(BAD_URL)
        stored = store.get(url[len("oss://") :], model)
        if stored is None:
            raise ServiceError(400, "InvalidParameter.DataInspection", DOWNLOAD_FAILED)
        return stored.content
    return None  # http(s): the emulator never fetches the network


def _media_url(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(CERTAIN_MODAL)
    return value


def check_media(
    messages: Sequence[Mapping[str, Any]], store: UploadStore, model: str, *, resolve: bool
) -> MediaSummary:
    """Validate every list ``content`` part; count the media and read image sizes.

    Raises:
        ServiceError: 400 for a part that is not one modality, a value of the wrong type, a URL
            the service cannot read, or an ``oss://`` object it cannot resolve.
    """
    summary = MediaSummary()
    for message in messages:
        content = message.get("content")
        if content is None or isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise invalid(CERTAIN_MODAL)
        for part in content:
            if not isinstance(part, Mapping):
                raise invalid(CERTAIN_MODAL)
            kinds = [name for name in _MODALITIES if name in part]
            if len(kinds) != 1 or any(k not in _MODALITIES and k not in _HINTS for k in part):
                raise invalid(CERTAIN_MODAL)
            kind, value = kinds[0], part[kinds[0]]
            if kind == "text":
                if not isinstance(value, str):
                    raise invalid(CERTAIN_MODAL)
            elif kind == "image":
                data = _bytes_of(_media_url(value), store, model, resolve)
                summary.images += 1
                summary.sizes.append(image_size(data) if data is not None else None)
            elif kind == "audio":
                _bytes_of(_media_url(value), store, model, resolve)
                summary.audios += 1
            else:
                frames = value if isinstance(value, list) else [value]
                if not frames:
                    raise invalid(CERTAIN_MODAL)
                for frame in frames:
                    _bytes_of(_media_url(frame), store, model, resolve)
                summary.videos += 1
                summary.frames += len(frames) if isinstance(value, list) else 0
    return summary

"""Helpers for the emulator tests (a uniquely named module, imported by the test files)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

TEXT_PATH = "/services/aigc/text-generation/generation"
MM_PATH = "/services/aigc/multimodal-generation/generation"
EMBED_PATH = "/services/embeddings/text-embedding/text-embedding"
RERANK_PATH = "/services/rerank/text-rerank/text-rerank"

Call = Callable[..., requests.Response]


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    """Split a native SSE body into events: {"id", "event", "comment", "status", "data"}."""
    events = []
    for block in raw.decode("utf-8").split("\n\n"):
        if not block:
            continue
        event: dict[str, Any] = {}
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            if field == "":
                event["comment"] = value
            elif field == "data":
                event["data"] = json.loads(value)
            else:
                event[field] = value
        events.append(event)
    return events


def chat_body(content: str = "Hello there", model: str = "qwen-plus", **parameters: Any) -> Any:
    parameters.setdefault("result_format", "message")
    return {
        "model": model,
        "input": {"messages": [{"role": "user", "content": content}]},
        "parameters": parameters,
    }


def png_bytes(width: int, height: int) -> bytes:
    """A tiny valid RGB PNG (zlib + struct), all pixels black."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg_header(width: int, height: int) -> bytes:
    """SOI, an APP0 segment and a baseline SOF0 segment: enough to read the size."""
    import struct

    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x11\x00" * 3
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"

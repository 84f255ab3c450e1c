"""Shared fixtures of the multimodal / routing tests: a clean registry, tiny PNGs."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

import pytest

from dashscope_ws import models


@pytest.fixture(autouse=True)
def registry() -> Iterator[None]:
    """Each test starts from the built-in registry and leaves nothing learned behind."""
    saved = dict(models._registry)
    models.forget_endpoints()
    yield
    models._update(lambda table: (table.clear(), table.update(saved)))
    models.forget_endpoints()


def png(width: int, height: int) -> bytes:
    """A tiny valid RGB PNG, all pixels black."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")

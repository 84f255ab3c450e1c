"""The ``Example:`` blocks of the media modules run, and the pure helpers hold up."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

from dashscope_ws._media import is_local, local_media, with_uploaded


@pytest.mark.parametrize(
    "name",
    [
        "dashscope_ws._media",
        "dashscope_ws._chat",
        "dashscope_ws._chat_client",
        "dashscope_ws.uploads",
    ],
)
def test_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0


def test_local_media_walks_every_media_spelling(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    parts = [
        {"image": path},
        {"image": str(path.as_uri())},
        {"video": ["https://x/1.jpg", b"frame"]},
        {"audio": "data:audio/wav;base64,UklGRg=="},
        {"type": "image_url", "image_url": {"url": path}},
        {"text": "file:///not/media.png"},  # text is never media
    ]
    messages = [{"role": "system", "content": "hi"}, {"role": "user", "content": parts}]
    found = local_media(messages)
    assert len(found) == 4  # the Path twice is one source
    urls = {key: f"oss://d/{n}" for n, key in enumerate(found)}
    out = with_uploaded(messages, urls)
    assert out[0] == messages[0]
    content = out[1]["content"]
    assert content[0]["image"] == content[4]["image_url"]["url"]
    assert content[2]["video"][0] == "https://x/1.jpg"
    assert all(not is_local(v) for v in (content[1]["image"], content[2]["video"][1]))
    assert content[5] == {"text": "file:///not/media.png"}
    assert parts[0]["image"] == path  # the caller's messages are not changed


def test_local_media_shortcut_is_taken_only_for_plain_text() -> None:
    from types import MappingProxyType

    parts = [{"text": "?"}, {"image": b"\x89PNG"}]
    assert local_media([{"role": "user", "content": "file:///a.png"}]) == {}  # text, not a part
    system = {"role": "system", "content": "s"}
    assert len(local_media([system, {"role": "user", "content": parts}]))
    assert len(local_media((MappingProxyType({"role": "user", "content": parts}),)))
    assert len(local_media([MappingProxyType({"role": "user", "content": parts})]))

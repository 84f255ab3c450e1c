"""LlamaIndex multimodal input: blocks on the wire, local files uploaded, endpoint, Omni."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    ImageBlock,
    TextBlock,
    VideoBlock,
)
from media_testkit import png

from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator
from llamaindex_dashscope_ws import DashScope
from llamaindex_dashscope_ws._convert import to_wire_messages

MODES = pytest.mark.parametrize("mode", ["chat", "achat", "stream_chat", "astream_chat"])


def user(*blocks: Any) -> ChatMessage:
    return ChatMessage(role="user", blocks=[*blocks, TextBlock(text="?")])


def _run(mode: str, llm: DashScope, messages: list[ChatMessage], **kwargs: Any) -> str:
    if mode == "chat":
        return str(llm.chat(messages, **kwargs).message.content)
    if mode == "stream_chat":
        return "".join(r.delta or "" for r in llm.stream_chat(messages, **kwargs))

    async def main() -> str:
        if mode == "achat":
            return str((await llm.achat(messages, **kwargs)).message.content)
        return "".join([r.delta or "" async for r in await llm.astream_chat(messages, **kwargs)])

    return asyncio.run(main())


def test_blocks_on_the_wire(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(png(2, 2))
    blocks = [
        ImageBlock(url="https://x/a.png"),
        ImageBlock(path=image),
        ImageBlock(image=png(3, 3), image_mimetype="image/png"),
        VideoBlock(url="https://x/v.mp4", fps=2),
    ]
    (wire,) = to_wire_messages([user(*blocks)], model="qwen3-vl-plus")
    content = wire["content"]
    assert content[0] == {"type": "image_url", "image_url": {"url": "https://x/a.png"}}
    assert content[1]["image_url"]["url"] == image  # a Path: the client uploads it
    assert content[2]["image_url"]["url"].startswith("data:image/png;base64,")
    assert content[3] == {"type": "video", "video": "https://x/v.mp4", "fps": 2}
    (audio,) = to_wire_messages(
        [user(AudioBlock(audio=b"RIFF....WAVE", format="wav"))], model="qwen-audio-turbo"
    )
    assert audio["content"][0]["audio"].startswith("data:audio/wav;base64,")


def test_media_for_a_text_model_is_refused_unless_the_endpoint_is_forced() -> None:
    message = user(ImageBlock(url="https://x/a.png"))
    with pytest.raises(ValueError, match="text-only"):
        to_wire_messages([message], model="acme-tune")
    assert to_wire_messages([message], model="acme-tune", endpoint="multimodal")


@MODES
def test_a_local_image_path_and_bytes_in_a_sub_workspace(
    dashscope_emulator: Emulator, tmp_path: Path, mode: str
) -> None:
    image = tmp_path / "plot.png"
    image.write_bytes(png(21, 13))
    llm = DashScope(
        model="qwen-vl-plus", api_key=SUB_KEY, workspace=SUB_WORKSPACE,
        base_url=dashscope_emulator.base_url,
    )  # fmt: skip
    message = user(ImageBlock(path=image), ImageBlock(image=png(5, 7), image_mimetype="image/png"))
    assert "2 images (21x13, 5x7)" in _run(mode, llm, [message])
    names = [r.path.rsplit("/", 1)[-1] for r in dashscope_emulator.requests]
    assert names == ["uploads", "oss-upload", "uploads", "oss-upload", "generation"]


@MODES
def test_endpoint_field_and_per_call(dashscope_emulator: Emulator, mode: str) -> None:
    llm = DashScope(model="qwen-vl-plus", api_key=MAIN_KEY, base_url=dashscope_emulator.base_url)
    hi = [ChatMessage(role="user", content="hi")]
    with pytest.raises(Exception, match="url error"):
        _run(mode, llm, hi, endpoint="text")
    forced = DashScope(
        model="qwen-vl-plus", api_key=MAIN_KEY, base_url=dashscope_emulator.base_url,
        endpoint="multimodal",
    )  # fmt: skip
    assert _run(mode, forced, hi)
    paths = [r.path.split("/")[-2] for r in dashscope_emulator.requests]
    assert paths == ["text-generation", "multimodal-generation"]


@MODES
def test_omni_is_a_clear_error_before_any_request(dashscope_emulator: Emulator, mode: str) -> None:
    llm = DashScope(model="qwen-omni-turbo", api_key=MAIN_KEY, base_url=dashscope_emulator.base_url)
    with pytest.raises(ValueError, match=r"qwen-omni-turbo.*OpenAI-compatible"):
        _run(mode, llm, [ChatMessage(role="user", content="hi")])
    assert dashscope_emulator.requests == []


def test_modalities_come_from_the_registry() -> None:
    assert DashScope(model="qwen-vl-max", api_key="sk-x").is_multimodal
    assert not DashScope(model="qwen-plus", api_key="sk-x").is_multimodal
    assert DashScope(model="qwen-audio-turbo", api_key="sk-x").input_modalities == (
        "text",
        "audio",
    )


def test_media_in_a_tool_message_is_a_clear_error() -> None:
    # The LangChain twin: test_langchain_media.py::test_media_in_a_tool_message_is_a_clear_error.
    result = ChatMessage(
        role="tool",
        blocks=[ImageBlock(url="https://example.test/a.png")],
        additional_kwargs={"tool_call_id": "c1"},
    )
    with pytest.raises(ValueError, match="tool messages take text only"):
        to_wire_messages([ChatMessage(role="user", content="take a photo"), result],
                         model="qwen3-vl-plus")  # fmt: skip
    text = ChatMessage(role="tool", content="sunny", additional_kwargs={"tool_call_id": "c1"})
    assert to_wire_messages([text], model="qwen3-vl-plus")[0]["content"] == "sunny"

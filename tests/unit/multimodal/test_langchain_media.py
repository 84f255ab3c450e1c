"""LangChain multimodal input: every block spelling on the wire, uploads, endpoint, Omni."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from media_testkit import png

from dashscope_ws.config import ClientConfig
from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.protocol import build_chat_request
from langchain_dashscope_ws import ChatDashScope
from langchain_dashscope_ws._convert import messages_to_wire

CONFIG = ClientConfig.resolve(api_key="sk-test", base_url="https://dashscope.example", env={})
B64 = base64.b64encode(b"\x89PNG-bytes").decode()


def sent(messages: list[BaseMessage], model: str) -> list[Any]:
    wire = messages_to_wire(messages, model=model)
    request = build_chat_request(CONFIG, model=model, messages=wire, parameters={}, stream=False)
    return request.json["input"]["messages"][0]["content"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"type": "image", "url": "https://x/a.png"}, {"image": "https://x/a.png"}),
        ({"type": "image", "base64": B64, "mime_type": "image/png"},
         {"image": f"data:image/png;base64,{B64}"}),
        ({"type": "image", "source_type": "base64", "data": B64, "mime_type": "image/png"},
         {"image": f"data:image/png;base64,{B64}"}),
        ({"type": "image_url", "image_url": {"url": f"data:image/png;base64,{B64}"}},
         {"image": f"data:image/png;base64,{B64}"}),
        ({"type": "image_url", "image_url": "https://x/b.png"}, {"image": "https://x/b.png"}),
        ({"type": "video", "url": "https://x/v.mp4"}, {"video": "https://x/v.mp4"}),
        ({"type": "video", "video": ["https://x/1.jpg", "https://x/2.jpg"]},
         {"video": ["https://x/1.jpg", "https://x/2.jpg"]}),
        ({"video": ["https://x/1.jpg"], "fps": 2}, {"video": ["https://x/1.jpg"], "fps": 2}),
        ({"type": "file", "url": "https://x/c.jpg", "mime_type": "image/jpeg"},
         {"image": "https://x/c.jpg"}),
        ({"type": "text-plain", "text": "notes", "mime_type": "text/plain"}, {"text": "notes"}),
    ],
)  # fmt: skip
def test_blocks_become_native_parts(block: dict[str, Any], expected: dict[str, Any]) -> None:
    content = sent([HumanMessage(content=[{"type": "text", "text": "?"}, block])], "qwen3-vl-plus")
    assert content == [{"text": "?"}, expected]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"type": "audio", "base64": B64, "mime_type": "audio/wav"},
         {"audio": f"data:audio/wav;base64,{B64}"}),
        ({"type": "input_audio", "input_audio": {"data": B64, "format": "mp3"}},
         {"audio": f"data:audio/mp3;base64,{B64}"}),
        ({"type": "audio", "url": "https://x/a.wav"}, {"audio": "https://x/a.wav"}),
    ],
)  # fmt: skip
def test_audio_blocks(block: dict[str, Any], expected: dict[str, Any]) -> None:
    assert sent([HumanMessage(content=[block])], "qwen-audio-turbo") == [expected]


@pytest.mark.parametrize(
    ("block", "match"),
    [
        ({"type": "image", "file_id": "file-1"}, "file_id"),
        ({"type": "file", "base64": B64, "mime_type": "application/pdf"}, "'file' block"),
        ({"type": "input_audio", "input_audio": {}}, "input_audio"),
        ({"type": "image"}, "needs a URL or base64"),
    ],
)
def test_unsendable_blocks_are_clear_errors(block: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        messages_to_wire([HumanMessage(content=[block])], model="qwen3-vl-plus")


def test_media_in_a_tool_message_is_a_clear_error() -> None:
    call = {"name": "snap", "args": {}, "id": "c1", "type": "tool_call"}
    image = {"type": "image", "base64": B64, "mime_type": "image/png"}
    messages = [
        HumanMessage(content="take a photo"),
        AIMessage(content="", tool_calls=[call]),
        ToolMessage(content=[image], tool_call_id="c1"),
    ]
    with pytest.raises(ValueError, match="tool messages take text only"):
        messages_to_wire(messages, model="qwen3-vl-plus")


def test_endpoint_override_skips_the_registry_modality_check() -> None:
    message = HumanMessage(content=[{"type": "image", "url": "https://x/a.png"}])
    with pytest.raises(ValueError, match="text-only"):
        messages_to_wire([message], model="acme-tune")
    assert messages_to_wire([message], model="acme-tune", endpoint="multimodal")


def _run(mode: str, llm: ChatDashScope, messages: Any, **kwargs: Any) -> str:
    if mode == "invoke":
        return str(llm.invoke(messages, **kwargs).content)
    if mode == "stream":
        return "".join(str(c.content) for c in llm.stream(messages, **kwargs))
    if mode == "ainvoke":
        return str(asyncio.run(llm.ainvoke(messages, **kwargs)).content)

    async def collect() -> str:
        return "".join([str(c.content) async for c in llm.astream(messages, **kwargs)])

    return asyncio.run(collect())


MODES = pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])


def _main(emulator: Emulator, model: str) -> ChatDashScope:
    return ChatDashScope(model=model, api_key=MAIN_KEY, base_url=emulator.base_url)


@MODES
def test_a_local_image_in_a_sub_workspace(
    dashscope_emulator: Emulator, tmp_path: Path, mode: str
) -> None:
    image = tmp_path / "plot.png"
    image.write_bytes(png(12, 34))
    llm = ChatDashScope(
        model="qwen-vl-plus", api_key=SUB_KEY, workspace=SUB_WORKSPACE,
        base_url=dashscope_emulator.base_url,
    )  # fmt: skip
    message = HumanMessage(
        content=[{"type": "image", "url": image.as_uri()}, {"type": "text", "text": "Size?"}]
    )
    assert "1 image (12x34)" in _run(mode, llm, [message])
    policy = dashscope_emulator.requests[0]
    assert policy.headers["X-DashScope-WorkSpace"] == SUB_WORKSPACE


@MODES
def test_endpoint_field_and_per_call_override(dashscope_emulator: Emulator, mode: str) -> None:
    llm = ChatDashScope(
        model="qwen-vl-plus", api_key=MAIN_KEY, base_url=dashscope_emulator.base_url
    )
    with pytest.raises(Exception, match="url error"):
        _run(mode, llm, "hi", endpoint="text")  # forced: never second-guessed
    assert _run(mode, llm.model_copy(update={"endpoint": "multimodal"}), "hi")
    paths = [r.path.split("/")[-2] for r in dashscope_emulator.requests]
    assert paths == ["text-generation", "multimodal-generation"]


@MODES
def test_omni_is_a_clear_error_before_any_request(dashscope_emulator: Emulator, mode: str) -> None:
    llm = ChatDashScope(
        model="qwen3-omni-flash", api_key=MAIN_KEY, base_url=dashscope_emulator.base_url
    )
    with pytest.raises(ValueError, match=r"qwen3-omni-flash.*OpenAI-compatible"):
        _run(mode, llm, "hi")
    assert dashscope_emulator.requests == []


def test_vl_generation_parameters_are_fields(dashscope_emulator: Emulator) -> None:
    llm = ChatDashScope(
        model="qwen-vl-plus", api_key=MAIN_KEY, base_url=dashscope_emulator.base_url,
        vl_high_resolution_images=True,
    )  # fmt: skip
    llm.invoke("hi", vl_enable_image_hw_output=True)
    parameters = dashscope_emulator.requests[0].json["parameters"]
    assert parameters["vl_high_resolution_images"] is True
    assert parameters["vl_enable_image_hw_output"] is True

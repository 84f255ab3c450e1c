"""Local media through the client: policy -> OSS upload -> multimodal chat, against the emulator."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest
from media_testkit import png

from dashscope_ws import DashScopeClient
from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.uploads import UploadTooLargeError

MODES = pytest.mark.parametrize("mode", ["chat", "achat", "stream", "astream"])


def ask(mode: str, client: DashScopeClient, messages: list[dict[str, Any]], **kwargs: Any) -> str:
    if mode == "chat":
        return client.chat(messages, **kwargs).text
    if mode == "stream":
        with client.stream_chat(messages, **kwargs) as stream:
            return stream.result().text

    async def main() -> str:
        try:
            if mode == "achat":
                return (await client.achat(messages, **kwargs)).text
            async with client.astream_chat(messages, **kwargs) as stream:
                return (await stream.aresult()).text
        finally:
            await client.aclose()

    return asyncio.run(main())


@MODES
def test_a_local_png_goes_through_policy_upload_and_chat(
    dashscope_emulator: Emulator, tmp_path: Path, mode: str
) -> None:
    image = tmp_path / "chart.png"
    image.write_bytes(png(37, 21))
    client = DashScopeClient(
        api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=dashscope_emulator.base_url
    )
    messages = [{"role": "user", "content": [{"image": image.as_uri()}, {"text": "Size?"}]}]
    assert "1 image (37x21)" in ask(mode, client, messages, model="qwen-vl-plus")
    log = dashscope_emulator.requests
    assert [r.path.rsplit("/", 1)[-1] for r in log] == ["uploads", "oss-upload", "generation"]
    policy, upload, chat = log
    assert policy.headers["X-DashScope-WorkSpace"] == SUB_WORKSPACE
    assert "Authorization" not in upload.headers  # OSS gets the signed policy, never the key
    assert chat.headers["X-DashScope-OssResourceResolve"] == "enable"
    assert chat.json["input"]["messages"][0]["content"][0]["image"].startswith("oss://")


@MODES
def test_paths_bytes_and_data_urls_each_uploaded_once_per_call(
    dashscope_emulator: Emulator, tmp_path: Path, mode: str
) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(png(8, 4))
    data_url = "data:image/png;base64," + base64.b64encode(png(5, 6)).decode()
    parts = [
        {"image": image}, {"image": image}, {"image": png(3, 2)},
        {"type": "image_url", "image_url": {"url": data_url}}, {"text": "How many?"},
    ]  # fmt: skip
    client = DashScopeClient(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url)
    text = ask(mode, client, [{"role": "user", "content": parts}], model="qwen-vl-max")
    assert "4 images (8x4, 8x4, 3x2, 5x6)" in text
    names = [r.path.rsplit("/", 1)[-1] for r in dashscope_emulator.requests]
    assert names.count("oss-upload") == 3  # the same Path twice is uploaded once
    assert names[-1] == "generation"


def test_remote_urls_are_sent_as_they_are(dashscope_emulator: Emulator) -> None:
    client = DashScopeClient(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url)
    parts = [{"image": "https://example.com/cat.png"}, {"text": "?"}]
    client.chat([{"role": "user", "content": parts}], model="qwen-vl-plus")
    (chat,) = dashscope_emulator.requests
    assert "X-DashScope-OssResourceResolve" not in chat.headers


@pytest.mark.parametrize("asynchronous", [False, True])
def test_upload_file(dashscope_emulator: Emulator, tmp_path: Path, asynchronous: bool) -> None:
    image = tmp_path / "x.png"
    image.write_bytes(png(9, 9))
    client = DashScopeClient(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url)
    if asynchronous:
        url = asyncio.run(client.aupload_file(image, model="qwen-vl-plus"))
    else:
        url = client.upload_file(str(image), model="qwen-vl-plus")
    assert url.startswith("oss://")
    assert url.endswith("/x.png")
    # An oss:// reference the caller passes on is sent as it is, with the resolve header
    # (set on the client here): the emulator reads the uploaded pixels back.
    reader = DashScopeClient(
        api_key=MAIN_KEY, base_url=dashscope_emulator.base_url,
        default_headers={"X-DashScope-OssResourceResolve": "enable"},
    )  # fmt: skip
    text = reader.chat([{"role": "user", "content": [{"image": url}]}], model="qwen-vl-plus").text
    assert "1 image (9x9)" in text


@MODES
def test_the_policy_size_limit_is_enforced_before_sending(
    dashscope_emulator: Emulator, mode: str
) -> None:
    dashscope_emulator.uploads.max_file_size_mb = 0.00001  # 10 bytes
    client = DashScopeClient(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url)
    messages = [{"role": "user", "content": [{"image": png(64, 64)}, {"text": "?"}]}]
    with pytest.raises(UploadTooLargeError):
        ask(mode, client, messages, model="qwen-vl-plus")
    assert [r.path.rsplit("/", 1)[-1] for r in dashscope_emulator.requests] == ["uploads"]


@MODES
def test_an_unsupported_model_is_refused_before_any_upload(
    dashscope_emulator: Emulator, mode: str
) -> None:
    client = DashScopeClient(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url)
    messages = [{"role": "user", "content": [{"image": png(4, 4)}]}]
    with pytest.raises(ValueError, match="qwen-omni-turbo"):
        ask(mode, client, messages, model="qwen-omni-turbo")
    assert dashscope_emulator.requests == []

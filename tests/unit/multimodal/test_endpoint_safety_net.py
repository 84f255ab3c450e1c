"""The client's wrong-endpoint safety net and ``endpoint=`` override, on every chat path."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from dashscope_ws import DashScopeClient, models
from dashscope_ws.emulator import MAIN_KEY, Emulator
from dashscope_ws.errors import BadRequestError, UnsupportedModelError
from dashscope_ws.models import MULTIMODAL_GENERATION_PATH, TEXT_GENERATION_PATH
from dashscope_ws.transports import AsyncMockTransport, MockRequest, MockResponse, MockTransport

USER = [{"role": "user", "content": "Hello"}]
MODES = ["chat", "achat", "stream", "astream"]
URL_ERROR = {
    "code": "InvalidParameter",
    "message": "url error, please check url！",
    "request_id": "r1",
}
REPLY = {
    "output": {
        "choices": [{"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]
    },
    "request_id": "r2",
}


def call(mode: str, client: DashScopeClient, **kwargs: Any) -> str:
    """Run one chat in ``mode``; return the reply text."""
    if mode == "chat":
        return client.chat(USER, **kwargs).text
    if mode == "stream":
        with client.stream_chat(USER, **kwargs) as stream:
            return "".join(chunk.text for chunk in stream)

    async def main() -> str:
        try:
            if mode == "achat":
                return (await client.achat(USER, **kwargs)).text
            async with client.astream_chat(USER, **kwargs) as stream:
                return "".join([chunk.text async for chunk in stream])
        finally:
            await client.aclose()

    return asyncio.run(main())


class Service:
    """A mock service serving ``model`` on ``lives_on`` only; records each request's path."""

    def __init__(self, lives_on: str) -> None:
        self.lives_on = lives_on
        self.paths: list[str] = []

    def __call__(self, request: MockRequest) -> MockResponse:
        path = "/" + request.url.split("/api/v1/", 1)[1]
        self.paths.append(path.lstrip("/"))
        streamed = request.headers.get("X-DashScope-SSE") == "enable"
        if path.lstrip("/") != self.lives_on:
            return MockResponse(400, {"content-type": "application/json"}, URL_ERROR)
        return MockResponse.sse([REPLY]) if streamed else MockResponse(200, {}, REPLY)

    def client(self) -> DashScopeClient:
        return DashScopeClient(
            api_key="sk-test",
            base_url="https://dashscope.example",
            transport=MockTransport(self),
            async_transport=AsyncMockTransport(self),
        )


@pytest.mark.parametrize("mode", MODES)
def test_a_url_error_is_retried_once_on_the_other_path_and_remembered(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    models.register_model("acme-new", endpoint="text")  # the registry is wrong about it
    service = Service(MULTIMODAL_GENERATION_PATH)
    with caplog.at_level(logging.WARNING, logger="dashscope_ws"):
        assert call(mode, service.client(), model="acme-new-1") == "ok"
    assert service.paths == [TEXT_GENERATION_PATH, MULTIMODAL_GENERATION_PATH]
    assert any("retrying once on" in record.getMessage() for record in caplog.records)
    # Remembered for the process: the next call goes straight to the right path.
    assert call(mode, service.client(), model="acme-new-1") == "ok"
    assert service.paths[2:] == [MULTIMODAL_GENERATION_PATH]


@pytest.mark.parametrize("mode", MODES)
def test_the_safety_net_retries_exactly_once(mode: str) -> None:
    service = Service("nowhere")  # both paths answer url error
    with pytest.raises(BadRequestError, match="url error"):
        call(mode, service.client(), model="qwen-plus")
    assert service.paths == [TEXT_GENERATION_PATH, MULTIMODAL_GENERATION_PATH]
    assert models.generation_endpoint("qwen-plus") == TEXT_GENERATION_PATH  # nothing learned


@pytest.mark.parametrize("mode", MODES)
def test_an_explicit_endpoint_is_never_second_guessed(mode: str) -> None:
    service = Service(MULTIMODAL_GENERATION_PATH)
    assert call(mode, service.client(), model="qwen-plus", endpoint="multimodal") == "ok"
    assert service.paths == [MULTIMODAL_GENERATION_PATH]
    with pytest.raises(BadRequestError, match="url error"):
        call(mode, service.client(), model="qwen-vl-plus", endpoint="text")
    assert service.paths[1:] == [TEXT_GENERATION_PATH]


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_never_after_output(mode: str) -> None:
    paths: list[str] = []
    error_event = {**URL_ERROR, "status_code": 400}

    def handler(request: MockRequest) -> MockResponse:
        paths.append(request.url)
        first = {"output": {"choices": [{"message": {"role": "assistant", "content": "par"}}]}}
        chunks = MockResponse.sse([first]).chunks
        error = (
            f"id:2\nevent:error\n:HTTP_STATUS/400\ndata:{__import__('json').dumps(error_event)}\n\n"
        )
        return MockResponse(
            200, {"content-type": "text/event-stream"}, chunks=[*chunks, error.encode()]
        )

    client = DashScopeClient(
        api_key="sk-test", base_url="https://dashscope.example",
        transport=MockTransport(handler), async_transport=AsyncMockTransport(handler),
    )  # fmt: skip
    with pytest.raises(BadRequestError, match="url error"):
        call(mode, client, model="qwen-plus")
    assert len(paths) == 1


@pytest.mark.parametrize("mode", MODES)
def test_the_emulator_routes_a_misregistered_vl_model(
    dashscope_emulator: Emulator, mode: str
) -> None:
    models.register_model("qwen-vl-plus", endpoint="text")
    client = DashScopeClient(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url)
    assert call(mode, client, model="qwen-vl-plus")
    paths = [r.path for r in dashscope_emulator.requests]
    assert [p.rsplit("/", 1)[0].endswith("text-generation") for p in paths] == [True, False]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model", ["qwen-omni-turbo", "qwen3-omni-flash"])
def test_omni_is_refused_before_any_request(mode: str, model: str) -> None:
    service = Service(MULTIMODAL_GENERATION_PATH)
    with pytest.raises(UnsupportedModelError, match=model) as caught:
        call(mode, service.client(), model=model)
    assert "OpenAI-compatible" in caught.value.reason
    assert service.paths == []

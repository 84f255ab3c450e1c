"""DashScope LLM against the emulator, sync and async: chat, streams, completion,
per-call options, reasoning, errors and retries, with wire-level assertions."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
)

from dashscope_ws.emulator import MAIN_KEY, OTHER_WORKSPACE, SUB_KEY, Emulator, ScriptedReply
from dashscope_ws.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    InternalServerError,
    PermissionDeniedError,
    RateLimitError,
)
from llamaindex_dashscope_ws import DashScope

MODES = pytest.mark.parametrize("mode", ["sync", "async"])
HELLO = [ChatMessage(role="user", content="Hello there")]


async def chat(llm: DashScope, mode: str, messages: list[ChatMessage], **kw: Any) -> ChatResponse:
    if mode == "sync":
        return llm.chat(messages, **kw)
    return await llm.achat(messages, **kw)


async def stream(
    llm: DashScope, mode: str, messages: list[ChatMessage], **kw: Any
) -> list[ChatResponse]:
    if mode == "sync":
        return list(llm.stream_chat(messages, **kw))
    return [r async for r in await llm.astream_chat(messages, **kw)]


async def complete(llm: DashScope, mode: str, prompt: str, **kw: Any) -> str:
    if mode == "sync":
        return llm.complete(prompt, **kw).text
    return (await llm.acomplete(prompt, **kw)).text


async def stream_complete(llm: DashScope, mode: str, prompt: str, **kw: Any) -> list[Any]:
    if mode == "sync":
        return list(llm.stream_complete(prompt, **kw))
    return [r async for r in await llm.astream_complete(prompt, **kw)]


@MODES
async def test_chat(llm: DashScope, dashscope_emulator: Emulator, mode: str) -> None:
    llm.temperature = 0.3
    response = await chat(llm, mode, HELLO)
    assert "Hello there" in (response.message.content or "")
    assert response.additional_kwargs["request_id"]
    assert response.raw["request_id"] == response.additional_kwargs["request_id"]
    assert response.additional_kwargs["usage"]["output_tokens"] > 0
    (request,) = dashscope_emulator.requests
    assert request.headers["x-dashscope-workspace"] == "ws-emu-sub"
    assert request.headers["Authorization"] == f"Bearer {SUB_KEY}"
    assert request.json["model"] == "qwen-plus"
    assert request.json["input"]["messages"] == [{"role": "user", "content": "Hello there"}]
    assert request.json["parameters"]["temperature"] == 0.3
    assert "max_tokens" not in request.json["parameters"]  # no hidden output cap


@MODES
async def test_stream_deltas_concatenate(
    llm: DashScope, dashscope_emulator: Emulator, mode: str
) -> None:
    full = (await chat(llm, mode, HELLO)).message.content
    responses = await stream(llm, mode, HELLO)
    assert len(responses) > 2
    assert "".join(r.delta or "" for r in responses) == responses[-1].message.content == full
    # Each response carries the cumulative message.
    assert [r.message.content for r in responses][1].startswith(responses[0].message.content or "")
    last = responses[-1]
    assert last.additional_kwargs["usage"]["total_tokens"] > 0
    assert last.raw["request_id"] == last.additional_kwargs["request_id"]
    assert dashscope_emulator.requests[-1].headers["X-DashScope-SSE"] == "enable"


@MODES
async def test_complete_and_stream_complete(llm: DashScope, mode: str) -> None:
    text = await complete(llm, mode, "Say hi")
    assert "Say hi" in text
    responses = await stream_complete(llm, mode, "Say hi")
    assert "".join(r.delta for r in responses) == responses[-1].text == text
    assert responses[-1].additional_kwargs["request_id"]
    so_far = ""
    for response in responses:  # each completion is cumulative (from the lazy chat responses)
        so_far += response.delta or ""
        assert response.text == so_far


@MODES
async def test_per_call_workspace_model_and_parameters_on_every_method(
    main_llm: DashScope, dashscope_emulator: Emulator, mode: str
) -> None:
    per_call = {"workspace": OTHER_WORKSPACE, "model": "qwen-max", "temperature": 0.9, "seed": 3}
    await chat(main_llm, mode, HELLO, **per_call)
    await stream(main_llm, mode, HELLO, **per_call)
    await complete(main_llm, mode, "hi", **per_call)
    await stream_complete(main_llm, mode, "hi", **per_call)
    assert len(dashscope_emulator.requests) == 4
    for request in dashscope_emulator.requests:
        assert request.headers["X-DashScope-WorkSpace"] == OTHER_WORKSPACE
        assert request.json["model"] == "qwen-max"
        assert request.json["parameters"]["temperature"] == 0.9
        assert request.json["parameters"]["seed"] == 3
    assert (main_llm.workspace, main_llm.model, main_llm.temperature) == (None, "qwen-plus", None)
    await chat(main_llm, mode, HELLO)
    assert "X-DashScope-WorkSpace" not in dashscope_emulator.requests[-1].headers


@MODES
async def test_reasoning_separate_from_answer(llm: DashScope, mode: str) -> None:
    response = await chat(llm, mode, HELLO, enable_thinking=True)
    thinking = [b for b in response.message.blocks if isinstance(b, ThinkingBlock)]
    assert len(thinking) == 1
    assert thinking[0].content
    assert response.message.additional_kwargs["reasoning_content"] == thinking[0].content
    assert thinking[0].content not in (response.message.content or "")
    responses = await stream(llm, mode, HELLO, enable_thinking=True)
    deltas = "".join(r.additional_kwargs.get("thinking_delta", "") for r in responses)
    assert deltas == responses[-1].message.additional_kwargs["reasoning_content"]
    assert "".join(r.delta or "" for r in responses) == responses[-1].message.content


@MODES
@pytest.mark.parametrize(
    ("status", "code", "error_type"),
    [
        (400, "InvalidParameter", BadRequestError),
        (400, "DataInspectionFailed", ContentFilterError),
        (401, "InvalidApiKey", AuthenticationError),
        (429, "Throttling.RateQuota", RateLimitError),
        (500, "InternalError", InternalServerError),
    ],
)
async def test_scripted_errors_raise_typed(
    llm: DashScope,
    dashscope_emulator: Emulator,
    mode: str,
    status: int,
    code: str,
    error_type: type[APIStatusError],
) -> None:
    dashscope_emulator.enqueue(ScriptedReply.error(status, code, "scripted failure", times=2))
    with pytest.raises(error_type) as chat_error:
        await chat(llm, mode, HELLO)
    assert (chat_error.value.status_code, chat_error.value.code) == (status, code)
    assert chat_error.value.request_id
    with pytest.raises(error_type) as stream_error:
        await stream(llm, mode, HELLO)
    assert stream_error.value.code == code


@MODES
async def test_service_errors_raise_typed(
    llm: DashScope, dashscope_emulator: Emulator, mode: str
) -> None:
    with pytest.raises(PermissionDeniedError) as denied:
        await chat(llm, mode, HELLO, model="qwen-long")  # not granted to the sub workspace
    assert denied.value.code == "Model.AccessDenied"
    with pytest.raises(APIStatusError) as wrong_ws:
        await chat(llm, mode, HELLO, workspace=OTHER_WORKSPACE)  # sub key, foreign workspace
    assert wrong_ws.value.status_code in (401, 403)
    assert wrong_ws.value.hint


@MODES
async def test_error_mid_stream_raises(
    llm: DashScope, dashscope_emulator: Emulator, mode: str
) -> None:
    dashscope_emulator.enqueue(
        ScriptedReply.error(500, "InternalError", "boom mid-stream", error_after_chunks=1)
    )
    seen: list[ChatResponse] = []

    async def drain() -> None:
        if mode == "sync":
            seen.extend(llm.stream_chat(HELLO))
        else:
            async for response in await llm.astream_chat(HELLO):
                seen.append(response)

    with pytest.raises(InternalServerError, match="boom mid-stream"):
        await drain()
    assert len(seen) >= 1  # what arrived was delivered; the failure was not swallowed


@MODES
async def test_retry_after_429_then_success(dashscope_emulator: Emulator, mode: str) -> None:
    llm = DashScope(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url, max_retries=2)
    dashscope_emulator.enqueue(ScriptedReply.rate_limited(retry_after=0.01))
    response = await chat(llm, mode, HELLO)
    assert "Hello there" in (response.message.content or "")
    assert len(dashscope_emulator.requests) == 2
    no_retry = DashScope(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url, max_retries=0)
    dashscope_emulator.enqueue(ScriptedReply.rate_limited(retry_after=0.01))
    with pytest.raises(RateLimitError):
        await chat(no_retry, mode, HELLO)
    assert len(dashscope_emulator.requests) == 3
    for instance in (llm, no_retry):
        await instance.aclose()


_PICTURE = ChatMessage(
    role="user",
    blocks=[TextBlock(text="Describe"), ImageBlock(url="https://example.com/cat.png")],
)


@MODES
async def test_image_for_text_model_fails_before_the_request(
    llm: DashScope, dashscope_emulator: Emulator, mode: str
) -> None:
    with pytest.raises(ValueError, match="'qwen-plus' is text-only and cannot take image"):
        await chat(llm, mode, [_PICTURE])
    with pytest.raises(ValueError, match="text-only"):
        await stream(llm, mode, [_PICTURE])
    assert dashscope_emulator.requests == []


@MODES
async def test_content_is_routed_by_model(
    llm: DashScope, dashscope_emulator: Emulator, mode: str
) -> None:
    await chat(llm, mode, [_PICTURE], model="qwen-vl-plus")
    await chat(llm, mode, HELLO, model="qwen-vl-plus")
    await chat(
        llm, mode, [ChatMessage(role="user", blocks=[TextBlock(text="a"), TextBlock(text="b")])]
    )
    picture, text_to_vl, text_to_plus = dashscope_emulator.requests
    assert picture.path.endswith("multimodal-generation/generation")
    assert picture.json["input"]["messages"][0]["content"] == [
        {"text": "Describe"},
        {"image": "https://example.com/cat.png"},
    ]
    assert text_to_vl.json["input"]["messages"][0]["content"] == [{"text": "Hello there"}]
    assert text_to_plus.path.endswith("text-generation/generation")
    assert text_to_plus.json["input"]["messages"][0]["content"] == "a\nb"

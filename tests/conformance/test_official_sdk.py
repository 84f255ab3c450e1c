"""Fidelity: the official ``dashscope`` SDK, pointed at the emulator, parses its answers.

The SDK keeps process-global settings (``dashscope.base_http_api_url``, ``dashscope.api_key``);
``monkeypatch`` restores them after every test.
"""

from __future__ import annotations

import uuid
from http import HTTPStatus
from typing import Any

import dashscope  # a [dev] dependency: missing must fail, not skip
import pytest

from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator, ScriptedReply

MESSAGES = [{"role": "user", "content": "Tell me about otters"}]


@pytest.fixture
def sdk(dashscope_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setattr(dashscope, "base_http_api_url", dashscope_emulator.base_url)
    monkeypatch.setattr(dashscope, "api_key", None, raising=False)
    monkeypatch.setenv("DASHSCOPE_DISABLE_SDK_HEADERS", "1")
    return dashscope_emulator


def generation(**kwargs: Any) -> Any:
    kwargs.setdefault("api_key", MAIN_KEY)
    kwargs.setdefault("model", "qwen-plus")
    kwargs.setdefault("messages", MESSAGES)
    kwargs.setdefault("result_format", "message")
    return dashscope.Generation.call(**kwargs)


@pytest.mark.parametrize("identity", [(MAIN_KEY, None), (SUB_KEY, SUB_WORKSPACE)])
def test_generation_non_stream(sdk: Emulator, identity: tuple[str, str | None]) -> None:
    key, workspace = identity
    response = generation(api_key=key, workspace=workspace)
    assert response.status_code == HTTPStatus.OK
    message = response.output.choices[0].message
    assert message.role == "assistant"
    assert "otters" in message.content
    assert response.output.choices[0].finish_reason == "stop"
    assert response.usage.input_tokens == 4
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    uuid.UUID(response.request_id)
    sent = sdk.requests[-1]
    assert sent.json["model"] == "qwen-plus"
    assert sent.headers.get("X-DashScope-WorkSpace") == workspace


def test_generation_stream_incremental(sdk: Emulator) -> None:
    whole = generation()
    full = whole.output.choices[0].message.content
    chunks = list(generation(stream=True, incremental_output=True))
    assert len(chunks) >= 3
    assert all(c.status_code == HTTPStatus.OK for c in chunks)
    assert "".join(c.output.choices[0].message.content for c in chunks) == full
    assert chunks[-1].output.choices[0].finish_reason == "stop"
    assert chunks[-1].usage.output_tokens == whole.usage.output_tokens
    assert sdk.requests[-1].headers["X-DashScope-SSE"] == "enable"


def test_generation_stream_default_mode_with_workspace(sdk: Emulator) -> None:
    full = generation().output.choices[0].message.content
    chunks = list(generation(stream=True, api_key=SUB_KEY, workspace=SUB_WORKSPACE))
    # The SDK's default mode accumulates for the caller: the last chunk holds everything.
    assert chunks[-1].output.choices[0].message.content == full
    assert chunks[-1].output.choices[0].finish_reason == "stop"


def test_generation_thinking_stream(sdk: Emulator) -> None:
    chunks = list(
        generation(stream=True, incremental_output=True, enable_thinking=True, model="qwen3-32b")
    )
    reasoning = "".join(c.output.choices[0].message.reasoning_content or "" for c in chunks)
    content = "".join(c.output.choices[0].message.content for c in chunks)
    assert reasoning
    assert content


def test_generation_tool_call_stream(sdk: Emulator) -> None:
    sdk.enqueue(ScriptedReply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}]))
    chunks = list(generation(stream=True))
    final = chunks[-1].output.choices[0]
    assert final.finish_reason == "tool_calls"
    (call,) = final.message.tool_calls
    assert call["function"]["name"] == "get_weather"
    assert call["function"]["arguments"] == '{"city": "Paris"}'


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"api_key": "sk-wrong"}, 401, "InvalidApiKey"),
        ({"api_key": SUB_KEY}, 403, "Workspace.AccessDenied"),
        (
            {"api_key": SUB_KEY, "workspace": SUB_WORKSPACE, "model": "qwen-long"},
            403,
            "Model.AccessDenied",
        ),
        ({"model": "qwen-nonexistent"}, 400, "InvalidParameter"),
        ({"temperature": 3}, 400, "InvalidParameter"),
    ],
)
def test_generation_errors(sdk: Emulator, kwargs: dict[str, Any], status: int, code: str) -> None:
    response = generation(**kwargs)
    assert (response.status_code, response.code) == (status, code)
    assert response.message
    assert response.request_id


def test_stream_errors_before_and_during_the_stream(sdk: Emulator) -> None:
    sdk.enqueue(ScriptedReply.rate_limited(retry_after=1))
    (first,) = list(generation(stream=True, incremental_output=True))
    assert (first.status_code, first.code) == (429, "Throttling.RateQuota")
    sdk.enqueue(ScriptedReply(error_after_chunks=1, status=500, error_status_line=True))
    chunks = list(generation(stream=True, incremental_output=True))
    assert chunks[0].status_code == HTTPStatus.OK
    assert (chunks[-1].status_code, chunks[-1].code) == (500, "InternalError")


def test_text_embedding(sdk: Emulator) -> None:
    response = dashscope.TextEmbedding.call(
        model="text-embedding-v4",
        input=["hello world", "你好"],
        text_type="query",
        dimension=512,
        api_key=MAIN_KEY,
    )
    assert response.status_code == HTTPStatus.OK
    rows = response.output["embeddings"]
    assert [r["text_index"] for r in rows] == [0, 1]
    assert len(rows[0]["embedding"]) == 512
    assert response.usage["total_tokens"] == 4
    too_many = dashscope.TextEmbedding.call(
        model="text-embedding-v4", input=["x"] * 11, api_key=MAIN_KEY
    )
    assert (too_many.status_code, too_many.code) == (400, "InvalidParameter")


def test_text_rerank(sdk: Emulator) -> None:
    documents = ["Bananas are yellow.", "Otters are aquatic mammals.", "Rust is a language."]
    response = dashscope.TextReRank.call(
        model="gte-rerank-v2",
        query="Tell me about otters",
        documents=documents,
        top_n=2,
        return_documents=True,
        api_key=SUB_KEY,
        workspace=SUB_WORKSPACE,
    )
    assert response.status_code == HTTPStatus.OK
    results = response.output.results
    assert len(results) == 2
    # Item access: the SDK's dataclass default shadows attribute access to ``document``.
    assert results[0]["index"] == 1
    assert results[0]["document"]["text"] == documents[1]
    assert 0 < results[1]["relevance_score"] < results[0]["relevance_score"] < 1
    assert response.usage.total_tokens > 0


def test_application(sdk: Emulator) -> None:
    response = dashscope.Application.call(
        app_id="app-emu-agent", prompt="Tell me about otters", api_key=MAIN_KEY
    )
    assert response.status_code == HTTPStatus.OK
    assert "otters" in response.output.text
    chunks = list(
        dashscope.Application.call(
            app_id="app-emu-agent",
            prompt="Tell me about otters",
            api_key=MAIN_KEY,
            stream=True,
            incremental_output=True,
        )
    )
    assert "".join(c.output.text for c in chunks) == response.output.text


def test_tokenization(sdk: Emulator) -> None:
    response = dashscope.Tokenization.call(
        model="qwen-plus", messages=[{"role": "user", "content": "你好, world!"}], api_key=MAIN_KEY
    )
    assert response.status_code == HTTPStatus.OK
    assert response.output["tokens"] == ["你", "好", ",", "world", "!"]
    assert len(response.output["token_ids"]) == 5
    assert response.usage["input_tokens"] == 5
    assert sdk.requests[-1].path == "/api/v1/tokenizer"
    unknown = dashscope.Tokenization.call(model="qwen-nope", messages=MESSAGES, api_key=MAIN_KEY)
    assert (unknown.status_code, unknown.code) == (400, "InvalidParameter")

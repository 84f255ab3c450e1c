"""No key in the failures of the endpoints other than chat (issue 16, item 3).

``test_secrets.py`` scans chat and streamed chat on every error path; the other endpoints
share the transports but build their own requests and errors, so each is scanned here on a
401 and on a refused connection, sync and async: embeddings, rerank, apps (unary and
streamed), knowledge-base retrieval, granted models and quotas, and the LangChain and
LlamaIndex embedding classes on top of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from reliability_tools import exception_leaks, free_port

from dashscope_ws import DashScopeClient, DashScopeError, RetryPolicy
from dashscope_ws.emulator import Emulator

KEY = "sk-other-endpoints-must-not-leak-456"

SYNC: dict[str, Callable[[DashScopeClient], Any]] = {
    "embed": lambda c: c.embed(["a", "b"], model="text-embedding-v4"),
    "rerank": lambda c: c.rerank("q", ["a", "b"], model="gte-rerank-v2"),
    "app": lambda c: c.app_completion("app-emu-agent", prompt="hi"),
    "app-stream": lambda c: list(c.stream_app_completion("app-emu-agent", prompt="hi")),
    "retrieve": lambda c: c.retrieve("idx-emu-manual", "q"),
    "granted": lambda c: c.granted_models(),
    "quotas": lambda c: c.quotas("qwen-plus"),
}


async def _astream(stream: Any) -> list[Any]:
    return [chunk async for chunk in stream]


ASYNC: dict[str, Callable[[DashScopeClient], Any]] = {
    "embed": lambda c: c.aembed(["a", "b"], model="text-embedding-v4"),
    "rerank": lambda c: c.arerank("q", ["a", "b"], model="gte-rerank-v2"),
    "app": lambda c: c.aapp_completion("app-emu-agent", prompt="hi"),
    "app-stream": lambda c: _astream(c.astream_app_completion("app-emu-agent", prompt="hi")),
    "retrieve": lambda c: c.aretrieve("idx-emu-manual", "q"),
    "granted": lambda c: c.agranted_models(),
    "quotas": lambda c: c.aquotas("qwen-plus"),
}


def _raised(mode: str, client: DashScopeClient, name: str) -> BaseException:
    if mode == "sync":
        with client, pytest.raises(DashScopeError) as info:
            SYNC[name](client)
        return info.value

    async def go() -> BaseException:
        try:
            with pytest.raises(DashScopeError) as info:
                await ASYNC[name](client)
            return info.value
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("name", sorted(SYNC))
def test_no_key_on_401(name: str, mode: str, dashscope_emulator: Emulator) -> None:
    client = DashScopeClient(
        api_key=KEY, base_url=dashscope_emulator.base_url, retry_policy=RetryPolicy(0)
    )
    error = _raised(mode, client, name)
    assert getattr(error, "status_code", None) == 401
    assert exception_leaks(error, KEY) == []


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("name", sorted(SYNC))
def test_no_key_on_connection_refused(name: str, mode: str) -> None:
    client = DashScopeClient(
        api_key=KEY, base_url=f"http://127.0.0.1:{free_port()}/api/v1", retry_policy=RetryPolicy(0)
    )
    error = _raised(mode, client, name)
    assert type(error).__name__ == "APIConnectionError"
    assert exception_leaks(error, KEY) == []


def _adapter_calls(base_url: str) -> dict[str, Callable[[], Any]]:
    from langchain_dashscope_ws import DashScopeEmbeddings
    from llamaindex_dashscope_ws import DashScopeEmbedding

    settings: dict[str, Any] = {"api_key": KEY, "base_url": base_url, "max_retries": 0}
    lc = DashScopeEmbeddings(**settings)
    li = DashScopeEmbedding(**settings)
    return {
        "lc-embed": lambda: lc.embed_documents(["a", "b"]),
        "lc-aembed": lambda: asyncio.run(lc.aembed_documents(["a", "b"])),
        "li-embed": lambda: li.get_text_embedding_batch(["a", "b"]),
        "li-aembed": lambda: asyncio.run(li.aget_text_embedding_batch(["a", "b"])),
    }


@pytest.mark.parametrize("entry", ["lc-embed", "lc-aembed", "li-embed", "li-aembed"])
def test_no_key_through_the_embedding_adapters(entry: str, dashscope_emulator: Emulator) -> None:
    with pytest.raises(DashScopeError) as info:
        _adapter_calls(dashscope_emulator.base_url)[entry]()
    assert getattr(info.value, "status_code", None) == 401
    assert exception_leaks(info.value, KEY) == []

"""Issue 16 through the app and knowledge-base classes of both frameworks.

``test_adapter_secrets_and_deadlines.py`` runs the chat models; the app engines and
retrievers add their own frames (LlamaIndex's query and chat engines, the chat engine's
history thread, LangChain's retriever machinery), each holding the object whose settings
hold the key. Every entry point must raise without the key in the exception chain, its
frames' locals or its pickle, and must be cut off by ``total_timeout`` on a trickling server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from reliability_tools import exception_leaks, free_port, raw_server
from test_adapter_secrets_and_deadlines import DEADLINE, _trickling

from dashscope_ws import APITimeoutError, DashScopeError
from dashscope_ws.emulator import Emulator

WRONG_KEY = "sk-wrong-app-key-that-must-not-leak-789"
APP = "app-emu-rag"
INDEX = "idx-emu-manual"


def _li_query(streaming: bool, use_async: bool) -> Callable[[dict[str, Any]], Any]:
    def run(settings: dict[str, Any]) -> Any:
        from llamaindex_dashscope_ws import DashScopeAppQueryEngine

        engine = DashScopeAppQueryEngine(APP, streaming=streaming, **settings)
        if not use_async:
            response = engine.query("hi")
            return list(response.response_gen) if streaming else response

        async def main() -> Any:
            async with engine:
                response = await engine.aquery("hi")
                if streaming:
                    return [delta async for delta in response.async_response_gen()]
                return response

        return asyncio.run(main())

    return run


def _li_chat(mode: str) -> Callable[[dict[str, Any]], Any]:
    def run(settings: dict[str, Any]) -> Any:
        from llamaindex_dashscope_ws import DashScopeAppChatEngine

        engine = DashScopeAppChatEngine(APP, **settings)
        if mode == "chat":
            return engine.chat("hi")
        if mode == "stream_chat":
            return list(engine.stream_chat("hi").response_gen)

        async def main() -> Any:
            async with engine:
                if mode == "achat":
                    return await engine.achat("hi")
                response = await engine.astream_chat("hi")
                return [delta async for delta in response.async_response_gen()]

        return asyncio.run(main())

    return run


def _li_retrieve(use_async: bool) -> Callable[[dict[str, Any]], Any]:
    def run(settings: dict[str, Any]) -> Any:
        from llamaindex_dashscope_ws import DashScopeKnowledgeBaseRetriever

        retriever = DashScopeKnowledgeBaseRetriever(INDEX, **settings)
        if not use_async:
            return retriever.retrieve("hi")

        async def main() -> Any:
            async with retriever:
                return await retriever.aretrieve("hi")

        return asyncio.run(main())

    return run


def _lc_app(mode: str) -> Callable[[dict[str, Any]], Any]:
    def run(settings: dict[str, Any]) -> Any:
        from langchain_dashscope_ws import ChatDashScopeApp

        app = ChatDashScopeApp(app_id=APP, **settings)
        if mode == "invoke":
            return app.invoke("hi")
        if mode == "stream":
            return list(app.stream("hi"))

        async def main() -> Any:
            async with app:
                if mode == "ainvoke":
                    return await app.ainvoke("hi")
                return [chunk async for chunk in app.astream("hi")]

        return asyncio.run(main())

    return run


def _lc_retrieve(use_async: bool) -> Callable[[dict[str, Any]], Any]:
    def run(settings: dict[str, Any]) -> Any:
        from langchain_dashscope_ws import DashScopeKnowledgeBaseRetriever

        retriever = DashScopeKnowledgeBaseRetriever(index_id=INDEX, **settings)
        if not use_async:
            return retriever.invoke("hi")

        async def main() -> Any:
            async with retriever:
                return await retriever.ainvoke("hi")

        return asyncio.run(main())

    return run


ENTRIES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "li-query": _li_query(streaming=False, use_async=False),
    "li-aquery": _li_query(streaming=False, use_async=True),
    "li-stream-query": _li_query(streaming=True, use_async=False),
    "li-astream-query": _li_query(streaming=True, use_async=True),
    "li-chat": _li_chat("chat"),
    "li-achat": _li_chat("achat"),
    "li-stream_chat": _li_chat("stream_chat"),
    "li-astream_chat": _li_chat("astream_chat"),
    "li-retrieve": _li_retrieve(use_async=False),
    "li-aretrieve": _li_retrieve(use_async=True),
    "lc-app-invoke": _lc_app("invoke"),
    "lc-app-ainvoke": _lc_app("ainvoke"),
    "lc-app-stream": _lc_app("stream"),
    "lc-app-astream": _lc_app("astream"),
    "lc-retrieve": _lc_retrieve(use_async=False),
    "lc-aretrieve": _lc_retrieve(use_async=True),
}


def _raised(entry: str, **settings: Any) -> BaseException:
    try:
        ENTRIES[entry]({"max_retries": 0, **settings})
    except Exception as error:
        return error
    raise AssertionError("nothing was raised")


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_no_key_on_401(entry: str, dashscope_emulator: Emulator) -> None:
    error = _raised(entry, api_key=WRONG_KEY, base_url=dashscope_emulator.base_url)
    assert getattr(error, "status_code", None) == 401, repr(error)
    assert exception_leaks(error, WRONG_KEY) == []


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_no_key_on_connection_refused(entry: str) -> None:
    error = _raised(entry, api_key=WRONG_KEY, base_url=f"http://127.0.0.1:{free_port()}")
    assert "ConnectionError" in type(error).__name__, repr(error)
    assert exception_leaks(error, WRONG_KEY) == []


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_a_trickling_server_is_cut_off(entry: str) -> None:
    with raw_server(_trickling) as port:
        started = time.monotonic()
        error = _raised(
            entry,
            api_key=WRONG_KEY,
            base_url=f"http://127.0.0.1:{port}",
            timeout=10,
            total_timeout=DEADLINE,
        )
        elapsed = time.monotonic() - started
    assert isinstance(error, APITimeoutError), repr(error)
    assert isinstance(error, DashScopeError)
    # A bound on behaviour (the call ended because of the deadline), not a speed test.
    assert elapsed < 4 * DEADLINE

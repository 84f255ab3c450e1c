"""Issue 16 through the adapters: no key in tracebacks or pickles, slow servers cut off.

``test_secrets.py`` and ``test_deadlines.py`` drive ``DashScopeClient``; the adapters add
their own frames (pydantic models, langchain-core's callback machinery, LlamaIndex's
dispatcher) and LangChain re-raises every core error as its own class, so each error path
of the issue is run again through every chat entry point of both frameworks (LangChain:
``ChatDashScope`` and ``Tongyi``; LlamaIndex: ``DashScope``): sync, async,
streamed and async-streamed. The same entry points meet a server that trickles one byte
every 0.25 s and must end with ``APITimeoutError`` once ``total_timeout`` has passed.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from reliability_tools import exception_leaks, free_port, raw_server, read_request, trickle

from dashscope_ws import APITimeoutError, DashScopeError
from dashscope_ws.emulator import MAIN_KEY, Emulator
from dashscope_ws.emulator.script import ScriptedReply

WRONG_KEY = "sk-wrong-adapter-key-that-must-not-leak-456"
ENTRIES = ["lc-invoke", "lc-ainvoke", "lc-stream", "lc-astream",
           "tongyi-invoke", "tongyi-ainvoke", "tongyi-stream", "tongyi-astream",
           "li-chat", "li-achat", "li-stream_chat", "li-astream_chat"]  # fmt: skip
STREAM_ENTRIES = [entry for entry in ENTRIES if "stream" in entry]


def _model(entry: str, settings: dict[str, Any]) -> Any:
    settings = {"model": "qwen-plus", "max_retries": 0, **settings}
    if entry.startswith("lc-"):
        from langchain_dashscope_ws import ChatDashScope

        return ChatDashScope(**settings)
    if entry.startswith("tongyi-"):
        from langchain_dashscope_ws import Tongyi

        return Tongyi(**settings)
    from llamaindex_dashscope_ws import DashScope

    return DashScope(**settings)


async def _adrain(iterator: Any) -> None:
    async for _ in iterator:
        pass


def _call(entry: str, model: Any) -> Callable[[], Any]:
    if entry.startswith(("lc-", "tongyi-")):  # both LangChain classes take a string
        name = entry.split("-", 1)[1]
        if name == "stream":
            return lambda: list(model.stream("Hello"))
        if name == "astream":
            return lambda: asyncio.run(_adrain(model.astream("Hello")))
        return lambda: (
            model.invoke("Hello") if name == "invoke" else asyncio.run(model.ainvoke("Hello"))
        )
    from llama_index.core.llms import ChatMessage

    messages = [ChatMessage(role="user", content="Hello")]
    name = entry[3:]

    async def astream() -> None:
        await _adrain(await model.astream_chat(messages))

    calls: dict[str, Callable[[], Any]] = {
        "chat": lambda: model.chat(messages),
        "achat": lambda: asyncio.run(model.achat(messages)),
        "stream_chat": lambda: list(model.stream_chat(messages)),
        "astream_chat": lambda: asyncio.run(astream()),
    }
    return calls[name]


def adapter_raised(entry: str, **settings: Any) -> BaseException:
    """Run ``entry`` on an adapter built with ``settings`` and return what it raised."""
    try:
        _call(entry, _model(entry, settings))()
    except Exception as error:
        return error
    raise AssertionError("nothing was raised")


# --------------------------------------------------------------------------- secrets

SCRIPTS: dict[str, tuple[ScriptedReply, dict[str, Any]]] = {
    "400": (ScriptedReply(status=400), {}),
    "429": (ScriptedReply.rate_limited(retry_after=0), {}),
    "5xx": (ScriptedReply(status=503), {}),
    "read timeout": (ScriptedReply(delay_before_first_byte=2.0), {"timeout": 0.3}),
}
STREAM_SCRIPTS: dict[str, ScriptedReply] = {
    "cut stream": ScriptedReply(text="a b c d e f", drop_after_chunks=2),
    "mid-stream error": ScriptedReply(text="a b c d", error_after_chunks=1),
}


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("case", sorted(SCRIPTS))
def test_no_key_in_emulated_error_paths(
    entry: str, case: str, dashscope_emulator: Emulator
) -> None:
    script, settings = SCRIPTS[case]
    dashscope_emulator.enqueue(script)
    error = adapter_raised(
        entry, api_key=MAIN_KEY, base_url=dashscope_emulator.base_url, **settings
    )
    assert isinstance(error, DashScopeError), repr(error)
    assert exception_leaks(error, MAIN_KEY) == []


@pytest.mark.parametrize("entry", STREAM_ENTRIES)
@pytest.mark.parametrize("case", sorted(STREAM_SCRIPTS))
def test_no_key_in_broken_streams(entry: str, case: str, dashscope_emulator: Emulator) -> None:
    dashscope_emulator.enqueue(STREAM_SCRIPTS[case])
    error = adapter_raised(entry, api_key=MAIN_KEY, base_url=dashscope_emulator.base_url)
    assert isinstance(error, DashScopeError), repr(error)
    assert exception_leaks(error, MAIN_KEY) == []


@pytest.mark.parametrize("entry", ENTRIES)
def test_no_key_on_401(entry: str, dashscope_emulator: Emulator) -> None:
    error = adapter_raised(entry, api_key=WRONG_KEY, base_url=dashscope_emulator.base_url)
    assert getattr(error, "status_code", None) == 401
    assert exception_leaks(error, WRONG_KEY) == []


@pytest.mark.parametrize("entry", ENTRIES)
def test_no_key_when_the_key_is_refused(entry: str) -> None:
    # A trailing "\r" (a Windows .env file): refused when the client is built, and the
    # mostly real key is in no frame of the traceback (LangChain hands it over in clear).
    error = adapter_raised(entry, api_key=WRONG_KEY + "\r", base_url="http://127.0.0.1:9")
    assert "cannot be sent" in str(error), repr(error)
    assert exception_leaks(error, WRONG_KEY) == []


@pytest.mark.parametrize("entry", ENTRIES)
def test_no_key_on_connection_refused(entry: str) -> None:
    error = adapter_raised(entry, api_key=WRONG_KEY, base_url=f"http://127.0.0.1:{free_port()}")
    assert "ConnectionError" in type(error).__name__, repr(error)
    assert exception_leaks(error, WRONG_KEY) == []


@pytest.mark.parametrize("entry", ENTRIES)
def test_no_key_on_dns_failure(entry: str) -> None:
    # .invalid never resolves (RFC 6761): the failure is local, nothing reaches a network.
    error = adapter_raised(
        entry,
        api_key=WRONG_KEY,
        base_url="https://nonexistent.invalid",
        trust_env=False,
        connect_timeout=2,
    )
    assert isinstance(error, DashScopeError), repr(error)
    assert exception_leaks(error, WRONG_KEY) == []


# --------------------------------------------------------------------------- deadlines

DEADLINE = 1.0


def _trickling(connection: socket.socket) -> None:
    """Headers, then one byte at a time of a body (or stream) that never completes."""
    head = read_request(connection)
    sse = b"x-dashscope-sse" in head.lower()
    kind = b"text/event-stream" if sse else b"application/json"
    length = b"" if sse else b"Content-Length: 1000\r\n"
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: " + kind + b"\r\n" + length + b"\r\n")
    trickle(connection, b": keep-alive that never becomes an event\n" * 20, 0.25)


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_trickling_server_is_cut_off_through_the_adapters(entry: str) -> None:
    with raw_server(_trickling) as port:
        started = time.monotonic()
        # The gap timeout (10 s) never fires: a byte comes every 0.25 s. Only the total can.
        error = adapter_raised(
            entry,
            api_key=WRONG_KEY,
            base_url=f"http://127.0.0.1:{port}",
            timeout=10,
            total_timeout=DEADLINE,
        )
        elapsed = time.monotonic() - started
    assert isinstance(error, APITimeoutError), repr(error)
    # A bound on behaviour (the call ended because of the deadline), not a speed test.
    assert elapsed < 4 * DEADLINE

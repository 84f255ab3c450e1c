"""The API key never shows in tracebacks' frame locals, exception chains, pickles or logs."""

from __future__ import annotations

import asyncio
import logging
import pickle
import socket
from typing import Any

import pytest
from reliability_tools import exception_leaks, free_port, raised, raw_server, read_request

from dashscope_ws import DashScopeClient, DashScopeError, RetryPolicy
from dashscope_ws.config import ClientConfig
from dashscope_ws.emulator import MAIN_KEY, Emulator
from dashscope_ws.emulator.script import ScriptedReply
from dashscope_ws.http import HTTPRequest, MaskedHeader

MODES = pytest.mark.parametrize("mode", ["sync", "async"])
NO_RETRY = RetryPolicy(0)
WRONG_KEY = "sk-wrong-key-that-must-not-leak-123"


def _emulated(emu: Emulator, **settings: Any) -> DashScopeClient:
    settings.setdefault("api_key", MAIN_KEY)
    return DashScopeClient(base_url=emu.base_url, retry_policy=NO_RETRY, **settings)


SCRIPTS: dict[str, tuple[ScriptedReply | None, str, dict[str, Any]]] = {
    "400": (ScriptedReply(status=400), "chat", {}),
    "429": (ScriptedReply.rate_limited(retry_after=0), "chat", {}),
    "5xx": (ScriptedReply(status=503), "chat", {}),
    "read timeout": (ScriptedReply(delay_before_first_byte=2.0), "chat", {"timeout": 0.3}),
    "cut stream": (ScriptedReply(text="a b c d e f", drop_after_chunks=2), "stream_chat", {}),
    "mid-stream error": (ScriptedReply(text="a b c d", error_after_chunks=1), "stream_chat", {}),
}


@MODES
@pytest.mark.parametrize("case", sorted(SCRIPTS))
def test_no_key_in_emulated_error_paths(mode: str, case: str, dashscope_emulator: Emulator) -> None:
    script, method, settings = SCRIPTS[case]
    if script is not None:
        dashscope_emulator.enqueue(script)
    error = raised(mode, _emulated(dashscope_emulator, **settings), method)
    assert isinstance(error, DashScopeError), error
    assert exception_leaks(error, MAIN_KEY) == []


@MODES
def test_no_key_on_401(mode: str, dashscope_emulator: Emulator) -> None:
    error = raised(mode, _emulated(dashscope_emulator, api_key=WRONG_KEY), "chat")
    assert getattr(error, "status_code", None) == 401
    assert exception_leaks(error, WRONG_KEY) == []


@MODES
def test_no_key_on_connection_refused(mode: str) -> None:
    client = DashScopeClient(
        api_key=WRONG_KEY, base_url=f"http://127.0.0.1:{free_port()}", retry_policy=NO_RETRY
    )
    error = raised(mode, client, "chat")
    assert type(error).__name__ == "APIConnectionError"
    assert exception_leaks(error, WRONG_KEY) == []


@MODES
def test_no_key_on_dns_failure(mode: str) -> None:
    # .invalid never resolves (RFC 6761): the failure is local, nothing reaches a network.
    client = DashScopeClient(
        api_key=WRONG_KEY,
        base_url="https://nonexistent.invalid",
        retry_policy=NO_RETRY,
        trust_env=False,
        connect_timeout=2,
    )
    error = raised(mode, client, "chat")
    assert isinstance(error, DashScopeError)
    assert exception_leaks(error, WRONG_KEY) == []


@MODES
def test_no_key_when_the_server_hangs_up_before_answering(mode: str) -> None:
    def hang_up(connection: socket.socket) -> None:
        read_request(connection)
        connection.shutdown(socket.SHUT_RDWR)

    with raw_server(hang_up) as port:
        client = DashScopeClient(
            api_key=WRONG_KEY, base_url=f"http://127.0.0.1:{port}", retry_policy=NO_RETRY
        )
        error = raised(mode, client, "chat")
    assert isinstance(error, DashScopeError)
    assert exception_leaks(error, WRONG_KEY) == []


def test_key_that_cannot_be_sent_is_refused_without_echo() -> None:
    key = "sk-abc\u200bdef"
    with pytest.raises(ValueError, match="cannot be sent") as info:
        DashScopeClient(api_key=key, base_url="http://127.0.0.1:9")
    assert "sk-abc" not in str(info.value)
    assert exception_leaks(info.value, "sk-abc") == []


# A key refused for a stray character is mostly the real key: no frame may hold it.
REFUSED = "sk-refused-but-real-123"


def test_a_refused_environment_key_is_in_no_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", REFUSED + "\r")  # a Windows .env file
    with pytest.raises(ValueError, match="cannot be sent") as info:
        DashScopeClient(base_url="http://127.0.0.1:9")
    assert exception_leaks(info.value, REFUSED) == []


def test_a_refused_plain_key_given_to_resolve_is_in_no_frame() -> None:
    with pytest.raises(ValueError, match="cannot be sent") as info:
        ClientConfig.resolve(api_key=REFUSED + "\u200b", env={})
    assert exception_leaks(info.value, REFUSED) == []


def test_request_and_header_maps_print_masked() -> None:
    client = DashScopeClient(api_key=WRONG_KEY, base_url="http://127.0.0.1:9")
    request = client._prepared(HTTPRequest("POST", "http://127.0.0.1:9/x", {}, {"a": 1}))
    headers = request.wire_headers()
    assert headers["Authorization"] == f"Bearer {WRONG_KEY}"  # the wire gets the real value
    assert isinstance(headers["Authorization"], MaskedHeader)
    for shown in (repr(request), repr(headers), str(headers), repr(client)):
        assert WRONG_KEY not in shown
    assert WRONG_KEY.encode() not in pickle.dumps(headers)
    assert WRONG_KEY.encode() not in pickle.dumps(request)


def test_the_async_transports_cached_authorization_prints_masked() -> None:
    # The aiohttp transport reuses one Authorization value per key: the reused one, and the
    # transport holding it, stay masked too (repr, pickle of the headers).
    client = DashScopeClient(api_key=WRONG_KEY, base_url="http://127.0.0.1:9")
    request = client._prepared(HTTPRequest("POST", "http://127.0.0.1:9/x", {}, {"a": 1}))
    transport = client._async
    first, second = transport._wire_headers(request), transport._wire_headers(request)
    assert second["Authorization"] is first["Authorization"]  # the cached path was taken
    assert second["Authorization"] == f"Bearer {WRONG_KEY}"
    for shown in (repr(first), repr(second), repr(vars(transport)), repr(transport)):
        assert WRONG_KEY not in shown
    assert WRONG_KEY.encode() not in pickle.dumps(second)


@MODES
def test_logs_never_carry_the_key(
    mode: str, dashscope_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    dashscope_emulator.enqueue(ScriptedReply(status=503), ScriptedReply(status=503))
    client = DashScopeClient(
        api_key=MAIN_KEY,
        base_url=dashscope_emulator.base_url,
        retry_policy=RetryPolicy(1, base_delay=0.01, jitter=0),
    )
    raised(mode, client, "chat")  # retried once, then fails
    hello = [{"role": "user", "content": "Hi"}]
    with client:
        if mode == "sync":
            client.chat(hello, model="qwen-plus")
            list(client.stream_chat(hello, model="qwen-plus"))
        else:

            async def succeed() -> None:
                await client.achat(hello, model="qwen-plus")
                async with client.astream_chat(hello, model="qwen-plus") as stream:
                    await stream.aresult()
                await client.aclose()

            asyncio.run(succeed())
    assert any("status=200" in r.getMessage() for r in caplog.records)
    records = [r for r in caplog.records if r.name.startswith("dashscope_ws")]
    assert any(r.levelno == logging.INFO and "retrying" in r.getMessage() for r in records)
    assert any(r.levelno == logging.DEBUG and "status=503" in r.getMessage() for r in records)
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert MAIN_KEY not in text


def test_the_emulator_request_log_never_prints_the_key(dashscope_emulator: Emulator) -> None:
    with _emulated(dashscope_emulator) as client:
        client.chat([{"role": "user", "content": "Hi"}], model="qwen-plus")
    (request,) = dashscope_emulator.requests
    assert request.headers["Authorization"] == f"Bearer {MAIN_KEY}"  # recorded, for tests
    assert MAIN_KEY not in repr(dashscope_emulator.requests) + str(request)


def test_a_key_from_the_environment_is_not_in_resolve_locals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", WRONG_KEY)
    with pytest.raises(ValueError, match="workspace") as info:
        DashScopeClient(workspace="not a workspace!")
    assert exception_leaks(info.value, WRONG_KEY) == []


def test_the_async_transport_does_not_import_requests() -> None:
    import ast
    from pathlib import Path

    import dashscope_ws._async as module

    tree = ast.parse(Path(module.__file__ or "").read_text("utf-8"))
    imported = {
        alias.name if isinstance(node, ast.Import) else (node.module or "")
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert not {name for name in imported if name.startswith(("requests", "urllib3", "_sync"))}

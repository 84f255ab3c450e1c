"""The dashscope-ws command line, against the embedded emulator and an explicit one."""

from __future__ import annotations

from typing import Any

import pytest

import dashscope_ws.emulator
from dashscope_ws.cli import main
from dashscope_ws.emulator import MAIN_KEY, Emulator
from dashscope_ws.emulator.script import ScriptedReply


def test_chat_without_a_key_uses_the_embedded_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "Say hello"]) == 0
    out, err = capsys.readouterr()
    assert out.strip()
    assert "emulator" in err
    assert "DASHSCOPE_API_KEY" in err
    assert "ws-emu-sub" in err


@pytest.mark.parametrize("extra", [[], ["--no-stream"]])
def test_chat_against_an_explicit_base_url(
    extra: list[str],
    dashscope_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", MAIN_KEY)
    monkeypatch.setenv("DASHSCOPE_BASE_URL", dashscope_emulator.base_url)
    dashscope_emulator.enqueue(ScriptedReply(text="Hi from the CLI test"))
    code = main(["chat", "Hello", "--model", "qwen-turbo", "--system", "Be brief", *extra])
    out, err = capsys.readouterr()
    assert code == 0
    assert out == "Hi from the CLI test\n"
    assert "emulator" not in err
    [request] = dashscope_emulator.requests
    assert request.json["model"] == "qwen-turbo"
    assert request.json["input"]["messages"] == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "Hello"},
    ]
    assert ("x-dashscope-sse" in request.headers) is (not extra)


def test_workspace_flag_is_sent(
    dashscope_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", MAIN_KEY)
    monkeypatch.setenv("DASHSCOPE_BASE_URL", dashscope_emulator.base_url)
    assert main(["chat", "Hello", "--workspace", "ws-emu-other"]) == 0
    assert dashscope_emulator.requests[0].headers["x-dashscope-workspace"] == "ws-emu-other"


def test_errors_print_one_clear_line_and_exit_1(
    dashscope_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-not-a-real-key")
    monkeypatch.setenv("DASHSCOPE_BASE_URL", dashscope_emulator.base_url)
    assert main(["chat", "Hello"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("dashscope-ws: error: [401 InvalidApiKey]")
    assert "Traceback" not in err
    assert "sk-not-a-real-key" not in err


def test_debug_shows_the_exception(
    dashscope_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashscope_ws import AuthenticationError

    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-not-a-real-key")
    monkeypatch.setenv("DASHSCOPE_BASE_URL", dashscope_emulator.base_url)
    with pytest.raises(AuthenticationError):
        main(["--debug", "chat", "Hello"])
    with pytest.raises(AuthenticationError):
        main(["chat", "Hello", "--debug"])


def test_emulator_command_runs_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(dashscope_ws.emulator, "run_server", lambda *a: calls.append(a))
    assert main(["emulator", "--port", "8123", "--config", "emu.json"]) == 0
    assert calls == [("127.0.0.1", 8123, "emu.json")]


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2

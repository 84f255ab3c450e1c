"""The dashscope-ws command line, against the embedded emulator and an explicit one."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import pytest

import dashscope_ws
import dashscope_ws.cli
import dashscope_ws.emulator
from dashscope_ws.cli import main
from dashscope_ws.demo import QUESTION
from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.emulator.script import ScriptedReply


@pytest.fixture
def service(dashscope_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The emulator, configured through the environment as a real service would be."""
    monkeypatch.setenv("DASHSCOPE_API_KEY", MAIN_KEY)
    monkeypatch.setenv("DASHSCOPE_BASE_URL", dashscope_emulator.base_url)
    return dashscope_emulator


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str, *, tty: bool = False) -> None:
    class Input(io.StringIO):
        def isatty(self) -> bool:
            return tty

    monkeypatch.setattr(sys, "stdin", Input(text))


def _messages(emulator: Emulator) -> list[list[dict[str, Any]]]:
    return [r.json["input"]["messages"] for r in emulator.requests]


# ---------------------------------------------------------------------------- chat, one shot


def test_chat_without_a_key_fails_unless_emulator_is_asked_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A script whose secret is missing must fail, not get canned text and exit 0 (issue 12).
    assert main(["chat", "Say hello"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("dashscope-ws: error: DASHSCOPE_API_KEY is not set")
    assert "--emulator" in err
    assert err.count("\n") == 1


def test_chat_with_emulator_flag_uses_the_embedded_emulator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["chat", "Say hello", "--emulator"]) == 0
    out, err = capsys.readouterr()
    assert out.strip()
    assert "emulator" in err
    assert "DASHSCOPE_API_KEY" in err
    assert "ws-emu-sub" in err


def test_chat_with_emulator_flag_and_a_key_does_not_say_the_key_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-set-but-unused-here")
    assert main(["chat", "Say hello", "--emulator"]) == 0
    out, err = capsys.readouterr()
    assert out.strip()
    assert "is not set" not in err
    assert err.startswith("--emulator: running against the local emulator")
    assert "sk-set-but-unused-here" not in out + err


@pytest.mark.parametrize("extra", [[], ["--no-stream"]])
def test_chat_against_an_explicit_base_url(
    extra: list[str], service: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    service.enqueue(ScriptedReply(text="Hi from the CLI test"))
    code = main(["chat", "Hello", "--model", "qwen-turbo", "--system", "Be brief", *extra])
    out, err = capsys.readouterr()
    assert code == 0
    assert out == "Hi from the CLI test\n"
    assert "emulator" not in err
    [request] = service.requests
    assert request.json["model"] == "qwen-turbo"
    assert request.json["input"]["messages"] == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "Hello"},
    ]
    assert ("x-dashscope-sse" in request.headers) is (not extra)


def test_workspace_flag_is_sent(service: Emulator) -> None:
    assert main(["chat", "Hello", "--workspace", "ws-emu-other"]) == 0
    assert service.requests[0].headers["x-dashscope-workspace"] == "ws-emu-other"


def test_piped_stdin_is_the_prompt(
    service: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "Summarise this:\nline two\n")
    assert main(["chat"]) == 0
    assert _messages(service) == [[{"role": "user", "content": "Summarise this:\nline two\n"}]]
    assert capsys.readouterr().out.strip()


def test_empty_stdin_is_a_one_line_error(
    service: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "  \n")
    assert main(["chat"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dashscope-ws: error: no prompt")
    assert err.count("\n") == 1
    assert service.requests == []


@pytest.mark.parametrize("extra", [[], ["--no-stream"]])
def test_thinking_shows_reasoning_on_stderr_and_the_answer_on_stdout(
    extra: list[str], service: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    service.enqueue(ScriptedReply(reasoning="Let me think it over.", text="Forty-two."))
    assert main(["chat", "The answer?", "--thinking", *extra]) == 0
    out, err = capsys.readouterr()
    assert out == "Forty-two.\n"
    assert "[thinking] Let me think it over.\n" in err
    assert "\x1b[" not in err  # no colour codes when stderr is not a terminal
    [request] = service.requests
    assert request.json["parameters"]["enable_thinking"] is True


def test_thinking_reasoning_comes_from_the_model(
    service: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    # Unscripted: the emulator's own hybrid-thinking behaviour for qwen-plus.
    assert main(["chat", "Why is the sky blue?", "--thinking"]) == 0
    out, err = capsys.readouterr()
    thinking = err.split("[thinking] ", 1)[1]
    assert thinking.strip()
    assert thinking.strip() not in out
    assert out.strip()


# ---------------------------------------------------------------------------- chat, interactive


def test_interactive_session_keeps_the_history(
    service: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    service.enqueue(ScriptedReply(text="Nice to meet you, Ada."), ScriptedReply(text="Ada."))
    _stdin(monkeypatch, "My name is Ada.\nWhat is my name?\n/exit\nnever sent\n")
    assert main(["chat", "--interactive", "--system", "Be brief"]) == 0
    first, second = _messages(service)
    assert first == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "My name is Ada."},
    ]
    assert second == [
        *first,
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "user", "content": "What is my name?"},
    ]
    assert capsys.readouterr().out == "Nice to meet you, Ada.\nAda.\n"


def test_reset_clears_the_history_but_keeps_the_system_message(
    service: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, "First question\n/reset\n\nSecond question\n")  # ends at EOF
    assert main(["chat", "-i", "--system", "Be brief"]) == 0
    assert _messages(service)[1] == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "Second question"},
    ]


def test_a_prompt_argument_is_the_first_interactive_turn(
    service: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, "And then?\n")
    assert main(["chat", "-i", "Once upon a time"]) == 0
    first, second = _messages(service)
    assert first == [{"role": "user", "content": "Once upon a time"}]
    assert second[0] == first[0]
    assert second[-1] == {"role": "user", "content": "And then?"}


def test_no_prompt_on_a_terminal_starts_a_session(
    service: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "Hello\n", tty=True)  # then Ctrl-D (EOF)
    assert main(["chat"]) == 0
    assert _messages(service) == [[{"role": "user", "content": "Hello"}]]
    out, err = capsys.readouterr()
    assert out.startswith("> ")  # the prompt, shown only on a terminal
    assert "/exit" in err


def test_a_failed_turn_is_dropped_and_the_session_goes_on(
    service: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    service.enqueue(ScriptedReply.error(400, "InvalidParameter", "Scripted failure"))
    _stdin(monkeypatch, "This one fails\nThis one works\n")
    assert main(["chat", "-i"]) == 0
    assert _messages(service)[1] == [{"role": "user", "content": "This one works"}]
    err = capsys.readouterr().err
    assert "dashscope-ws: error: [400 InvalidParameter] Scripted failure" in err
    assert "Traceback" not in err


def test_ctrl_c_during_an_answer_drops_only_that_turn(
    service: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_reply = dashscope_ws.cli._reply
    calls = iter([KeyboardInterrupt, None])

    def reply(*args: Any) -> str:
        if next(calls) is KeyboardInterrupt:
            raise KeyboardInterrupt
        return real_reply(*args)

    monkeypatch.setattr(dashscope_ws.cli, "_reply", reply)
    _stdin(monkeypatch, "Interrupted\nAnswered\n")
    assert main(["chat", "-i"]) == 0
    assert _messages(service) == [[{"role": "user", "content": "Answered"}]]
    assert "(interrupted" in capsys.readouterr().err


# ---------------------------------------------------------------------------- demo


class _RecordingEmulator(Emulator):
    started: list[Emulator] = []  # noqa: RUF012  (test-local registry)

    def __enter__(self) -> Emulator:
        self.started.append(self)
        return super().__enter__()


def test_demo_without_a_key_runs_both_frameworks_as_the_sub_account(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_RecordingEmulator, "started", [])
    monkeypatch.setattr(dashscope_ws.emulator, "Emulator", _RecordingEmulator)
    assert main(["demo"]) == 0
    out, err = capsys.readouterr()
    assert "DASHSCOPE_API_KEY is not set" in err
    assert f"sub-account in workspace {SUB_WORKSPACE}" in err
    assert "Embedding 6 sample documents... done." in err
    chain, rag = out.split("== LlamaIndex", 1)
    assert chain.startswith("== LangChain")
    assert "X-DashScope-WorkSpace header" in chain  # the streamed answer, from the context
    question, answer, *sources = rag.strip().splitlines()[1:]
    assert chain.splitlines()[1] == question == f"Q: {QUESTION}"  # the question, before answers
    assert "X-DashScope-WorkSpace" in answer
    assert sources[0].startswith("  source: workspaces.md (score ")
    [emulator] = _RecordingEmulator.started
    requests = emulator.requests
    kinds = {r.path.rsplit("/", 2)[-2] for r in requests}
    assert {"text-generation", "text-embedding", "text-rerank"} <= kinds
    assert {r.headers.get("X-DashScope-WorkSpace") for r in requests} == {SUB_WORKSPACE}
    assert {r.headers.get("Authorization") for r in requests} == {f"Bearer {SUB_KEY}"}
    assert any("x-dashscope-sse" in r.headers for r in requests)  # the chain streamed


def test_demo_with_a_key_uses_the_configured_service_and_flags(
    service: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--model", "qwen-turbo", "--workspace", "ws-emu-other"]) == 0
    err = capsys.readouterr().err
    assert "emulator" not in err
    assert "workspace ws-emu-other" in err
    chat_models = {r.json["model"] for r in service.requests if "generation" in r.path}
    assert chat_models == {"qwen-turbo"}
    assert {r.headers.get("X-DashScope-WorkSpace") for r in service.requests} == {"ws-emu-other"}


def test_demo_without_the_frameworks_says_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dashscope_ws.demo

    monkeypatch.setattr(dashscope_ws.demo, "FRAMEWORKS", ("langchain_core", "no_such_pkg.core"))
    assert main(["demo"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no_such_pkg.core not installed" in err
    assert "pip install 'dashscope-ws[all]'" in err


# ---------------------------------------------------------------------------- doctor


def test_doctor_healthy(service: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--model", "qwen-plus", "--model", "qwen-turbo"]) == 0
    out, err = capsys.readouterr()
    assert "Checking" in err
    assert "[ok]   model qwen-plus: granted" in out
    assert "[ok]   model qwen-turbo: granted" in out
    assert out.rstrip().endswith("All checks passed.")


def test_doctor_sub_key_without_workspace(
    dashscope_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", SUB_KEY)
    assert main(["doctor", "--base-url", dashscope_emulator.base_url]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] workspace: this key needs a workspace" in out
    assert "fix: pass --workspace" in out
    assert out.rstrip().endswith("Some checks failed.")


def test_doctor_model_not_granted_in_the_workspace(
    dashscope_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", SUB_KEY)
    monkeypatch.setenv("DASHSCOPE_BASE_URL", dashscope_emulator.base_url)
    code = main(
        ["doctor", "--workspace", SUB_WORKSPACE, "--model", "qwen-plus", "--model", "qwen-long"]
    )
    assert code == 1
    out = capsys.readouterr().out
    assert "[ok]   model qwen-plus" in out
    assert f"[FAIL] model qwen-long: not granted to workspace {SUB_WORKSPACE}" in out
    assert {r.headers.get("X-DashScope-WorkSpace") for r in dashscope_emulator.requests} == {
        SUB_WORKSPACE
    }


def test_doctor_unknown_region_is_a_configuration_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", MAIN_KEY)
    assert main(["doctor", "--region", "mars-1"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("[FAIL] configuration: unknown region 'mars-1'")


# ---------------------------------------------------------------------------- errors


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
    assert "Hint: check DASHSCOPE_API_KEY" in err  # the fix, on the same line
    assert err.count("\n") == 1
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


def test_invalid_workspace_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "Hello", "--emulator", "--workspace", "not a workspace"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dashscope-ws: error: ")
    assert "workspace" in err
    assert err.count("\n") == 1


def test_an_unexpected_error_names_its_type_and_points_at_debug(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["emulator", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dashscope-ws: error: OSError: ")
    assert err.rstrip().endswith("(--debug shows the traceback)")
    assert err.count("\n") == 1


def test_keyboard_interrupt_exits_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(_args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(dashscope_ws.cli, "_run_doctor", interrupted)
    assert main(["doctor"]) == 130
    assert capsys.readouterr().err.strip() == "dashscope-ws: interrupted"
    with pytest.raises(KeyboardInterrupt):
        main(["doctor", "--debug"])


def _wait_for(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def test_ctrl_c_in_a_real_process_exits_130_without_a_traceback(
    dashscope_emulator: Emulator,
) -> None:
    # A real SIGINT while the process waits for a (deliberately slow) answer.
    dashscope_emulator.enqueue(ScriptedReply(text="too late", delay_before_first_byte=60))
    env = {
        **os.environ,
        "DASHSCOPE_API_KEY": MAIN_KEY,
        "DASHSCOPE_BASE_URL": dashscope_emulator.base_url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "dashscope_ws", "chat", "Hello"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: dashscope_emulator.requests, "the request to arrive")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert out == ""
    assert err.strip() == "dashscope-ws: interrupted"


# ---------------------------------------------------------------------------- misc


FRAMEWORK_FREE = """
import json, sys
from dashscope_ws.cli import build_parser, main
build_parser()
code = main(["chat", "Hello", "--emulator"])  # the embedded emulator
loaded = sorted(m for m in sys.modules if m.split(".")[0].startswith(("langchain", "llama_index")))
print(json.dumps({"code": code, "loaded": loaded}))
"""


def test_the_command_line_loads_no_framework_unless_the_demo_runs() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
    out = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [sys.executable, "-c", FRAMEWORK_FREE],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "loaded": []}


def test_emulator_command_runs_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(dashscope_ws.emulator, "run_server", lambda *a: calls.append(a))
    assert main(["emulator", "--port", "8123", "--config", "emu.json"]) == 0
    assert calls == [("127.0.0.1", 8123, "emu.json")]


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_emulator_command_serves_until_interrupted(tmp_path: Any) -> None:
    """`dashscope-ws emulator` end to end: a real server, with a config file, then Ctrl-C."""
    config = tmp_path / "emulator.json"
    config.write_text(json.dumps({"keys": {"sk-team": "ws-team"}, "workspaces": ["ws-team"],
                                  "grants": {"ws-team": ["qwen-turbo"]}}))  # fmt: skip
    command = [sys.executable, "-m", "dashscope_ws", "emulator", "--port", "0",
               "--config", str(config)]  # fmt: skip
    process = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().split()[-1]
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/api/v1")
        client = dashscope_ws.DashScopeClient(
            api_key="sk-team", workspace="ws-team", base_url=base_url, max_retries=0
        )
        with client:
            assert client.chat([{"role": "user", "content": "hi"}], model="qwen-turbo").text
            with pytest.raises(dashscope_ws.PermissionDeniedError) as denied:
                client.chat([{"role": "user", "content": "hi"}], model="qwen-plus")
        assert denied.value.code == "Model.AccessDenied"  # the config file's grants apply
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode in (0, 130)
    assert "Traceback" not in stderr


def test_a_closed_stdout_pipe_ends_quietly(dashscope_emulator: Emulator) -> None:
    """`dashscope-ws chat ... | head -c 1`: no traceback, the conventional SIGPIPE status."""
    dashscope_emulator.enqueue(ScriptedReply(text="word " * 20_000))  # far more than a pipe buffer
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
    env |= {"DASHSCOPE_API_KEY": MAIN_KEY, "DASHSCOPE_BASE_URL": dashscope_emulator.base_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "dashscope_ws", "chat", "hi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    assert process.stdout.read(1) == b"w"
    process.stdout.close()  # the reader goes away mid-answer
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 141
    assert b"Traceback" not in stderr
    assert b"BrokenPipeError" not in stderr

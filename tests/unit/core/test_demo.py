"""The demo's building blocks: the bundled corpus, the connection choice, the framework check."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
import requests

from dashscope_ws import cli, demo
from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE


def test_sample_documents_are_bundled_sorted_and_one_paragraph_per_line() -> None:
    docs = demo.sample_documents()
    names = [name for name, _ in docs]
    assert names == sorted(names)
    assert "workspaces.md" in names
    assert len(names) == 6
    for name, text in docs:
        title, *paragraphs = text.strip().split("\n\n")
        assert title.startswith("# "), name
        # One sentence must never straddle lines: the emulator quotes whole lines.
        assert all("\n" not in p for p in paragraphs), name


def test_without_a_key_the_connection_is_the_emulator_as_the_sub_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    err = io.StringIO()
    with cli.connection(err) as settings:
        assert settings["api_key"] == SUB_KEY
        assert settings["workspace"] == SUB_WORKSPACE
        # The emulator is really serving while the demo runs.
        health = requests.post(
            settings["base_url"] + "/services/aigc/text-generation/generation",
            json={"model": "qwen-plus", "input": {"messages": [{"role": "user", "content": "hi"}]}},
            headers={"Authorization": f"Bearer {SUB_KEY}", "X-DashScope-WorkSpace": SUB_WORKSPACE},
            timeout=30,
        )
        assert health.status_code == 200
    assert "local emulator" in err.getvalue()


@pytest.mark.parametrize(
    ("env_workspace", "flag", "expected"),
    [
        (None, None, {}),
        ("ws-env", None, {}),  # the adapters resolve DASHSCOPE_WORKSPACE themselves
        ("ws-env", "ws-flag", {"workspace": "ws-flag"}),
    ],
)
def test_with_a_key_the_adapters_read_the_environment(
    env_workspace: str | None,
    flag: str | None,
    expected: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    if env_workspace:
        monkeypatch.setenv("DASHSCOPE_WORKSPACE", env_workspace)
    err = io.StringIO()
    with cli.connection(err, flag) as settings:
        assert settings == expected  # the key itself stays in the environment
    assert "emulator" not in err.getvalue()
    assert "sk-from-env" not in err.getvalue()


def test_require_frameworks_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    demo.require_frameworks()  # both installed in the dev environment
    monkeypatch.setattr(demo, "FRAMEWORKS", ("langchain_core", "not_installed_pkg.sub"))
    with pytest.raises(ImportError, match=r"not_installed_pkg\.sub not installed"):
        demo.require_frameworks()


def test_run_demo_writes_answers_to_out_and_progress_to_err(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    out, err = io.StringIO(), io.StringIO()
    assert demo.run_demo(out=out, err=err) == 0
    assert "== LangChain" in out.getvalue()
    assert "  source: workspaces.md" in out.getvalue()
    assert "Embedding" not in out.getvalue()
    assert "Embedding 6 sample documents... done." in err.getvalue()


def test_run_demo_closes_the_event_loop_llama_index_runs_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # llama-index's sync paths call asyncio.get_event_loop(); an unclosed loop leaks sockets.
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    real_rag = demo.llamaindex_rag
    seen: list[asyncio.AbstractEventLoop] = []

    def rag(*args: Any) -> tuple[str, list[str]]:
        seen.append(asyncio.get_event_loop())
        return real_rag(*args)

    monkeypatch.setattr(demo, "llamaindex_rag", rag)
    assert demo.run_demo(out=io.StringIO(), err=io.StringIO()) == 0
    [loop] = seen
    assert loop.is_closed()


def test_with_a_key_the_demo_names_the_resolved_workspace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    monkeypatch.setenv("DASHSCOPE_WORKSPACE_ID", "ws-legacy")  # the legacy variable counts too
    monkeypatch.setattr(demo, "langchain_chain", lambda *args: "")
    monkeypatch.setattr(demo, "llamaindex_rag", lambda *args: ("", []))
    err = io.StringIO()
    assert demo.run_demo(out=io.StringIO(), err=err) == 0
    assert err.getvalue() == "Using DashScope with workspace ws-legacy.\n"

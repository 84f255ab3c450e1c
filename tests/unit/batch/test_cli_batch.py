"""``dashscope-ws batch …`` in-process against the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashscope_ws import cli
from dashscope_ws.emulator import MAIN_KEY, Emulator
from dashscope_ws.emulator.batch import BatchTiming


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator() as emulator:
        for name in ("DASHSCOPE_WORKSPACE", "DASHSCOPE_WORKSPACE_ID", "DASHSCOPE_REGION"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DASHSCOPE_API_KEY", MAIN_KEY)
        monkeypatch.setenv("DASHSCOPE_BASE_URL", emulator.base_url)
        yield emulator


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["batch", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_texts_submit_wait_results(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("alpha\nbeta\ngamma\n", encoding="utf-8")
    state = tmp_path / "state.json"
    code, out, err = run(
        capsys, "submit", "--texts", str(texts), "--dimensions", "64", "--name", "docs",
        "--state", str(state), "--max-lines", "2",
    )  # fmt: skip
    assert code == 0
    assert len(out.splitlines()) == 2  # two files, two jobs
    assert "docs" in out
    assert "state saved" in err
    code, out, _ = run(capsys, "wait", "--state", str(state), "--poll", "0.02")
    assert code == 0
    assert all("\tcompleted\t" in line for line in out.splitlines())
    output = tmp_path / "rows.jsonl"
    assert run(capsys, "results", "--state", str(state), "--output", str(output))[0] == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["index"] for r in rows] == [0, 1, 2]
    assert all(len(r["embedding"]) == 64 for r in rows)


def test_chat_file_by_id_status_results_list_cancel(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requests = tmp_path / "chat.jsonl"
    requests.write_text(
        json.dumps({"messages": [{"role": "user", "content": "Hi"}], "temperature": 0.1}) + "\n"
        + json.dumps([{"role": "user", "content": "Otters?"}]) + "\n"
        + json.dumps({"custom_id": "x", "body": {"messages": [{"role": "user", "content": ""}]}})
        + "\n",
        encoding="utf-8",
    )  # fmt: skip
    code, out, _ = run(
        capsys, "submit", str(requests), "--model", "qwen-plus", "--wait", "--poll", "0.02"
    )
    assert code == 0
    batch_id = out.split("\t")[0]
    assert batch_id.startswith("batch_")
    code, out, _ = run(capsys, "status", batch_id)
    assert "completed" in out
    code, out, _ = run(capsys, "results", batch_id)
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["custom_id"] for r in rows] == ["0", "1", "x"]
    assert rows[0]["text"]
    code, out, _ = run(capsys, "list", "--limit", "1")
    assert out.startswith(batch_id)

    emu.batches.timing = BatchTiming(per_line=10.0, cancelling=0.0)
    code, out, _ = run(capsys, "submit", str(requests))
    slow = out.split("\t")[0]
    code, out, _ = run(capsys, "cancel", slow)
    assert code == 0
    assert "cancel" in out


def test_usage_errors_are_one_line(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "status")
    assert code == 1
    assert "give batch ids or --state" in err
    code, _, err = run(capsys, "submit")
    assert code == 1
    assert "either FILE" in err
    code, _, err = run(capsys, "status", "batch_missing")
    assert code == 1
    assert "NotFound" in err or "not found" in err


def test_list_says_so_when_there_are_no_jobs(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "list")
    assert code == 0
    assert out == ""  # no job lines for a script to misread
    assert "no batch jobs" in err

"""BatchJobs end to end against the emulator: submit, poll, results, cancel, resume, resubmit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashscope_ws import DashScopeClient
from dashscope_ws.batch import BatchJobs, BatchState, embedding_lines
from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.emulator.batch import BatchTiming
from dashscope_ws.errors import BadRequestError, NotFoundError

CHATS = [[{"role": "user", "content": f"Tell me about animal {i}"}] for i in range(5)]


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[DashScopeClient]:
    with DashScopeClient(api_key=MAIN_KEY, base_url=emu.base_url) as c:
        yield c


def jobs_for(client: DashScopeClient, **options: object) -> BatchJobs:
    return BatchJobs(client, poll_interval=0.02, max_poll_interval=0.1, **options)  # type: ignore[arg-type]


def test_chat_batch_round_trip_in_order(emu: Emulator, client: DashScopeClient) -> None:
    jobs = jobs_for(client)
    run = jobs.submit_chat(
        CHATS, model="qwen-plus", parameters={"temperature": 0.1}, name="otters", description="d",
        max_lines=2,
    )  # fmt: skip
    assert len(run.batch_ids) == 3  # 5 rows, 2 per file
    run = jobs.wait(run)
    assert run.done
    assert "completed" in run.summary()
    rows = jobs.results(run)
    assert [r.index for r in rows] == [0, 1, 2, 3, 4]
    assert all(r.ok and r.text for r in rows)
    assert [r.custom_id for r in rows] == ["0", "1", "2", "3", "4"]
    created = [r for r in emu.requests if r.path.endswith("/batches") and r.method == "POST"]
    assert created[0].json["metadata"] == {"ds_name": "otters", "ds_description": "d"}
    assert all(r.path.startswith("/compatible-mode/v1/") for r in emu.requests)
    uploads = [r for r in emu.requests if r.path.endswith("/files")]
    assert uploads[0].headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert jobs.list_jobs(limit=3)[0].id == run.batch_ids[-1]


def test_failed_rows_are_reported_not_dropped(client: DashScopeClient) -> None:
    jobs = jobs_for(client)
    run = jobs.wait(jobs.submit_embeddings(["alpha", "", "gamma"], dimensions=64))
    rows = jobs.results(run)
    assert [r.ok for r in rows] == [True, False, True]
    assert rows[1].error is not None
    assert rows[1].error.status == 400
    assert rows[0].embedding is not None
    assert len(rows[0].embedding) == 64


def test_cancel_then_resubmit_only_the_missing_rows(emu: Emulator, client: DashScopeClient) -> None:
    emu.batches.timing = BatchTiming(validating=0.0, per_line=0.5, cancelling=0.0)
    jobs = jobs_for(client)
    run = jobs.submit(embedding_lines([f"text {i}" for i in range(10)]))
    time.sleep(0.7)  # at least one row answered, most not (10 rows take 5 s)
    run = jobs.wait(jobs.cancel(run))
    assert {job.status for job in run.jobs.values()} == {"cancelled"}
    rows = jobs.results(run)
    failed = [r.custom_id for r in rows if not r.ok]
    assert 0 < len(failed) < 10
    assert all(r.error is not None for r in rows if not r.ok)

    emu.batches.timing = BatchTiming(validating=0.0, per_line=0.0)
    run = jobs.wait(jobs.resubmit_failed(run, rows))
    assert [p.attempt for p in run.state.parts] == [0, 1]
    assert run.state.parts[1].custom_ids == failed
    resent = [r for r in emu.requests if r.path.endswith("/files") and r.method == "POST"][-1]
    assert resent is not None
    final = jobs.results(run)
    assert [r.ok for r in final] == [True] * 10
    assert [r.custom_id for r in final] == [str(i) for i in range(10)]


def test_workspace_key_and_typed_errors(emu: Emulator) -> None:
    with DashScopeClient(api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=emu.base_url) as c:
        jobs = jobs_for(c)
        run = jobs.wait(jobs.submit_embeddings(["x"]))
        assert jobs.results(run)[0].ok
        assert all(r.headers["X-DashScope-WorkSpace"] == SUB_WORKSPACE for r in emu.requests)
        with pytest.raises(NotFoundError):
            jobs.retrieve("batch_missing")
        with pytest.raises(BadRequestError):
            jobs.cancel_job(run.batch_ids[0])  # already completed
    with pytest.raises(ValueError, match="336h"):
        jobs.submit_embeddings(["x"], completion_window="15d")
    with pytest.raises(ValueError, match="nothing"):
        jobs.submit_embeddings([])


def test_wait_timeout_and_progress(
    emu: Emulator, client: DashScopeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    emu.batches.timing = BatchTiming(per_line=5.0)
    jobs = jobs_for(client, progress=True)
    run = jobs.submit_embeddings(["slow"])
    with pytest.raises(TimeoutError):
        jobs.wait(run, timeout=0.1)
    assert "[batch] " in capsys.readouterr().err
    jobs.cancel(run)


_CHILD = """
import sys
from dashscope_ws import DashScopeClient
from dashscope_ws.batch import BatchJobs
client = DashScopeClient(api_key=sys.argv[1], base_url=sys.argv[2])
jobs = BatchJobs(client, poll_interval=0.05, max_poll_interval=0.05)
run = jobs.submit_embeddings(["a", "b", "c"], state_path=sys.argv[3])
print("submitted", flush=True)
jobs.wait(run)
"""


def test_resume_after_the_process_is_killed_mid_poll(
    emu: Emulator, client: DashScopeClient, tmp_path: Path
) -> None:
    emu.batches.timing = BatchTiming(validating=0.0, per_line=0.5)
    state = tmp_path / "state.json"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    child = subprocess.Popen(  # noqa: S603  (our own interpreter and script)
        [sys.executable, "-c", _CHILD, MAIN_KEY, emu.base_url, str(state)],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "submitted"
        time.sleep(0.2)
        assert child.poll() is None  # still polling
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    saved = BatchState.load(state)
    assert json.loads(state.read_text())["parts"][0]["custom_ids"] == ["0", "1", "2"]
    jobs = jobs_for(client)
    run = jobs.wait(jobs.resume(state))
    assert run.batch_ids == [p.batch_id for p in saved.parts]
    assert [r.embedding is not None for r in jobs.results(run)] == [True, True, True]


async def test_async_round_trip(client: DashScopeClient) -> None:
    jobs = jobs_for(client)
    run = await jobs.asubmit(embedding_lines(["a", "b"]), name="async")
    run = await jobs.await_done(run)
    rows = await jobs.aresults(run)
    assert [r.ok for r in rows] == [True, True]
    assert (await jobs.alist_jobs(limit=1))[0].metadata == {"ds_name": "async"}
    again = await jobs.aresubmit_failed(run, rows)
    assert again is run
    assert len(run.state.parts) == 1
    assert (await jobs.arefresh(run)).done
    assert (await jobs.acancel(run)).done

"""Fidelity: the ``openai`` SDK's ``files`` and ``batches`` clients against the emulator.

A real third-party client proves the emulated File and Batch endpoints speak the OpenAI
wire format DashScope documents for ``/compatible-mode/v1``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import openai  # a [dev] dependency: missing must fail, not skip
import pytest

from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.emulator.batch import BatchTiming


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def sdk(emu: Emulator, key: str = MAIN_KEY, workspace: str | None = None) -> openai.OpenAI:
    headers = {"X-DashScope-WorkSpace": workspace} if workspace else None
    return openai.OpenAI(
        api_key=key, base_url=emu.url + "/compatible-mode/v1", default_headers=headers,
        max_retries=0,
    )  # fmt: skip


def jsonl(*lines: dict[str, object]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def chat_line(custom_id: str, text: str, model: str = "qwen-plus") -> dict[str, object]:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


def wait(client: openai.OpenAI, batch_id: str) -> openai.types.Batch:
    for _ in range(200):
        batch = client.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return batch
        time.sleep(0.02)
    raise AssertionError(f"batch {batch_id} never finished: {batch.status}")


def test_upload_create_retrieve_download(emu: Emulator) -> None:
    client = sdk(emu)
    content = jsonl(chat_line("a", "Tell me about otters"), chat_line("b", "And beavers?"))
    uploaded = client.files.create(file=("in.jsonl", content), purpose="batch")
    assert uploaded.id.startswith("file-batch-")
    assert uploaded.bytes == len(content)
    assert uploaded.purpose == "batch"
    assert client.files.retrieve(uploaded.id).filename == "in.jsonl"
    assert client.files.content(uploaded.id).content == content

    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
        metadata={"ds_name": "otters", "ds_description": "conformance"},
    )  # fmt: skip
    assert batch.status == "validating"
    assert batch.metadata == {"ds_name": "otters", "ds_description": "conformance"}
    done = wait(client, batch.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed) == (2, 2)
    assert done.completed_at is not None
    assert done.in_progress_at is not None
    assert done.output_file_id
    assert done.error_file_id is None
    rows = [json.loads(x) for x in client.files.content(done.output_file_id).text.splitlines()]
    assert [r["custom_id"] for r in rows] == ["a", "b"]
    assert all(r["response"]["status_code"] == 200 for r in rows)
    assert rows[0]["response"]["body"]["choices"][0]["message"]["content"]


def test_per_line_errors_land_in_the_error_file(emu: Emulator) -> None:
    client = sdk(emu)
    lines = [
        {"custom_id": str(i), "method": "POST", "url": "/v1/embeddings",
         "body": {"model": "text-embedding-v4", "input": text, "dimensions": 64}}
        for i, text in enumerate(["hello", "", "world"])
    ]  # fmt: skip
    uploaded = client.files.create(file=("e.jsonl", jsonl(*lines)), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h"
    )
    done = wait(client, batch.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.completed, done.request_counts.failed) == (2, 1)
    assert done.output_file_id
    assert done.error_file_id
    good = [json.loads(x) for x in client.files.content(done.output_file_id).text.splitlines()]
    assert len(good[0]["response"]["body"]["data"][0]["embedding"]) == 64
    bad = [json.loads(x) for x in client.files.content(done.error_file_id).text.splitlines()]
    assert [b["custom_id"] for b in bad] == ["1"]
    assert bad[0]["response"]["status_code"] == 400


def test_model_not_granted_to_the_workspace_fails_each_line(emu: Emulator) -> None:
    client = sdk(emu, SUB_KEY, SUB_WORKSPACE)
    uploaded = client.files.create(
        file=("x.jsonl", jsonl(chat_line("1", "hi", model="qwen-long"))), purpose="batch"
    )
    done = wait(client, client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    ).id)  # fmt: skip
    assert done.error_file_id
    assert not done.output_file_id
    bad = json.loads(client.files.content(done.error_file_id).text)
    assert bad["error"]["code"] == "Model.AccessDenied"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (jsonl(chat_line("1", "a"), chat_line("2", "b", model="qwen-max")), "same model"),
        (jsonl(chat_line("1", "x" * (6 * 1024**2))), "6291456 bytes"),
    ],
    ids=["two-models", "line-over-6-MB"],
)
def test_invalid_file_fails_validation(emu: Emulator, content: bytes, reason: str) -> None:
    client = sdk(emu)
    uploaded = client.files.create(file=("m.jsonl", content), purpose="batch")
    done = wait(client, client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    ).id)  # fmt: skip
    assert done.status == "failed"
    assert done.errors is not None
    assert done.errors.data
    assert reason in (done.errors.data[0].message or "")


def test_cancel_and_list(emu: Emulator) -> None:
    emu.batches.timing = BatchTiming(per_line=10.0, cancelling=0.0)
    client = sdk(emu)
    uploaded = client.files.create(file=("c.jsonl", jsonl(chat_line("1", "x"))), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="48h"
    )
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status in ("cancelling", "cancelled")
    assert wait(client, batch.id).status == "cancelled"
    listed = client.batches.list(limit=5)
    assert [b.id for b in listed.data][:1] == [batch.id]
    with pytest.raises(openai.BadRequestError):
        client.batches.cancel(batch.id)


def test_expiry(emu: Emulator) -> None:
    emu.batches.timing = BatchTiming(per_line=1.0, hour=0.001)  # 24h window = 24 ms
    client = sdk(emu)
    uploaded = client.files.create(file=("x.jsonl", jsonl(chat_line("1", "x"))), purpose="batch")
    done = wait(client, client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    ).id)  # fmt: skip
    assert done.status == "expired"
    assert done.error_file_id
    assert json.loads(client.files.content(done.error_file_id).text)["error"]["code"] == (
        "batch_expired"
    )


def test_workspace_isolation_and_auth(emu: Emulator) -> None:
    main, sub = sdk(emu), sdk(emu, SUB_KEY, SUB_WORKSPACE)
    uploaded = main.files.create(file=("w.jsonl", jsonl(chat_line("1", "x"))), purpose="batch")
    with pytest.raises(openai.NotFoundError):
        sub.files.retrieve(uploaded.id)
    assert uploaded.id not in [f.id for f in sub.files.list().data]
    assert uploaded.id in [f.id for f in main.files.list().data]
    with pytest.raises(openai.AuthenticationError):
        sdk(emu, "sk-wrong").files.list()
    with pytest.raises(openai.PermissionDeniedError):
        sdk(emu, SUB_KEY).files.list()  # a workspace key without its workspace
    assert main.files.delete(uploaded.id).deleted
    with pytest.raises(openai.NotFoundError):
        main.files.retrieve(uploaded.id)


def test_limits_are_enforced(emu: Emulator) -> None:
    client = sdk(emu)
    with pytest.raises(openai.BadRequestError):
        client.files.create(file=("x.jsonl", b"{}\n"), purpose="fine-tune")
    uploaded = client.files.create(file=("x.jsonl", jsonl(chat_line("1", "x"))), purpose="batch")
    with pytest.raises(openai.BadRequestError):
        client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions",
            completion_window="337h",  # type: ignore[arg-type]
        )  # fmt: skip
    with pytest.raises(openai.NotFoundError):
        client.batches.create(
            input_file_id="file-batch-missing", endpoint="/v1/chat/completions",
            completion_window="24h",
        )  # fmt: skip

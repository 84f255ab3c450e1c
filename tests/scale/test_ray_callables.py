"""The Ray Data callables without a Ray cluster (no shared limiter): formats, order, 429s."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dashscope_ws.emulator import MAIN_KEY, Emulator, ScriptedReply
from dashscope_ws.errors import RateLimitError
from dashscope_ws.scale.ray import ChatBatches, EmbeddingBatches, WorkerSettings


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Emulator, WorkerSettings]]:
    monkeypatch.setenv("DASHSCOPE_WS_TEST_KEY", MAIN_KEY)
    with Emulator() as emu:
        yield (
            emu,
            WorkerSettings(
                base_url=emu.base_url, api_key_env="DASHSCOPE_WS_TEST_KEY", limiter=None
            ),
        )


def test_settings_pickle_without_a_secret(settings: tuple[Emulator, WorkerSettings]) -> None:
    _, plain = settings
    assert MAIN_KEY.encode() not in pickle.dumps(plain)


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASHSCOPE_WS_NOPE", raising=False)
    with pytest.raises(RuntimeError, match="DASHSCOPE_WS_NOPE"):
        WorkerSettings(api_key_env="DASHSCOPE_WS_NOPE").client()


@pytest.mark.parametrize("kind", ["pandas", "arrow", "dict"])
def test_embeddings_keep_rows_in_order_for_every_format(
    settings: tuple[Emulator, WorkerSettings], kind: str
) -> None:
    emu, plain = settings
    texts = [f"document {i}" for i in range(23)]
    data = {"id": list(range(23)), "body": texts}
    batch = {"pandas": pd.DataFrame(data), "arrow": pa.table(data), "dict": {
        "id": np.array(data["id"]), "body": np.array(texts, dtype=object)}}[kind]  # fmt: skip
    fn = EmbeddingBatches(plain, text_column="body", output_column="vec", dimensions=64)
    out = fn(batch)
    vectors = {"pandas": lambda: list(out["vec"]), "arrow": lambda: out.column("vec").to_pylist(),
               "dict": lambda: list(out["vec"])}[kind]()  # fmt: skip
    assert len(vectors) == 23
    assert all(len(v) == 64 for v in vectors)
    expected = fn.client.embed([texts[17]], dimension=64).embeddings[0]
    assert list(vectors[17]) == pytest.approx(expected)
    assert len([r for r in emu.requests if "embedding" in r.path]) == 3 + 1  # 10+10+3, +1 check


def test_429s_are_retried_and_shrink_concurrency(settings: tuple[Emulator, WorkerSettings]) -> None:
    emu, plain = settings
    emu.enqueue(ScriptedReply.rate_limited(retry_after=0.01, kind="embedding", times=3))
    fn = EmbeddingBatches(plain, dimensions=64)
    out = fn(pd.DataFrame({"text": [f"t{i}" for i in range(40)]}))
    assert len(out["embedding"]) == 40
    statuses = [r.status for r in emu.requests]
    assert statuses.count(429) == 3
    assert statuses.count(200) == 4
    assert fn.runner.gate.limiter.limit < plain.initial_concurrency


def test_chat_rows(settings: tuple[Emulator, WorkerSettings]) -> None:
    _, plain = settings
    fn = ChatBatches(plain, model="qwen-plus", system="Be brief.", parameters={"max_tokens": 20})
    out = fn(pd.DataFrame({"prompt": ["Hi", "Tell me about otters"]}))
    assert list(out.columns) == ["prompt", "response"]
    assert all(isinstance(r, str) and r for r in out["response"])


def test_throttled_past_max_attempts_raises_the_typed_429(
    settings: tuple[Emulator, WorkerSettings],
) -> None:
    emu, plain = settings
    emu.enqueue(ScriptedReply.rate_limited(retry_after=0.01, kind="embedding", times=2))
    fn = EmbeddingBatches(dataclasses.replace(plain, max_attempts=2), dimensions=64)
    with pytest.raises(RateLimitError) as caught:
        fn(pd.DataFrame({"text": ["only one request"]}))
    assert caught.value.status_code == 429
    assert [r.status for r in emu.requests] == [429, 429]


def test_worker_client_keeps_no_plain_key_in_frame_locals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-ray-worker-frame-secret"
    monkeypatch.setenv("DASHSCOPE_WS_FRAME_KEY", secret)
    # Plain HTTP to a remote host is refused: the error's traceback holds the worker's frame.
    bad = WorkerSettings(
        base_url="http://example.invalid/api/v1", api_key_env="DASHSCOPE_WS_FRAME_KEY"
    )
    with pytest.raises(ValueError, match="plain http") as caught:
        bad.client()
    tb = caught.value.__traceback__.tb_next  # from the worker's frame down (not this test's)
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            assert value != secret, tb.tb_frame.f_code.co_name
        tb = tb.tb_next

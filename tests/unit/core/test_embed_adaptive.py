"""Adaptive async embedding concurrency against the emulator: fill the pipe, back off on 429."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from client_modes import make_client_fixture  # noqa: F401

from dashscope_ws import AsyncMockTransport, DashScopeClient, MockResponse, RetryPolicy
from dashscope_ws._adaptive import INITIAL
from dashscope_ws.emulator import Emulator
from dashscope_ws.emulator.script import RecordedRequest, ScriptedReply

MakeClient = Callable[..., DashScopeClient]
MODEL = "text-embedding-v3"  # 10 texts per request
TEXTS = [f"sentence number {i} about the West Lake" for i in range(100)]


def _peak_in_flight(requests: list[RecordedRequest]) -> int:
    """Most requests the emulator held at once."""
    edges = sorted(
        [(r.started, 1) for r in requests] + [(r.finished or r.started, -1) for r in requests],
        key=lambda edge: (edge[0], edge[1]),
    )
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def _answered_texts(requests: list[RecordedRequest]) -> list[str]:
    return [t for r in requests if r.status == 200 for t in r.json["input"]["texts"]]


async def test_default_fills_the_pipe(
    make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    # 25 slow batches: far more than the old fixed limit of 4 run at once by default.
    dashscope_emulator.enqueue(
        ScriptedReply(kind="embedding", delay_before_first_byte=0.3, times=25)
    )
    client = make_client()
    try:
        result = await client.aembed([f"t{i}" for i in range(250)], model=MODEL)
    finally:
        await client.aclose()
    assert len(result.embeddings) == 250
    assert _peak_in_flight(dashscope_emulator.requests) == 25


async def test_429s_halve_the_limit_honour_retry_after_and_keep_every_text_once_in_order(
    make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    client = make_client()
    try:
        expected = (await client.aembed(TEXTS, model=MODEL, max_concurrency=1)).embeddings
        dashscope_emulator.reset()
        # The whole first wave of 8 is throttled: 8 -> 4 -> 2 -> 1, and Retry-After 0.4 s.
        dashscope_emulator.enqueue(
            ScriptedReply.rate_limited(
                retry_after=0.4, kind="embedding", times=8, delay_before_first_byte=0.1
            ),
            ScriptedReply(kind="embedding", delay_before_first_byte=0.05, times=10),
        )
        result = await client.aembed(TEXTS, model=MODEL, max_concurrency=8)
    finally:
        await client.aclose()

    assert result.embeddings == expected  # every text back once, in order
    requests = dashscope_emulator.requests
    assert [r.status for r in requests].count(429) == 8
    assert sorted(_answered_texts(requests)) == sorted(TEXTS)  # each text answered once
    throttled = [r for r in requests if r.status == 429]
    answered = [r for r in requests if r.status == 200]
    assert _peak_in_flight(throttled) == 8  # the first wave went out at the cap
    last_429 = max(r.finished or r.started for r in throttled)
    # Retry-After: nothing starts again until it has passed.
    assert min(r.started for r in answered) >= last_429 + 0.35
    # Halved to 1: the first answered batch ran alone, then the limit grew back one by one.
    first = min(answered, key=lambda r: r.started)
    assert all(r.started >= (first.finished or 0) for r in answered if r is not first)
    assert _peak_in_flight(answered) < 8


async def test_the_learned_limit_is_the_clients_and_shrinks_on_429(
    make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(
        ScriptedReply.rate_limited(retry_after=0.01, kind="embedding"),
        ScriptedReply(kind="embedding", delay_before_first_byte=0.2, times=3),
    )
    client = make_client()
    try:
        result = await client.aembed(TEXTS[:30], model=MODEL)
        limiter = client.__dict__["_embed_concurrency"].limiter
        # One 429 (halved), then three successes (+1 each).
        assert limiter.limit == INITIAL // 2 + 3
        await client.aembed(TEXTS[:10], model=MODEL)  # the next call starts from it
        assert limiter.limit == INITIAL // 2 + 4
    finally:
        await client.aclose()
    assert len(result.embeddings) == 30


async def test_each_attempt_of_a_batch_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers = [
        MockResponse(503, body={"code": "ServiceUnavailable", "message": "busy"}),
        {"output": {"embeddings": [{"text_index": 0, "embedding": [0.5]}]}},
    ]
    client = DashScopeClient(
        api_key="sk-test",
        async_transport=AsyncMockTransport(lambda request: answers.pop(0)),
        retry_policy=RetryPolicy(1, base_delay=0, jitter=0),
    )
    caplog.set_level(logging.DEBUG, logger="dashscope_ws")
    result = await client.aembed(["a"], model=MODEL)
    assert result.embeddings == [[0.5]]
    attempts = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert [m.split("status=")[1].split()[0] for m in attempts] == ["503", "200"]
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 1

"""Sending past the emulator's RPM limit: the 429 is observed, and the retry waits Retry-After.

The emulator's rate window runs on an injected clock and the client's sleep is replaced by one
that advances that clock, so a 60-second wait costs nothing and the test is exact.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from dashscope_ws import DashScopeClient, RateLimitError
from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator, EmulatorConfig

HI = [{"role": "user", "content": "Hi"}]


class FakeMinute:
    """The emulator's clock; the client's sleeps advance it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def limited() -> Iterator[tuple[Emulator, FakeMinute]]:
    minute = FakeMinute()
    config = EmulatorConfig.from_dict({"limits": {SUB_WORKSPACE: {"qwen-plus": {"rpm": 2}}}})
    with Emulator(config) as emu:
        emu._service.quotas._clock = minute.clock
        yield emu, minute


def _client(emu: Emulator, retries: int) -> DashScopeClient:
    return DashScopeClient(
        api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=emu.base_url, max_retries=retries
    )


def _chat_calls(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.json and r.json.get("model") == "qwen-plus")


def test_sending_past_rpm_is_refused_then_retried_after_the_header(
    limited: tuple[Emulator, FakeMinute], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu, minute = limited
    monkeypatch.setattr("dashscope_ws.client.time.sleep", minute.sleep)
    with _client(emu, retries=0) as strict:
        strict.chat(HI, model="qwen-plus")
        minute.now += 10  # the first call leaves the window 50 s from now
        strict.chat(HI, model="qwen-plus")
        with pytest.raises(RateLimitError) as caught:
            strict.chat(HI, model="qwen-plus")
    assert (caught.value.limit, caught.value.retry_after) == ("rpm", 50.0)
    assert minute.sleeps == []  # no retries: nothing waited

    with _client(emu, retries=2) as patient:
        reply = patient.chat(HI, model="qwen-plus")
    assert reply.text
    # One refusal, one wait of exactly Retry-After (not the 0.5 s exponential backoff), success.
    assert minute.sleeps == [50.0]
    assert _chat_calls(emu) == 2 + 1 + 2


async def test_async_retry_waits_retry_after(
    limited: tuple[Emulator, FakeMinute], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu, minute = limited
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds: float) -> None:
        minute.sleep(seconds)
        await real_sleep(0)

    with _client(emu, retries=1) as client:
        await client.achat(HI, model="qwen-plus")
        await client.achat(HI, model="qwen-plus")
        monkeypatch.setattr("dashscope_ws.client.asyncio.sleep", fake_sleep)
        try:
            reply = await client.achat(HI, model="qwen-plus")
        finally:
            monkeypatch.undo()
    assert reply.text
    assert [s for s in minute.sleeps if s] == [
        60.0
    ]  # both calls were at the same instant: a whole minute

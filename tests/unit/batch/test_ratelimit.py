"""The pure token bucket and AIMD limiter, driven by a fake clock."""

from __future__ import annotations

import asyncio
import threading

import pytest

from dashscope_ws.ratelimit import (
    AIMDLimiter,
    AsyncGate,
    FakeClock,
    RateBudget,
    SyncGate,
    TokenBucket,
)


def test_bucket_holds_the_sustained_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(per_minute=600, burst=5, clock=clock)  # 10 per second
    sent_at = []
    for _ in range(105):
        delay = bucket.reserve()
        clock.advance(delay)
        sent_at.append(clock())
    # 5 burst, then 100 more at 10/s: the last one goes out at 10 s, not earlier.
    assert sent_at[4] == 0.0
    assert sent_at[-1] == pytest.approx(10.0)
    for start in range(len(sent_at)):
        window = [t for t in sent_at if sent_at[start] <= t < sent_at[start] + 1.0]
        assert len(window) <= 5 + 10


def test_bucket_refills_only_up_to_burst_and_refunds() -> None:
    clock = FakeClock()
    bucket = TokenBucket(per_minute=60, burst=2, clock=clock)
    clock.advance(100)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 1.0]
    bucket.refund(1)
    assert bucket.reserve() == pytest.approx(1.0)


def test_bucket_rejects_non_positive_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(per_minute=0)


def test_budget_waits_for_the_scarcer_resource() -> None:
    clock = FakeClock()
    budget = RateBudget(rpm=6000, tpm=600, clock=clock)  # 100 req/s but 10 tokens/s
    assert budget.reserve(tokens=10) == 0.0
    assert budget.reserve(tokens=10) == pytest.approx(1.0)
    assert RateBudget().reserve(tokens=5) == 0.0


def test_aimd_grows_additively_and_halves_on_throttle() -> None:
    clock = FakeClock()
    aimd = AIMDLimiter(initial=8, minimum=2, maximum=10, window=2, clock=clock)
    for _ in range(10):
        aimd.on_success()
    assert aimd.limit == 10  # capped
    aimd.on_throttle()
    assert aimd.limit == 5
    aimd.on_throttle()
    aimd.on_throttle()
    assert aimd.limit == 2  # floored


def test_aimd_honours_retry_after() -> None:
    clock = FakeClock()
    aimd = AIMDLimiter(initial=2, clock=clock)
    aimd.on_throttle(retry_after=3.0)
    assert not aimd.can_start()
    assert aimd.wait() == 3.0
    clock.advance(3.0)
    assert aimd.can_start()


def test_aimd_counts_in_flight() -> None:
    aimd = AIMDLimiter(initial=1, clock=FakeClock())
    aimd.started()
    assert not aimd.can_start()
    aimd.finished()
    assert aimd.can_start()
    with pytest.raises(ValueError, match="minimum"):
        AIMDLimiter(initial=0)


def test_sync_gate_never_exceeds_the_limit() -> None:
    gate = SyncGate(AIMDLimiter(initial=2, window=1000))
    peak = 0
    lock = threading.Lock()
    active = 0

    def work() -> None:
        nonlocal peak, active
        with gate:
            with lock:
                active += 1
                peak = max(peak, active)
            threading.Event().wait(0.01)
            with lock:
                active -= 1
        gate.report(throttled=False)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 2
    assert gate.limiter.in_flight == 0


async def test_async_gate_never_exceeds_the_limit() -> None:
    gate = AsyncGate(AIMDLimiter(initial=3, window=1000))
    active = peak = 0

    async def work() -> None:
        nonlocal active, peak
        async with gate:
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.005)
            active -= 1
        gate.report(throttled=True, retry_after=None)

    await asyncio.gather(*(work() for _ in range(9)))
    assert peak == 3
    assert gate.limiter.limit == 1  # halved three times at least, floored at 1

"""A local Ray cluster embeds 10,000 rows through the emulator with injected 429s.

Checks: every row comes back exactly once and in order, and the shared limiter held the
configured request rate (counted from the emulator's request log).
"""

from __future__ import annotations

import bisect
import os
import threading
from collections.abc import Iterator

import pandas as pd
import pytest
import ray
import ray.data

from dashscope_ws.emulator import MAIN_KEY, Emulator, ScriptedReply
from dashscope_ws.scale.ray import EmbeddingBatches, WorkerSettings, rate_limiter

# Ray's own modules raise deprecation warnings about its internals, not about our code.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROWS = 10_000
RPM = 7_200  # 120 requests per second, shared by every worker
BURST_SECONDS = 0.25


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    os.environ.setdefault("DASHSCOPE_WS_RAY_KEY", MAIN_KEY)
    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False,
        runtime_env={"env_vars": {"DASHSCOPE_WS_RAY_KEY": MAIN_KEY}},
    )  # fmt: skip
    try:
        yield
    finally:
        ray.shutdown()


def test_ten_thousand_rows_once_in_order_within_the_rate(cluster: None) -> None:
    from ray.data import DataContext

    DataContext.get_current().execution_options.preserve_order = True
    with Emulator() as emu:
        stop = threading.Event()

        def inject() -> None:  # a 429 with Retry-After every 0.25 s while the job runs
            while not stop.wait(0.25):
                emu.enqueue(ScriptedReply.rate_limited(retry_after=0.05, kind="embedding"))

        injector = threading.Thread(target=inject, daemon=True)
        limiter = rate_limiter(rpm=RPM, burst_seconds=BURST_SECONDS, name="test-rate")
        settings = WorkerSettings(
            base_url=emu.base_url, api_key_env="DASHSCOPE_WS_RAY_KEY", limiter="test-rate"
        )
        frame = pd.DataFrame({"id": range(ROWS), "text": [f"row {i}" for i in range(ROWS)]})
        blocks = [frame.iloc[i : i + 1000] for i in range(0, ROWS, 1000)]
        ds = ray.data.from_pandas(blocks).map_batches(
            EmbeddingBatches,
            fn_constructor_kwargs={"settings": settings, "dimensions": 64},
            batch_size=1000, batch_format="pandas", concurrency=2, num_cpus=0.5,
        )  # fmt: skip
        injector.start()
        try:
            out = ds.to_pandas()
        finally:
            stop.set()
            injector.join()
            ray.kill(limiter)
        log = [r for r in emu.requests if r.path.endswith("/text-embedding")]

    assert list(out["id"]) == list(range(ROWS))  # each row once, in order
    assert all(len(v) == 64 for v in out["embedding"])
    assert out["text"].tolist() == frame["text"].tolist()

    throttled = [r for r in log if r.status == 429]
    assert throttled, "the injected 429s must have been seen"
    assert len(log) - len(throttled) == ROWS // 10  # every successful request once

    # Any 2-second window (long enough to smooth scheduling jitter between the workers'
    # reservations and the emulator's clock) holds at most 2 s of rate plus the burst.
    starts = sorted(r.started for r in log)
    rate, width = RPM / 60, 2.0
    allowed = (rate * width + rate * BURST_SECONDS) * 1.1
    for i, begin in enumerate(starts):
        inside = bisect.bisect_left(starts, begin + width, lo=i) - i
        assert inside <= allowed, f"{inside} requests in {width} s at {begin - starts[0]:.2f} s"
    span = starts[-1] - starts[0]
    assert len(starts) <= rate * span + rate * BURST_SECONDS + 1

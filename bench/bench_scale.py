"""Corpus-scale benchmark: N short texts embedded three ways against the emulator.

* **async** — one process, ``client.aembed(texts, max_concurrency=C)`` (10 texts/request);
* **ray** — a local Ray cluster (``--cpus`` CPUs), ``EmbeddingBatches`` workers sharing one
  ``rate_limiter`` actor;
* **batch** — a DashScope Batch job end to end: build lines, upload (50,000 lines per file),
  create, poll, download output files, map every row back (``client.batches``).

The emulator runs in a child process (its work does not share our GIL) and answers one
embedding call with ``429 Throttling.RateQuota`` (``Retry-After: 0.05``) every
``--throttle-every`` seconds, so the real-time paths meet throttling; the Ray workers share
a ``--rpm`` budget. (The emulator's own quota window is a sliding minute, too slow to
benchmark with.) Its batch jobs run with ``per_line=0``: the batch numbers are our client's own cost
(files, polling, mapping), not the service's hours. Each path runs in a fresh process; peak
memory is that process's ``ru_maxrss`` (for Ray, the driver's only: workers are separate).

Run:  python bench/bench_scale.py [-n 100000] [--rpm 120000] [--paths async,ray,batch]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

MODEL = "text-embedding-v4"
DIMENSIONS = 64
KEY_ENV = "DASHSCOPE_WS_BENCH_KEY"


def _texts(n: int) -> list[str]:
    return [f"short text number {i} about otters" for i in range(n)]


# ---------------------------------------------------------------------------- emulator process


def serve(throttle_every: float) -> None:
    """Child process: an emulator that answers one embedding call with a 429 every
    ``throttle_every`` seconds (``Retry-After: 0.05``); ``stats``/``reset`` on stdin."""
    import threading

    from dashscope_ws.emulator import Emulator, ScriptedReply
    from dashscope_ws.emulator.batch import BatchTiming

    with Emulator() as emulator:
        emulator.batches.timing = BatchTiming(validating=0.0, per_line=0.0, finalizing=0.0)
        stop = threading.Event()

        def throttle() -> None:
            while not stop.wait(throttle_every):
                if not len(emulator._service.script):  # at most one 429 queued
                    emulator.enqueue(ScriptedReply.rate_limited(retry_after=0.05, kind="embedding"))

        if throttle_every > 0:
            threading.Thread(target=throttle, daemon=True).start()
        print(json.dumps(emulator.base_url), flush=True)
        for line in sys.stdin:
            if line.strip() == "reset":
                emulator._service.log.clear()
                print(json.dumps("ok"), flush=True)
            else:
                statuses = [r.status for r in list(emulator.requests)]
                print(
                    json.dumps({"requests": len(statuses), "429": statuses.count(429)}), flush=True
                )
        stop.set()


class EmulatorProcess:
    def __init__(self, throttle_every: float) -> None:
        self.proc = subprocess.Popen(  # noqa: S603  (our interpreter, this file)
            [sys.executable, __file__, "--serve", "--throttle-every", str(throttle_every)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.base_url = self._read()

    def _read(self) -> Any:
        assert self.proc.stdout is not None
        return json.loads(self.proc.stdout.readline())

    def ask(self, command: str) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# ---------------------------------------------------------------------------- the three paths


def run_async(base_url: str, n: int, concurrency: int) -> int:
    from dashscope_ws import DashScopeClient
    from dashscope_ws.retry import RetryPolicy

    async def go() -> int:
        # Enough retries that throttling slows the run instead of failing it.
        async with DashScopeClient(
            api_key=os.environ[KEY_ENV], base_url=base_url, retry_policy=RetryPolicy(50)
        ) as client:
            result = await client.aembed(
                _texts(n), model=MODEL, dimension=DIMENSIONS, max_concurrency=concurrency
            )
        return len(result.embeddings)

    return asyncio.run(go())


def run_ray(base_url: str, n: int, rpm: int, cpus: int) -> int:
    import pandas as pd
    import ray
    from ray.data import DataContext

    from dashscope_ws.scale.ray import EmbeddingBatches, WorkerSettings, rate_limiter

    ray.init(
        num_cpus=cpus, include_dashboard=False, log_to_driver=False,
        runtime_env={"env_vars": {KEY_ENV: os.environ[KEY_ENV]}},
    )  # fmt: skip
    try:
        DataContext.get_current().execution_options.preserve_order = True
        limiter = rate_limiter(rpm=rpm, name="bench")
        settings = WorkerSettings(base_url=base_url, api_key_env=KEY_ENV, limiter="bench")
        frame = pd.DataFrame({"text": _texts(n)})
        blocks = [frame.iloc[i : i + 5000] for i in range(0, n, 5000)]
        ds = ray.data.from_pandas(blocks).map_batches(
            EmbeddingBatches,
            fn_constructor_kwargs={"settings": settings, "dimensions": DIMENSIONS},
            batch_size=5000, batch_format="pandas", concurrency=cpus, num_cpus=0.5,
        )  # fmt: skip
        out = ds.to_pandas()
        assert out["text"].tolist() == frame["text"].tolist()  # every row once, in order
        ray.kill(limiter)
        return len(out)
    finally:
        ray.shutdown()


def run_batch(base_url: str, n: int) -> int:
    from dashscope_ws import DashScopeClient
    from dashscope_ws.batch import BatchJobs

    with DashScopeClient(api_key=os.environ[KEY_ENV], base_url=base_url) as client:
        jobs = BatchJobs(client, poll_interval=0.2, max_poll_interval=1.0, progress=False)
        run = jobs.wait(jobs.submit_embeddings(_texts(n), model=MODEL, dimensions=DIMENSIONS))
        rows = jobs.results(run)
    failed = sum(not row.ok for row in rows)
    assert failed == 0, f"{failed} rows failed"
    return len(rows)


def child(path: str, base_url: str, n: int, args: argparse.Namespace) -> None:
    """One path in this (fresh) process; prints ``{"rows", "seconds", "peak_mib"}``."""
    start = time.perf_counter()
    if path == "async":
        rows = run_async(base_url, n, args.concurrency)
    elif path == "ray":
        rows = run_ray(base_url, n, args.rpm, args.cpus)
    else:
        rows = run_batch(base_url, n)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mib": peak}), flush=True)


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="texts (default 100,000)")
    parser.add_argument("--rpm", type=int, default=120_000, help="Ray's shared requests/minute")
    parser.add_argument(
        "--throttle-every", type=float, default=0.25, help="seconds between injected 429s"
    )
    parser.add_argument("-c", "--concurrency", type=int, default=32, help="async requests")
    parser.add_argument("--cpus", type=int, default=2, help="Ray CPUs (and workers)")
    parser.add_argument("--paths", default="async,ray,batch")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.throttle_every)
        return
    if args.child:
        child(args.child, args.base_url, args.n, args)
        return

    from dashscope_ws.emulator import MAIN_KEY

    env = {**os.environ, KEY_ENV: MAIN_KEY, "PYTHONPATH": os.getcwd()}
    emulator = EmulatorProcess(args.throttle_every)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, N={args.n}, "
        f"a 429 every {args.throttle_every} s, Ray limiter {args.rpm} rpm"
    )
    print("path  | rows/s | seconds | peak RSS MiB | requests | 429s")
    print("------|--------|---------|--------------|----------|-----")
    try:
        for path in args.paths.split(","):
            emulator.ask("reset")
            command = [
                sys.executable, __file__, "--child", path, "--base-url", emulator.base_url,
                "-n", str(args.n), "--rpm", str(args.rpm), "-c", str(args.concurrency),
                "--cpus", str(args.cpus),
            ]  # fmt: skip
            out = subprocess.run(  # noqa: S603  (our interpreter, this file)
                command, env=env, capture_output=True, text=True, check=True
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            stats = emulator.ask("stats")
            print(
                f"{path:<5} | {result['rows'] / result['seconds']:>6.0f} | "
                f"{result['seconds']:>7.1f} | {result['peak_mib']:>12.0f} | "
                f"{stats['requests']:>8} | {stats['429']}",
                flush=True,
            )
    finally:
        emulator.close()


if __name__ == "__main__":
    main()

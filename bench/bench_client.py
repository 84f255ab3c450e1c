"""Client overhead benchmark: dashscope-ws vs raw aiohttp / requests, against the emulator.

The emulator runs in a separate process (so its work does not share our GIL) on loopback.
For each client we send N non-streamed and N streamed chat requests at concurrency C and
report requests/second and median latency; then, each in a fresh process, one long stream
(~``--long-kib`` KiB of text) to report the peak RSS growth while consuming it.

The raw baselines do the least possible work (read the body / the bytes, no SSE parsing),
so the gap to them is the full cost of our parsing, typing and retry bookkeeping.

Run:  python bench/bench_client.py [-n 500] [-c 20] [--long-kib 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import requests

from dashscope_ws import DashScopeClient
from dashscope_ws.emulator import MAIN_KEY

MESSAGES = [{"role": "user", "content": "Tell me about the benchmark."}]
MODEL = "qwen-plus"
KINDS = ("dashscope-ws async", "raw aiohttp", "dashscope-ws sync", "raw requests")


# ---------------------------------------------------------------------------- emulator process


def serve(long_kib: int) -> None:
    """Child process: run an emulator; with ``long_kib`` every chat reply is that long."""
    from dashscope_ws.emulator import Emulator, ScriptedReply

    with Emulator() as emulator:
        if long_kib:
            words = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "elit"]
            text = " ".join(words[i % len(words)] for i in range(long_kib * 1024 // 6))
            emulator.enqueue(ScriptedReply(text=text, kind="chat", times=1000))
        print(emulator.base_url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin


def start_emulator(long_kib: int = 0) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(  # noqa: S603  (our own interpreter and script)
        [sys.executable, __file__, "--serve", str(long_kib)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def stop_emulator(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=30)


# ---------------------------------------------------------------------------- raw baselines


def _body(base_url: str, stream: bool) -> tuple[str, dict[str, str], dict[str, object]]:
    headers = {"Authorization": f"Bearer {MAIN_KEY}", "Content-Type": "application/json"}
    params: dict[str, object] = {"result_format": "message"}
    if stream:
        headers["X-DashScope-SSE"] = "enable"
        headers["Accept"] = "text/event-stream"
        params["incremental_output"] = True
    url = f"{base_url}/services/aigc/text-generation/generation"
    return url, headers, {"model": MODEL, "input": {"messages": MESSAGES}, "parameters": params}


EMBED_BODY = {"model": "text-embedding-v4", "input": {"texts": ["warm-up"]}, "parameters": {}}


def _embed_url(base_url: str) -> str:
    return f"{base_url}/services/embeddings/text-embedding/text-embedding"


def raw_requests_call(session: requests.Session, base_url: str, stream: bool) -> int:
    url, headers, body = _body(base_url, stream)
    with session.post(url, headers=headers, json=body, stream=stream, timeout=60) as resp:
        if stream:
            return sum(len(chunk) for chunk in resp.iter_content(chunk_size=None))
        return len(resp.json()["output"]["choices"])


async def raw_aiohttp_call(session: aiohttp.ClientSession, base_url: str, stream: bool) -> int:
    url, headers, body = _body(base_url, stream)
    async with session.post(url, headers=headers, json=body) as resp:
        if stream:
            return sum([len(chunk) async for chunk in resp.content.iter_any()])
        return len(json.loads(await resp.read())["output"]["choices"])


# ---------------------------------------------------------------------------- timing


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


async def _atimed(call: Callable[[], Awaitable[object]], gate: asyncio.Semaphore) -> float:
    async with gate:
        start = time.perf_counter()
        await call()
        return time.perf_counter() - start


def run_threads(call: Callable[[], object], n: int, c: int) -> tuple[float, list[float]]:
    with ThreadPoolExecutor(c) as pool:
        list(pool.map(lambda _: _timed(call), range(min(n, c))))  # warm the pool
        start = time.perf_counter()
        latencies = list(pool.map(lambda _: _timed(call), range(n)))
    return time.perf_counter() - start, latencies


async def run_tasks(
    call: Callable[[], Awaitable[object]], n: int, c: int
) -> tuple[float, list[float]]:
    gate = asyncio.Semaphore(c)
    await asyncio.gather(*(_atimed(call, gate) for _ in range(min(n, c))))  # warm the pool
    start = time.perf_counter()
    latencies = await asyncio.gather(*(_atimed(call, gate) for _ in range(n)))
    return time.perf_counter() - start, list(latencies)


def measure(kind: str, base_url: str, n: int, c: int, stream: bool) -> tuple[float, list[float]]:
    if kind == "dashscope-ws sync":
        with DashScopeClient(api_key=MAIN_KEY, base_url=base_url) as client:
            if stream:
                return run_threads(lambda: list(client.stream_chat(MESSAGES, model=MODEL)), n, c)
            return run_threads(lambda: client.chat(MESSAGES, model=MODEL), n, c)
    if kind == "raw requests":
        with requests.Session() as session:
            adapter = requests.adapters.HTTPAdapter(pool_maxsize=c)
            session.mount("http://", adapter)
            return run_threads(lambda: raw_requests_call(session, base_url, stream), n, c)

    async def main() -> tuple[float, list[float]]:
        if kind == "dashscope-ws async":
            async with DashScopeClient(api_key=MAIN_KEY, base_url=base_url) as client:

                async def ours() -> object:
                    if stream:
                        return [ch async for ch in client.astream_chat(MESSAGES, model=MODEL)]
                    return await client.achat(MESSAGES, model=MODEL)

                return await run_tasks(ours, n, c)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:
            return await run_tasks(lambda: raw_aiohttp_call(session, base_url, stream), n, c)

    return asyncio.run(main())


# ---------------------------------------------------------------------------- long stream RSS


def _peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def long_stream_child(kind: str, base_url: str) -> None:
    """Child process: consume one long stream; print peak RSS growth (KiB) and bytes/chars."""
    consumed = 0
    if kind == "raw requests":
        with requests.Session() as session:
            # Warm up with an embedding request: every chat reply on this emulator is long.
            headers = _body(base_url, False)[1]
            session.post(_embed_url(base_url), headers=headers, json=EMBED_BODY, timeout=60).close()
            before = _peak_rss_kib()
            consumed = raw_requests_call(session, base_url, True)
    elif kind == "dashscope-ws sync":
        with DashScopeClient(api_key=MAIN_KEY, base_url=base_url) as client:
            client.embed(["warm-up"])
            before = _peak_rss_kib()
            for chunk in client.stream_chat(MESSAGES, model=MODEL):
                consumed += len(chunk.text)
    else:

        async def main() -> tuple[int, int]:
            total = 0
            if kind == "raw aiohttp":
                async with aiohttp.ClientSession() as session:
                    headers = _body(base_url, False)[1]
                    url = _embed_url(base_url)
                    async with session.post(url, headers=headers, json=EMBED_BODY) as resp:
                        await resp.read()
                    start = _peak_rss_kib()
                    total = await raw_aiohttp_call(session, base_url, True)
                    return start, total
            async with DashScopeClient(api_key=MAIN_KEY, base_url=base_url) as client:
                await client.aembed(["warm-up"])
                start = _peak_rss_kib()
                async for chunk in client.astream_chat(MESSAGES, model=MODEL):
                    total += len(chunk.text)
                return start, total

        before, consumed = asyncio.run(main())
    print(json.dumps({"rss_kib": _peak_rss_kib() - before, "consumed": consumed}))


def long_stream_rss(kind: str, base_url: str) -> dict[str, int]:
    out = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [sys.executable, __file__, "--long-child", kind, "--base-url", base_url],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    result: dict[str, int] = json.loads(out.stdout)
    return result


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="requests per measurement")
    parser.add_argument("-c", type=int, default=20, help="concurrency (tasks or threads)")
    parser.add_argument("--long-kib", type=int, default=32, help="long-stream reply size")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--long-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
    elif args.long_child is not None:
        long_stream_child(args.long_child, args.base_url)
    else:
        report(args.n, args.c, args.long_kib)


def report(n: int, c: int, long_kib: int) -> None:
    """Run every measurement and print the table."""
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, N={n}, C={c}")
    proc, base_url = start_emulator()
    rows = []
    try:
        for kind in KINDS:
            row = [kind]
            for stream in (False, True):
                elapsed, latencies = measure(kind, base_url, n, c, stream)
                row += [f"{n / elapsed:8.0f}", f"{statistics.median(latencies) * 1000:7.1f}"]
            rows.append(row)
    finally:
        stop_emulator(proc)
    proc, base_url = start_emulator(long_kib)
    try:
        for row in rows:
            rss = long_stream_rss(row[0], base_url)
            row.append(f"{rss['rss_kib']:6d}")
    finally:
        stop_emulator(proc)

    header = [
        "client",
        "req/s",
        "p50 ms",
        "stream req/s",
        "stream p50 ms",
        "long-stream peak RSS +KiB",
    ]
    widths = [max(len(h), *(len(r[i].strip()) for r in rows)) for i, h in enumerate(header)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(v.strip().ljust(w) for v, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()

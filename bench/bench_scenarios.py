"""The four scenarios of issue 11 and the import time, as ratios against raw-HTTP floors.

Every subject runs against the same fake DashScope (``_fake_server.py``, its own process,
loopback, canned bytes) in interleaved repetitions: in each repetition the floor and
every subject run once, in turn, so the machine's noise hits them alike; a subject's
ratio is the median over repetitions of (subject / floor of that repetition).

* (a) sequential ``invoke``/``chat``: wall µs per call; floor: ``requests.Session.post().json()``.
* (b) streams of 500 chunks: CPU µs per chunk (``time.process_time`` of this process, the
  server's CPU excluded); floor: ``requests`` streaming + split on blank lines + ``json.loads``.
* (c) 500 concurrent ``achat``/``ainvoke``/``achat`` with 50 ms server latency: wall ms;
  floor: one ``aiohttp`` session, unlimited connector, ``gather``.
* (d) 2,000 texts, ``text-embedding-v3`` (10 per request), async, 50 ms latency: wall ms at
  default settings; floor: ``aiohttp`` ``gather`` of the 200 requests.
* ``import`` time in a fresh interpreter: ``dashscope_ws`` against ``requests``.

No-I/O fake models (langchain-core's ``GenericFakeChatModel``, a minimal LlamaIndex
``CustomLLM``) give each framework's own cost per call and per chunk, so the report shows
how much of a ratio is ours. Competing integrations (official ``dashscope`` SDK,
``ChatTongyi``, ``llama-index-llms-dashscope``) run when installed and are skipped with a
message otherwise.

Run:  python bench/bench_scenarios.py [--quick] [--reps 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import requests

# Measure the checkout this script lives in, not whichever copy is pip-installed.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MODEL = "qwen-plus"
KEY = "sk-bench"
MESSAGES = [{"role": "user", "content": "Tell me about the benchmark."}]
# (the figure reported, CPU seconds of this process, of the figure: time in the cyclic GC)
Sample = tuple[float, float, float]
TARGETS = {  # issue 11's table
    "a": {"langchain": 1.2, "llamaindex": 1.15},
    "b": {"core": 1.5, "langchain": 3.3, "llamaindex": 3.0},
    "c": {"core": 1.3, "langchain": 1.3, "llamaindex": 1.3},
    "d": {"core": 1.3, "langchain": 1.3, "llamaindex": 1.3},
}


# ---------------------------------------------------------------------------- server


class FakeServer:
    """``_fake_server.py`` in a child process."""

    def __init__(self) -> None:
        here = os.path.dirname(os.path.abspath(__file__))
        self.proc = subprocess.Popen(  # noqa: S603  (our own interpreter and script)
            [sys.executable, os.path.join(here, "_fake_server.py")],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()
        self.url = self.base_url + "/services/aigc/text-generation/generation"
        self.embed_url = self.base_url + "/services/embeddings/text-embedding/text-embedding"

    def set(self, **state: float) -> None:
        root = self.base_url[: -len("/api/v1")]
        requests.post(root + "/_control", json=state, timeout=10).raise_for_status()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _headers(stream: bool = False) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    if stream:
        headers["X-DashScope-SSE"] = "enable"
    return headers


def _body(stream: bool = False) -> dict[str, Any]:
    parameters = {"result_format": "message", "incremental_output": True} if stream else {}
    return {"model": MODEL, "input": {"messages": MESSAGES}, "parameters": parameters}


# ---------------------------------------------------------------------------- subjects


def _optional(name: str, build: Callable[[], Any]) -> Any:
    try:
        return build()
    except ImportError as error:
        print(f"  (skipped {name}: {error.name or error} not installed)")
        return None


def fake_langchain(chunks: int) -> Any:
    """GenericFakeChatModel replying ``chunks`` whitespace-split pieces (no I/O).

    With a native ``_agenerate``: langchain-core's fake has none, so its ``ainvoke`` would run
    ``_generate`` in a thread pool, which no real async model does; (c) would then charge the
    executor's cost to the framework.
    """
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    class NativeAsyncFake(GenericFakeChatModel):
        async def _agenerate(self, messages: Any, stop: Any = None, run_manager: Any = None,
                             **kwargs: Any) -> Any:  # fmt: skip
            return self._generate(messages, stop=stop, **kwargs)

    text = " ".join(["tok"] * ((chunks + 1) // 2))
    return NativeAsyncFake(messages=itertools.repeat(AIMessage(content=text)))


def fake_llamaindex(chunks: int) -> Any:
    """The smallest LlamaIndex LLM streaming ``chunks`` deltas (no I/O)."""
    from llama_index.core.base.llms.types import (
        ChatMessage,
        ChatResponse,
        CompletionResponse,
        LLMMetadata,
    )
    from llama_index.core.llms import CustomLLM
    from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback

    class FakeLLM(CustomLLM):
        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(is_chat_model=True)

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> Any:
            return CompletionResponse(text="ok")

        @llm_completion_callback()
        def stream_complete(self, prompt: str, formatted: bool = False, **kw: Any) -> Any:
            return iter([CompletionResponse(text="ok", delta="ok")])

        @llm_chat_callback()
        def chat(self, messages: Any, **kw: Any) -> Any:
            return ChatResponse(message=ChatMessage(role="assistant", content="ok"))

        @llm_chat_callback()
        def stream_chat(self, messages: Any, **kw: Any) -> Any:
            def gen() -> Iterator[ChatResponse]:
                for _ in range(chunks):
                    yield ChatResponse(
                        message=ChatMessage(role="assistant", content=""), delta="tok "
                    )

            return gen()

    return FakeLLM()


def _decoded_events(chunks: int) -> list[Any]:
    """The fake server's stream of ``chunks`` events, already decoded into core chunks."""
    from _fake_server import _stream

    from dashscope_ws.sse import ChatStreamDecoder

    return ChatStreamDecoder(model=MODEL).feed(_stream(chunks))


def lean_langchain(chunks: int) -> Any:
    """A LangChain model streaming our own chunks from already-decoded events (no I/O)."""
    from langchain_core.language_models import BaseChatModel

    from langchain_dashscope_ws._convert import StreamConverter

    events = _decoded_events(chunks)

    class LeanModel(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "lean"

        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

        def _stream(self, *args: Any, **kwargs: Any) -> Any:
            yield from map(StreamConverter(model=MODEL).generation, events)

    return LeanModel()


def lean_llamaindex(chunks: int) -> Any:
    """A LlamaIndex LLM streaming our own responses from already-decoded events (no I/O)."""
    from llama_index.core.llms.callbacks import llm_chat_callback

    from llamaindex_dashscope_ws._stream import StreamFolder

    events = _decoded_events(chunks)

    class LeanLLM(type(fake_llamaindex(1))):  # type: ignore[misc]
        @llm_chat_callback()
        def stream_chat(self, messages: Any, **kw: Any) -> Any:
            return (response for response in map(StreamFolder().add, events))

    return LeanLLM()


def sync_subjects(server: FakeServer) -> dict[str, Callable[[bool], int]]:
    """name -> run(stream) returning the number of chunks seen (1 for a plain call)."""
    from llama_index.core.base.llms.types import ChatMessage

    from dashscope_ws import DashScopeClient
    from langchain_dashscope_ws import ChatDashScope
    from llamaindex_dashscope_ws import DashScope

    session = requests.Session()
    client = DashScopeClient(api_key=KEY, base_url=server.base_url)
    lc = ChatDashScope(model=MODEL, api_key=KEY, base_url=server.base_url)
    li = DashScope(model=MODEL, api_key=KEY, base_url=server.base_url)
    li_messages = [ChatMessage(role="user", content=MESSAGES[0]["content"])]
    prompt = MESSAGES[0]["content"]

    def floor(stream: bool) -> int:
        if not stream:
            session.post(server.url, json=_body(), headers=_headers()).json()
            return 1
        count, buffer = 0, b""
        with session.post(server.url, json=_body(True), headers=_headers(True), stream=True) as r:
            for data in r.iter_content(None):
                *events, buffer = (buffer + data).split(b"\n\n")
                for event in events:
                    json.loads(event[event.index(b"data:") + 5 :])
                    count += 1
        return count

    subjects: dict[str, Callable[[bool], int]] = {
        "floor (requests)": floor,
        "core": lambda s: (
            sum(1 for _ in client.stream_chat(MESSAGES, model=MODEL))
            if s
            else bool(client.chat(MESSAGES, model=MODEL))
        ),
        "langchain": lambda s: sum(1 for _ in lc.stream(prompt)) if s else bool(lc.invoke(prompt)),
        "llamaindex": lambda s: (
            sum(1 for _ in li.stream_chat(li_messages)) if s else bool(li.chat(li_messages))
        ),
    }
    sdk = _optional("official SDK", lambda: __import__("dashscope"))
    if sdk is not None:
        sdk.base_http_api_url = server.base_url
        os.environ["DASHSCOPE_DISABLE_SDK_HEADERS"] = "1"

        def official(stream: bool) -> int:
            out = sdk.Generation.call(
                model=MODEL, messages=MESSAGES, api_key=KEY, result_format="message",
                stream=stream, incremental_output=stream,
            )  # fmt: skip
            return sum(1 for _ in out) if stream else 1

        subjects["official SDK"] = official
    tongyi = _optional("ChatTongyi", lambda: __import__("langchain_community.chat_models.tongyi"))
    if tongyi is not None:
        from langchain_community.chat_models.tongyi import ChatTongyi

        ct = ChatTongyi(model=MODEL, api_key=KEY, streaming=True)
        subjects["ChatTongyi"] = lambda s: sum(1 for _ in ct.stream(prompt)) if s else 1
    other = _optional(
        "llama-index-llms-dashscope", lambda: __import__("llama_index.llms.dashscope")
    )
    if other is not None:
        from llama_index.llms.dashscope import DashScope as TheirLlama

        tl = TheirLlama(model_name=MODEL, api_key=KEY)
        subjects["llama-index-llms-dashscope"] = lambda s: (
            sum(1 for _ in tl.stream_chat(li_messages)) if s else bool(tl.chat(li_messages))
        )
    return subjects


# ---------------------------------------------------------------------------- measuring


class GCTimer:
    """CPU seconds spent in the cyclic garbage collector (``gc.callbacks``), cumulative.

    A full collection walks every object of the process, so its cost depends on the heap
    (all the libraries this script imported) and on how many objects a subject keeps alive
    while it runs (LangChain's ``stream()`` keeps every chunk until the end): reported apart
    so that a reader can tell the collector's share from the code's own.
    """

    def __init__(self) -> None:
        self.total = 0.0
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.total += time.process_time() - self._start


GC = GCTimer()


def interleave(subjects: dict[str, Callable[[], Sample]], reps: int) -> dict[str, list[Sample]]:
    """Per subject, one measurement per repetition; subjects take turns in each."""
    out: dict[str, list[Sample]] = {name: [] for name in subjects}
    for run in subjects.values():
        run()  # warm-up: pools, imports, caches
    for _ in range(reps):
        for name, run in subjects.items():
            out[name].append(run())
    return out


# No-I/O models per adapter: the framework's own cost, which no model can avoid. "fake":
# the framework's stock fake (its own chunk building); "lean": our chunks or responses,
# built from already-decoded events (so floor + lean is what ours would cost if the
# transport and decoding beyond the raw-HTTP floor were free).
BOUNDS = {
    "fake": {"langchain": "fake LangChain model", "llamaindex": "fake LlamaIndex LLM"},
    "lean": {"langchain": "lean LangChain model", "llamaindex": "lean LlamaIndex LLM"},
}


def report(title: str, unit: str, results: dict[str, list[Sample]], scenario: str) -> None:
    """Medians and ratios; a sample is (figure, CPU seconds of this process for the run)."""
    floor_name = next(iter(results))
    floors = results[floor_name]
    with_gc = any(v[2] for values in results.values() for v in values)
    gc_head, gc_rule = (f" of which GC {unit} |", "---|") if with_gc else ("", "")
    print(f"\n### {title}\n")
    print(f"| subject | median {unit} | × floor | CPU × floor |{gc_head} target |")
    print(f"|---|---|---|---|{gc_rule}---|")
    for name, values in results.items():
        ratio = statistics.median(v[0] / f[0] for v, f in zip(values, floors, strict=True))
        cpu = statistics.median(v[1] / f[1] for v, f in zip(values, floors, strict=True))
        target = TARGETS.get(scenario, {}).get(name)
        verdict = "" if target is None else f"≤ {target}× {'met' if ratio <= target else 'NOT met'}"
        no_io = name.startswith(("fake", "lean"))
        ratio_text = "(no I/O)" if no_io else f"{ratio:.2f}×"
        cpu_text = "" if no_io else f"{cpu:.2f}×"
        median = statistics.median(v[0] for v in values)
        gc_text = f" {statistics.median(v[2] for v in values):.1f} |" if with_gc else ""
        print(f"| {name} | {median:.1f} | {ratio_text} | {cpu_text} |{gc_text} {verdict} |")
    report_limits(unit, results, floors, scenario)


def report_limits(unit: str, results: dict[str, list[Sample]], floors: list[Sample],
                  scenario: str) -> None:  # fmt: skip
    """Each adapter against floor + a no-I/O model of its framework (see ``BOUNDS``).

    Issue 11 calls floor + framework the physical limit; the last column is what ours
    adds to it (negative: ours is cheaper than that model plus the floor).
    """
    rows = [(name, kind, models[name]) for kind, models in BOUNDS.items() for name in models
            if name in results and models[name] in results]  # fmt: skip
    if not rows:
        return
    print(f"\n| adapter | limit | limit × floor | ours − limit, {unit} | target |")
    print("|---|---|---|---|---|")
    for name, kind, model in rows:
        limit = [f[0] + k[0] for f, k in zip(floors, results[model], strict=True)]
        bound = statistics.median(b / f[0] for b, f in zip(limit, floors, strict=True))
        over = statistics.median(v[0] - b for v, b in zip(results[name], limit, strict=True))
        target = TARGETS.get(scenario, {}).get(name)
        note = "" if target is None else f"≤ {target}×"
        if target is not None and bound > target:
            note += " (below the limit)"
        print(f"| {name} | floor + {kind} model | {bound:.2f}× | {over:+.1f} | {note} |")


def cpu_per_chunk(run: Callable[[bool], int], streams: int) -> Callable[[], Sample]:
    def measure() -> Sample:
        start, chunks, in_gc = time.process_time(), 0, GC.total
        for _ in range(streams):
            chunks += run(True)
        cpu = time.process_time() - start
        per_chunk = 1e6 / max(chunks, 1)
        return cpu * per_chunk, cpu, (GC.total - in_gc) * per_chunk

    return measure


def wall_per_call(run: Callable[[bool], int], calls: int) -> Callable[[], Sample]:
    def measure() -> Sample:
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            run(False)
        return 1e6 * (time.perf_counter() - start) / calls, time.process_time() - cpu, 0.0

    return measure


def scenario_a(server: FakeServer, reps: int, calls: int) -> None:
    server.set(latency=0.0)
    subjects = {name: wall_per_call(run, calls) for name, run in sync_subjects(server).items()}
    lc_fake, li_fake = fake_langchain(1), fake_llamaindex(1)
    from llama_index.core.base.llms.types import ChatMessage

    msgs = [ChatMessage(role="user", content="hi")]
    subjects["fake LangChain model"] = wall_per_call(lambda s: bool(lc_fake.invoke("hi")), calls)
    subjects["fake LlamaIndex LLM"] = wall_per_call(lambda s: bool(li_fake.chat(msgs)), calls)
    report(f"(a) {calls} sequential invokes, µs per call (wall)", "µs/call",
           interleave(subjects, reps), "a")  # fmt: skip


def scenario_b(server: FakeServer, reps: int, streams: int, chunks: int) -> None:
    server.set(latency=0.0, chunks=chunks)
    subjects = {name: cpu_per_chunk(run, streams) for name, run in sync_subjects(server).items()}
    lc_fake, li_fake = fake_langchain(chunks), fake_llamaindex(chunks)
    from llama_index.core.base.llms.types import ChatMessage

    msgs = [ChatMessage(role="user", content="hi")]
    subjects["fake LangChain model"] = cpu_per_chunk(
        lambda s: sum(1 for _ in lc_fake.stream("hi")), streams
    )
    subjects["fake LlamaIndex LLM"] = cpu_per_chunk(
        lambda s: sum(1 for _ in li_fake.stream_chat(msgs)), streams
    )
    lc_lean, li_lean = lean_langchain(chunks), lean_llamaindex(chunks)
    subjects["lean LangChain model"] = cpu_per_chunk(
        lambda s: sum(1 for _ in lc_lean.stream("hi")), streams
    )
    subjects["lean LlamaIndex LLM"] = cpu_per_chunk(
        lambda s: sum(1 for _ in li_lean.stream_chat(msgs)), streams
    )
    report(f"(b) {streams} streams × {chunks} chunks, CPU µs per chunk", "µs/chunk",
           interleave(subjects, reps), "b")  # fmt: skip


def _async_wall(make: Callable[[], Any], per: int = 1) -> Callable[[], Sample]:
    """(wall ms that ``make()`` reports, CPU s and GC ms of the run, both ÷ ``per``)."""

    def measure() -> Sample:
        cpu, in_gc = time.process_time(), GC.total
        wall = asyncio.run(make())
        return wall, (time.process_time() - cpu) / per, 1000 * (GC.total - in_gc) / per

    return measure


def scenario_c(server: FakeServer, reps: int, n: int, bursts: int) -> None:
    from llama_index.core.base.llms.types import ChatMessage

    from dashscope_ws import DashScopeClient
    from langchain_dashscope_ws import ChatDashScope
    from llamaindex_dashscope_ws import DashScope

    server.set(latency=0.05)
    prompt = MESSAGES[0]["content"]
    li_messages = [ChatMessage(role="user", content=prompt)]

    async def timed(call: Callable[[], Any]) -> float:
        # Mean wall of `bursts` bursts of n gathered calls: one burst alone pays a full
        # collection of the whole heap or not depending on what the previous subject left
        # pending (a lottery by position); over several, each pays its own steady state.
        start = time.perf_counter()
        for _ in range(bursts):
            await asyncio.gather(*(call() for _ in range(n)))
        return 1000 * (time.perf_counter() - start) / bursts

    async def floor() -> float:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

            async def one() -> Any:
                async with session.post(server.url, json=_body(), headers=_headers()) as r:
                    return json.loads(await r.read())

            return await timed(one)

    async def core() -> float:
        async with DashScopeClient(api_key=KEY, base_url=server.base_url) as client:
            return await timed(lambda: client.achat(MESSAGES, model=MODEL))

    async def langchain() -> float:
        llm = ChatDashScope(model=MODEL, api_key=KEY, base_url=server.base_url)
        return await timed(lambda: llm.ainvoke(prompt))

    async def llamaindex() -> float:
        llm = DashScope(model=MODEL, api_key=KEY, base_url=server.base_url)
        return await timed(lambda: llm.achat(li_messages))

    lc_fake, li_fake = fake_langchain(1), fake_llamaindex(1)

    async def fake_lc() -> float:  # the framework's own cost of n gathered calls, no I/O
        return await timed(lambda: lc_fake.ainvoke(prompt))

    async def fake_li() -> float:
        return await timed(lambda: li_fake.achat(li_messages))

    subjects = {
        "floor (aiohttp)": _async_wall(floor, bursts),
        "core": _async_wall(core, bursts),
        "langchain": _async_wall(langchain, bursts),
        "llamaindex": _async_wall(llamaindex, bursts),
        "fake LangChain model": _async_wall(fake_lc, bursts),
        "fake LlamaIndex LLM": _async_wall(fake_li, bursts),
    }
    report(f"(c) {n} concurrent achat/ainvoke, 50 ms server latency, wall ms per burst "
           f"(mean of {bursts})", "ms",
           interleave(subjects, reps), "c")  # fmt: skip


def scenario_d(server: FakeServer, reps: int, texts_count: int) -> None:
    from dashscope_ws import DashScopeClient
    from langchain_dashscope_ws import DashScopeEmbeddings
    from llamaindex_dashscope_ws import DashScopeEmbedding

    server.set(latency=0.05)
    texts = [f"Document {i} about topic {i % 7} and the West Lake." for i in range(texts_count)]
    model = "text-embedding-v3"

    async def floor() -> float:
        start = time.perf_counter()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

            async def one(batch: list[str]) -> Any:
                body = {"model": model, "input": {"texts": batch}, "parameters": {}}
                async with session.post(server.embed_url, json=body, headers=_headers()) as r:
                    return json.loads(await r.read())

            await asyncio.gather(*(one(texts[i : i + 10]) for i in range(0, len(texts), 10)))
        return 1000 * (time.perf_counter() - start)

    async def core() -> float:
        start = time.perf_counter()
        async with DashScopeClient(api_key=KEY, base_url=server.base_url) as client:
            await client.aembed(texts, model=model)
        return 1000 * (time.perf_counter() - start)

    async def langchain() -> float:
        start = time.perf_counter()
        emb = DashScopeEmbeddings(model=model, api_key=KEY, base_url=server.base_url)
        await emb.aembed_documents(texts)
        return 1000 * (time.perf_counter() - start)

    async def llamaindex() -> float:
        start = time.perf_counter()
        emb = DashScopeEmbedding(model_name=model, api_key=KEY, base_url=server.base_url)
        await emb.aget_text_embedding_batch(texts)
        return 1000 * (time.perf_counter() - start)

    subjects = {
        "floor (aiohttp)": _async_wall(floor),
        "core": _async_wall(core),
        "langchain": _async_wall(langchain),
        "llamaindex": _async_wall(llamaindex),
    }
    report(f"(d) {texts_count} texts, {model}, async, 50 ms latency, wall ms", "ms",
           interleave(subjects, reps), "d")  # fmt: skip


def import_times(reps: int) -> None:
    def child(module: str) -> Callable[[], float]:
        code = (
            f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        )

        def measure() -> Sample:
            out = subprocess.run(  # noqa: S603  (our own interpreter)
                [sys.executable, "-c", code], capture_output=True, text=True, check=True,
                cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            )  # fmt: skip
            seconds = float(out.stdout.strip())
            return 1000 * seconds, seconds, 0.0

        return measure

    subjects = {"floor: import requests": child("requests"), "import aiohttp": child("aiohttp"),
                "import dashscope_ws": child("dashscope_ws")}  # fmt: skip
    report("import time in a fresh interpreter, ms", "ms", interleave(subjects, reps), "import")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and streams per rep")
    parser.add_argument("--reps", type=int, default=None, help="interleaved repetitions")
    parser.add_argument("--only", default="a,b,c,d,import", help="scenarios to run")
    args = parser.parse_args()
    reps = args.reps or (3 if args.quick else 5)
    only = set(args.only.split(","))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, reps={reps}"
          f"{' (quick)' if args.quick else ''}")  # fmt: skip
    server = FakeServer()
    try:
        if "a" in only:
            scenario_a(server, reps, 100 if args.quick else 300)
        if "b" in only:
            scenario_b(server, reps, 10 if args.quick else 50, 500)
        if "c" in only:
            scenario_c(server, reps, 500, 2 if args.quick else 4)
        if "d" in only:
            scenario_d(server, reps, 2000)
        if "import" in only:
            import_times(reps * 2)
    finally:
        server.close()


if __name__ == "__main__":
    main()

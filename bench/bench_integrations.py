"""dashscope-ws adapters vs the existing integrations, against the emulator on loopback.

Compares, with the emulator in a separate process (see ``_emulator_proc.py``):

* LangChain: our ``ChatDashScope`` vs langchain-community's ``ChatTongyi`` (official
  ``dashscope`` SDK, pointed at the emulator through ``dashscope.base_http_api_url``);
* LlamaIndex: our ``DashScope`` vs ``llama-index-llms-dashscope``'s ``DashScope`` (same SDK);
* embeddings: our ``DashScopeEmbeddings`` vs langchain-community's, for 100 texts;

for sequential latency, stream time to first token and total, async concurrency against a
server that takes ``--think`` seconds per reply, peak RSS growth during one long stream (each
in a fresh process), and a list of behaviour differences seen on the wire.

Needs ``pip install langchain-community llama-index-llms-dashscope`` (not in the dev extra).

Run:  python bench/bench_integrations.py [--rounds 30] [-n 60] [-c 20] [--long-kib 32]
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
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

warnings.filterwarnings("ignore", category=DeprecationWarning)  # langchain-community is sunset

import dashscope  # noqa: E402
from langchain_community.chat_models.tongyi import ChatTongyi  # noqa: E402
from langchain_community.embeddings import DashScopeEmbeddings as CommunityEmbeddings  # noqa: E402
from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessageChunk, BaseMessageChunk  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from llama_index.core.llms import LLM, ChatMessage  # noqa: E402
from llama_index.llms.dashscope import DashScope as OfficialLlama  # noqa: E402

from dashscope_ws.emulator import MAIN_KEY  # noqa: E402
from langchain_dashscope_ws import ChatDashScope, DashScopeEmbeddings  # noqa: E402
from llamaindex_dashscope_ws import DashScope as OurLlama  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _emulator_proc import EmulatorProcess  # noqa: E402

MODEL = "qwen-plus"
PROMPT = "Tell me about the benchmark."
WEATHER = "What is the weather in Hangzhou?"
LC_OURS, LC_THEIRS = "ChatDashScope (ours)", "ChatTongyi (community)"
LI_OURS, LI_THEIRS = "DashScope (ours)", "DashScope (llama-index-llms-dashscope)"


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"sunny in {city}"


def point_sdk_at(base_url: str) -> None:
    """The official SDK's endpoint is process-global; the integrations cannot take one."""
    dashscope.base_http_api_url = base_url
    os.environ["DASHSCOPE_DISABLE_SDK_HEADERS"] = "1"


def langchain_models(base_url: str, **extra: Any) -> dict[str, BaseChatModel]:
    point_sdk_at(base_url)
    return {
        LC_OURS: ChatDashScope(model=MODEL, api_key=MAIN_KEY, base_url=base_url, **extra),
        LC_THEIRS: ChatTongyi(model=MODEL, api_key=MAIN_KEY, **extra),
    }


def llama_models(base_url: str, **extra: Any) -> dict[str, LLM]:
    point_sdk_at(base_url)
    return {
        LI_OURS: OurLlama(model=MODEL, api_key=MAIN_KEY, base_url=base_url, **extra),
        LI_THEIRS: OfficialLlama(model_name=MODEL, api_key=MAIN_KEY, **extra),
    }


# ---------------------------------------------------------------------------- measurements


def ms(values: Iterable[float], q: float = 0.5) -> str:
    ordered = sorted(values)
    return f"{1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.1f}"


def interleaved(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Seconds per call, the clients taking turns each round (the machine's noise is shared)."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(rounds + 3):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            if round_ >= 3:  # the first rounds warm pools, caches and the emulator
                times[name].append(time.perf_counter() - start)
    return times


def stream_times(
    streams: dict[str, Callable[[], Iterable[str]]], rounds: int
) -> dict[str, tuple[list[float], list[float], list[float]]]:
    """Per client and round: seconds to the first non-empty text, in total, and text chunks."""
    out: dict[str, tuple[list[float], list[float], list[float]]] = {
        name: ([], [], []) for name in streams
    }
    for _ in range(rounds):
        for name, stream in streams.items():
            ttft, total, chunks = out[name]
            start = time.perf_counter()
            first, count = None, 0
            for text in stream():
                if text and first is None:
                    first = time.perf_counter() - start
                count += bool(text)
            total.append(time.perf_counter() - start)
            ttft.append(first if first is not None else total[-1])
            chunks.append(float(count))
    return out


async def concurrency(call: Callable[[], Awaitable[object]], n: int, c: int) -> tuple[float, int]:
    """Wall seconds for ``n`` calls at most ``c`` at a time, and the peak thread count."""
    gate = asyncio.Semaphore(c)
    peak = threading.active_count()
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, threading.active_count())
            await asyncio.sleep(0.002)

    async def one() -> None:
        async with gate:
            await call()

    await asyncio.gather(*(one() for _ in range(c)))  # warm pools and executors
    sampler = asyncio.ensure_future(sample())
    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    elapsed = time.perf_counter() - start
    done.set()
    await sampler
    return elapsed, peak


def lc_texts(model: BaseChatModel) -> Callable[[], Iterable[str]]:
    return lambda: (str(chunk.content) for chunk in model.stream(PROMPT))


def li_texts(llm: LLM) -> Callable[[], Iterable[str]]:
    messages = [ChatMessage(role="user", content=PROMPT)]
    return lambda: (r.delta or "" for r in llm.stream_chat(messages))


# ---------------------------------------------------------------------------- memory (child)


def memory_child(kind: str, base_url: str) -> None:
    """Fresh process: warm up with a short stream, then report the RSS peak growth of a long one."""
    if kind.startswith("lc"):
        streaming = {"streaming": True} if kind == "lc-theirs-streaming" else {}
        model = langchain_models(base_url, **streaming)[LC_OURS if kind == "lc-ours" else LC_THEIRS]
        stream = lc_texts(model)
    else:
        llm = llama_models(base_url)[LI_OURS if kind == "li-ours" else LI_THEIRS]
        stream = li_texts(llm)
    for _ in stream():  # the warm-up reply the parent scripted
        pass
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    chars = sum(len(text) for text in stream())
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rss_kib": after - before, "chars": chars}))


def memory(emu: EmulatorProcess, kind: str, kib: int) -> dict[str, int]:
    emu.command("reset")
    emu.command("memory", kib)
    out = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [sys.executable, __file__, "--memory-child", kind, emu.base_url],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------------------- sections


def table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def chat_section(
    emu: EmulatorProcess, title: str, models: dict[str, Any], args: argparse.Namespace
) -> None:
    is_lc = title == "LangChain"
    msgs = [ChatMessage(role="user", content=PROMPT)]
    if is_lc:
        calls = {name: (lambda m=m: m.invoke(PROMPT)) for name, m in models.items()}
        streams = {name: lc_texts(m) for name, m in models.items()}
        acalls = {name: (lambda m=m: m.ainvoke(PROMPT)) for name, m in models.items()}
    else:
        calls = {name: (lambda m=m: m.chat(msgs)) for name, m in models.items()}
        streams = {name: li_texts(m) for name, m in models.items()}
        acalls = {name: (lambda m=m: m.achat(msgs)) for name, m in models.items()}
    emu.command("reset")
    latency = interleaved(calls, args.rounds)
    emu.command("pace", args.words, args.pace)
    streamed = stream_times(streams, max(5, args.rounds // 3))
    emu.command("reset")
    emu.command("latency", args.think)
    rows = []
    for name in models:
        wall, threads = asyncio.run(concurrency(acalls[name], args.n, args.c))
        side = "ours" if "ours" in name else "theirs"
        mem = memory(emu, ("lc-" if is_lc else "li-") + side, args.long_kib)
        emu.command("latency", args.think)
        ttft, total, chunks = streamed[name]
        rows.append([
            name, ms(latency[name]), ms(latency[name], 0.9), ms(ttft), ms(total),
            f"{statistics.median(chunks):.0f}", f"{wall:.2f}", f"{args.n / wall:.0f}",
            str(threads), str(mem["rss_kib"]),
        ])  # fmt: skip
    emu.command("reset")
    if is_lc:  # ChatTongyi only really streams with streaming=True: measure that too
        mem = memory(emu, "lc-theirs-streaming", args.long_kib)
        rows.append([*["ChatTongyi (streaming=True)"], *["-"] * 8, str(mem["rss_kib"])])
    print(f"### {title}\n")
    table(
        ["client", "call p50 ms", "call p90 ms", "stream TTFT p50 ms", "stream total p50 ms",
         "text chunks", f"async {args.n}x@{args.c} s", "async req/s", "peak threads",
         f"{args.long_kib} KiB stream peak RSS +KiB"],
        rows,
    )  # fmt: skip


def embeddings_section(emu: EmulatorProcess, rounds: int) -> None:
    texts = [f"Document {i}: notes about topic {i % 7} and the West Lake." for i in range(100)]
    point_sdk_at(emu.base_url)
    clients: dict[str, Any] = {
        "DashScopeEmbeddings (ours)": DashScopeEmbeddings(
            model="text-embedding-v4", api_key=MAIN_KEY, base_url=emu.base_url
        ),
        "DashScopeEmbeddings (community)": CommunityEmbeddings(
            model="text-embedding-v4", dashscope_api_key=MAIN_KEY
        ),
    }
    rows = []
    for mode in ("embed_documents", "aembed_documents"):
        emu.command("reset")
        if mode == "embed_documents":
            calls = {n: (lambda e=e: e.embed_documents(texts)) for n, e in clients.items()}
        else:
            calls = {
                n: (lambda e=e: asyncio.run(e.aembed_documents(texts))) for n, e in clients.items()
            }
        times = interleaved(calls, rounds)
        for name, call in calls.items():
            emu.command("reset")
            call()  # once more, alone, to read exactly its requests from the emulator's log
            log = [r for r in emu.command("log") if r["texts"] is not None]
            types = {str((r["parameters"] or {}).get("text_type")) for r in log}
            text_type = ",".join(sorted(types))
            sizes = str([r["texts"] for r in log]).replace(", ", " ")
            rows.append([name, mode, ms(times[name]), str(len(log)), sizes, text_type])
    print("### Embeddings: 100 texts, text-embedding-v4\n")
    table(["client", "method", "p50 ms", "requests per call", "rows per request",
           "text_type on the wire"], rows)  # fmt: skip


def _merged(chunks: Iterable[BaseMessageChunk]) -> tuple[int, AIMessageChunk | None]:
    merged: Any = None
    count = 0
    for chunk in chunks:
        count += 1
        merged = chunk if merged is None else merged + chunk
    return count, merged


def _streamed_tool_calls(model: Any) -> tuple[int, object]:
    count, merged = _merged(model.bind_tools([get_weather]).stream(WEATHER))
    return count, _calls(merged.tool_calls) if merged is not None else None


def _calls(tool_calls: list[Any]) -> list[tuple[str, object]]:
    return [(call["name"], call["args"]) for call in tool_calls]


def _attempt(call: Callable[[], object]) -> str:
    try:
        return repr(call())[:90]
    except Exception as error:  # we report whatever it raises
        return f"raises {type(error).__name__}: {str(error)[:60]!r}"


def correctness_section(emu: EmulatorProcess) -> None:
    facts: list[list[str]] = []
    emu.command("reset")
    for name, model in langchain_models(emu.base_url).items():
        message = model.invoke(PROMPT)
        facts.append([name, "invoke usage_metadata", str(message.usage_metadata)])
        facts.append([name, "invoke response_metadata keys",
                      str(sorted(message.response_metadata))])  # fmt: skip
        count, merged = _merged(model.stream(PROMPT))
        assert merged is not None
        facts.append([name, "stream: chunks / merged usage_metadata",
                      f"{count} / {merged.usage_metadata}"])  # fmt: skip
        bound = model.bind_tools([get_weather])
        facts.append([name, "invoke with tools: tool_calls",
                      _attempt(lambda b=bound: _calls(b.invoke(WEATHER).tool_calls))])  # fmt: skip
        facts.append([name, "stream with tools: chunks, merged tool_calls",
                      _attempt(lambda m=model: _streamed_tool_calls(m))])  # fmt: skip
    # ChatTongyi's .stream() only streams when `streaming=True` is passed explicitly.
    point_sdk_at(emu.base_url)
    streaming = ChatTongyi(model=MODEL, api_key=MAIN_KEY, streaming=True)
    tongyi_streaming = "ChatTongyi (streaming=True)"
    count, merged = _merged(streaming.stream(PROMPT))
    assert merged is not None
    facts.append([tongyi_streaming, "stream: chunks / merged usage_metadata",
                  f"{count} / {merged.usage_metadata}"])  # fmt: skip
    facts.append([tongyi_streaming, "stream with tools: chunks, merged tool_calls",
                  _attempt(lambda: _streamed_tool_calls(streaming))])  # fmt: skip
    models = [*langchain_models(emu.base_url).items(), (tongyi_streaming, streaming)]
    for name, model in models:
        emu.command("two-tools")
        facts.append([name, "stream two parallel tool calls: chunks, merged tool_calls",
                      _attempt(lambda m=model: _streamed_tool_calls(m))])  # fmt: skip
    emu.command("reset")
    for name, model in langchain_models(emu.base_url, temperature=0.3, max_tokens=7).items():
        model.invoke(PROMPT)
        params = emu.command("log")[-1]["parameters"]
        facts.append([name, "temperature=0.3, max_tokens=7 on the wire",
                      str({k: params.get(k) for k in ("temperature", "max_tokens")})])  # fmt: skip
    point_sdk_at(emu.base_url)
    bad_lc = {
        LC_OURS: ChatDashScope(model=MODEL, api_key="sk-invalid", base_url=emu.base_url),
        LC_THEIRS: ChatTongyi(model=MODEL, api_key="sk-invalid", max_retries=1),
    }
    for name, model in bad_lc.items():
        facts.append([name, "invalid key, invoke", _attempt(lambda m=model: m.invoke(PROMPT))])
    bad_li = {
        LI_OURS: OurLlama(model=MODEL, api_key="sk-invalid", base_url=emu.base_url),
        LI_THEIRS: OfficialLlama(model_name=MODEL, api_key="sk-invalid"),
    }
    msgs = [ChatMessage(role="user", content=PROMPT)]
    for name, llm in bad_li.items():
        facts.append([name, "invalid key, chat", _attempt(lambda m=llm: str(m.chat(msgs)))])
    emu.command("reset")
    for name, factory in ((LI_OURS, OurLlama), (LI_THEIRS, OfficialLlama)):
        try:
            if factory is OurLlama:
                llm = OurLlama(model=MODEL, api_key=MAIN_KEY, base_url=emu.base_url,
                               workspace="ws-emu-sub")  # fmt: skip
            else:
                llm = OfficialLlama(model_name=MODEL, api_key=MAIN_KEY, workspace="ws-emu-sub")
            llm.chat(msgs)
            sent = emu.command("log")[-1]["workspace"]
            facts.append([name, "workspace='ws-emu-sub': X-DashScope-WorkSpace sent", str(sent)])
        except Exception as error:  # reported, not handled
            facts.append([name, "workspace='ws-emu-sub'", f"raises {type(error).__name__}"])
    key_before = dashscope.api_key
    CommunityEmbeddings(model="text-embedding-v4", dashscope_api_key="sk-other-tenant")
    facts.append(["DashScopeEmbeddings (community)", "constructor: global dashscope.api_key",
                  f"{key_before!r} -> {dashscope.api_key!r}"])  # fmt: skip
    print("### Behaviour differences observed\n")
    table(["client", "check", "observed"], [[c.replace("|", "/") for c in row] for row in facts])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="sequential calls per client")
    parser.add_argument("-n", type=int, default=60, help="async calls per client")
    parser.add_argument("-c", type=int, default=20, help="async concurrency")
    parser.add_argument("--think", type=float, default=0.1, help="server delay for the async run")
    parser.add_argument("--words", type=int, default=40, help="words in a paced stream")
    parser.add_argument("--pace", type=float, default=0.005, help="seconds between stream chunks")
    parser.add_argument("--long-kib", type=int, default=32, help="long stream size (memory)")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument(
        "--only", default="langchain,llamaindex,embeddings,correctness", help="sections to run"
    )
    args = parser.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    only = set(args.only.split(","))
    cpus = os.cpu_count()
    print(f"python {sys.version.split()[0]}, {cpus} CPUs, dashscope SDK {dashscope.__version__}, "
          f"rounds={args.rounds}, async N={args.n} C={args.c} think={args.think}s, "
          f"paced stream {args.words} words / {args.pace}s\n")  # fmt: skip
    with EmulatorProcess() as emu:
        if "langchain" in only:
            chat_section(emu, "LangChain", langchain_models(emu.base_url), args)
        if "llamaindex" in only:
            chat_section(emu, "LlamaIndex", llama_models(emu.base_url), args)
        if "embeddings" in only:
            embeddings_section(emu, max(3, args.rounds // 6))
        if "correctness" in only:
            correctness_section(emu)


if __name__ == "__main__":
    main()

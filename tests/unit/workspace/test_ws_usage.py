"""UsageTracker: totals, cost, report; fed by LangChain and LlamaIndex against the emulator."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.instrumentation import get_dispatcher

from dashscope_ws import DashScopeClient
from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator, ScriptedReply
from dashscope_ws.types import Usage
from dashscope_ws.usage import Price, UsageTracker
from langchain_dashscope_ws import ChatDashScope, DashScopeUsageCallbackHandler
from llamaindex_dashscope_ws import DashScope, DashScopeUsageEventHandler

DETAILED = {
    "input_tokens": 40,
    "output_tokens": 30,
    "total_tokens": 70,
    "prompt_tokens_details": {"cached_tokens": 16},
    "output_tokens_details": {"reasoning_tokens": 12},
}


# ----------------------------------------------------------------------------- tracker


def test_totals_per_workspace_and_model_with_cost() -> None:
    tracker = UsageTracker(
        prices={"qwen-plus": {"input": 0.8, "output": 2.0, "cached": 0.16}}, currency="CNY"
    )
    detailed = Usage(
        input_tokens=1_000_000, output_tokens=500_000, cached_tokens=250_000, reasoning_tokens=1
    )
    tracker.record(workspace="ws-a", model="qwen-plus", usage=detailed, kind="chat")
    tracker.record(workspace="ws-a", model="qwen-plus", usage=Usage(input_tokens=10), kind="stream")
    tracker.record(
        workspace=None, model="text-embedding-v4", usage=Usage(total_tokens=7), kind="embedding"
    )
    rows = {(r["workspace"], r["model"]): r for r in tracker.to_dict()["rows"]}
    plus = rows["ws-a", "qwen-plus"]
    assert (plus["requests"], plus["input_tokens"], plus["output_tokens"]) == (
        2,
        1_000_010,
        500_000,
    )
    assert (plus["cached_tokens"], plus["reasoning_tokens"]) == (250_000, 1)
    assert plus["by_kind"] == {"chat": 1, "stream": 1}
    # 750_010 input at 0.8 + 250_000 cached at 0.16 + 500_000 output at 2.0, per 1M.
    assert plus["cost"] == pytest.approx((750_010 * 0.8 + 250_000 * 0.16 + 500_000 * 2.0) / 1e6)
    embedding = rows[None, "text-embedding-v4"]
    assert (embedding["input_tokens"], embedding["total_tokens"], embedding["cost"]) == (7, 7, None)
    assert tracker.to_dict()["total_cost"] == plus["cost"]
    assert tracker.totals(workspace="ws-a").requests == 2
    assert tracker.totals(model="text-embedding-v4").input_tokens == 7
    report = tracker.report()
    for expected in ("ws-a", "(default)", "CNY"):
        assert expected in report
    assert report.splitlines()[-1].split()[:2] == ["total", "3"]


def test_bad_price_is_refused() -> None:
    with pytest.raises(ValueError, match="'input' and 'output'"):
        UsageTracker(prices={"m": {"input": 1.0, "outptu": 2.0}})
    assert UsageTracker(prices={"m": Price(1, 2)}).prices["m"].cached is None


def test_thread_safe_totals() -> None:
    tracker = UsageTracker()

    def work() -> None:
        for _ in range(500):
            tracker.add(workspace="w", model="m", input_tokens=2, output_tokens=1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    totals = tracker.totals()
    assert (totals.requests, totals.input_tokens, totals.total_tokens) == (4000, 8000, 12000)


def test_embedding_batches_recorded_from_core_results(dashscope_emulator: Emulator) -> None:
    tracker = UsageTracker()
    with DashScopeClient(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url) as client:
        result = client.embed(["alpha beta", "gamma"], model="text-embedding-v4")
    tracker.record(workspace=None, model=result.model, usage=result.usage, kind="embedding")
    assert result.usage.total_tokens
    assert tracker.totals().input_tokens == result.usage.total_tokens


# ----------------------------------------------------------------------------- LangChain


def _lc_sum(usages: list[dict[str, Any]]) -> tuple[int, int, int, int, int]:
    return (
        sum(u["input_tokens"] for u in usages),
        sum(u["output_tokens"] for u in usages),
        sum(u["total_tokens"] for u in usages),
        sum(u.get("input_token_details", {}).get("cache_read", 0) for u in usages),
        sum(u.get("output_token_details", {}).get("reasoning", 0) for u in usages),
    )


def _totals(tracker: UsageTracker) -> tuple[int, int, int, int, int]:
    t = tracker.totals()
    return (t.input_tokens, t.output_tokens, t.total_tokens, t.cached_tokens, t.reasoning_tokens)


async def test_langchain_mixed_run_totals_equal_usage_metadata(
    dashscope_emulator: Emulator,
) -> None:
    handler = DashScopeUsageCallbackHandler()
    config: Any = {"callbacks": [handler]}
    llm = ChatDashScope(
        model="qwen-plus",
        api_key=SUB_KEY,
        workspace=SUB_WORKSPACE,
        base_url=dashscope_emulator.base_url,
    )
    dashscope_emulator.enqueue(ScriptedReply(text="cached and reasoned", usage=DETAILED))
    usages = [llm.invoke("hello", config=config).usage_metadata]
    usages.append((await llm.ainvoke("async hello", config=config)).usage_metadata)
    streamed = [
        c.usage_metadata for c in llm.stream("stream me", config=config) if c.usage_metadata
    ]
    astreamed = [
        c.usage_metadata async for c in llm.astream("astream me", config=config) if c.usage_metadata
    ]
    assert len(streamed) == len(astreamed) == 1  # a stream reports its usage once
    usages += streamed + astreamed
    usages.append(llm.invoke("other model", model="qwen-turbo", config=config).usage_metadata)
    assert all(usages)
    assert _totals(handler.tracker) == _lc_sum(usages)  # type: ignore[arg-type]
    assert _lc_sum(usages)[3:] == (16, 12)  # the scripted cached/reasoning counts arrived
    rows = {(r["workspace"], r["model"]): r["requests"] for r in handler.tracker.to_dict()["rows"]}
    assert rows == {(SUB_WORKSPACE, "qwen-plus"): 4, (SUB_WORKSPACE, "qwen-turbo"): 1}
    llm.close()


def test_langchain_failed_call_counts_nothing(dashscope_emulator: Emulator) -> None:
    handler = DashScopeUsageCallbackHandler()
    llm = ChatDashScope(
        model="qwen-plus", api_key=MAIN_KEY, base_url=dashscope_emulator.base_url, max_retries=0
    )
    dashscope_emulator.enqueue(ScriptedReply.error(500, "InternalError", "boom"))
    with pytest.raises(Exception, match="boom"):
        llm.invoke("hi", config={"callbacks": [handler]})
    assert handler.tracker.totals().requests == 0
    llm.close()


# ----------------------------------------------------------------------------- LlamaIndex


def _li_usage(response: Any) -> dict[str, Any]:
    usage = response.additional_kwargs["usage"]
    assert isinstance(usage, dict)
    return usage


async def test_llamaindex_mixed_run_totals_equal_reported_usage(
    dashscope_emulator: Emulator,
) -> None:
    handler = DashScopeUsageEventHandler(workspace=SUB_WORKSPACE)
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(handler)
    try:
        llm = DashScope(
            model="qwen-plus",
            api_key=SUB_KEY,
            workspace=SUB_WORKSPACE,
            base_url=dashscope_emulator.base_url,
        )
        messages = [ChatMessage(role="user", content="hello")]
        dashscope_emulator.enqueue(ScriptedReply(text="cached and reasoned", usage=DETAILED))
        usages = [_li_usage(llm.chat(messages))]
        usages.append(_li_usage(await llm.achat(messages)))
        *_, last = llm.stream_chat(messages)
        usages.append(_li_usage(last))
        responses = [response async for response in await llm.astream_chat(messages)]
        usages.append(_li_usage(responses[-1]))
    finally:
        dispatcher.event_handlers.remove(handler)
    totals = handler.tracker.totals()
    assert totals.requests == 4
    assert (totals.input_tokens, totals.output_tokens, totals.total_tokens) == (
        sum(u["input_tokens"] for u in usages),
        sum(u["output_tokens"] for u in usages),
        sum(u["total_tokens"] for u in usages),
    )
    assert (totals.cached_tokens, totals.reasoning_tokens) == (16, 12)
    (row,) = handler.tracker.to_dict()["rows"]
    assert (row["workspace"], row["model"]) == (SUB_WORKSPACE, "qwen-plus")


def test_llamaindex_per_call_workspace_wins(dashscope_emulator: Emulator) -> None:
    handler = DashScopeUsageEventHandler()
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(handler)
    try:
        llm = DashScope(model="qwen-turbo", api_key=MAIN_KEY, base_url=dashscope_emulator.base_url)
        llm.chat([ChatMessage(role="user", content="hi")], workspace=SUB_WORKSPACE)
        llm.chat([ChatMessage(role="user", content="hi")])
    finally:
        dispatcher.event_handlers.remove(handler)
    rows = {(r["workspace"], r["model"]): r["requests"] for r in handler.tracker.to_dict()["rows"]}
    assert rows == {(SUB_WORKSPACE, "qwen-turbo"): 1, (None, "qwen-turbo"): 1}

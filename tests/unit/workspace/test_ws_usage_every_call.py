"""``usage_tracker=`` is fed by every call: chat, streams, embeddings, rerank, apps, batch.

The tracker's totals must equal the sums of the usage each call reported, in the core and in
both frameworks (adapter classes given ``usage_tracker=``, next to the callback / event
handlers), with each stream counted once.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.instrumentation import get_dispatcher

from dashscope_ws import DashScopeClient, Usage
from dashscope_ws.batch import BatchJobs
from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator, ScriptedReply
from dashscope_ws.transports import MockResponse, MockTransport
from dashscope_ws.usage import UsageTracker, batch_row_usage
from langchain_dashscope_ws import (
    ChatDashScope,
    DashScopeEmbeddings,
    DashScopeUsageCallbackHandler,
)
from llamaindex_dashscope_ws import DashScope, DashScopeEmbedding, DashScopeUsageEventHandler

HI = [{"role": "user", "content": "hello there"}]
TEXTS = ["alpha beta gamma", "delta", "epsilon zeta"]
DETAILED = {
    "input_tokens": 40,
    "output_tokens": 30,
    "total_tokens": 70,
    "prompt_tokens_details": {"cached_tokens": 16},
    "output_tokens_details": {"reasoning_tokens": 12},
}


def _row(tracker: UsageTracker, workspace: str | None, model: str) -> dict[str, Any]:
    rows = {(r["workspace"], r["model"]): r for r in tracker.to_dict()["rows"]}
    return rows[workspace, model]


def _sums(usages: list[Usage]) -> tuple[int, int, int]:
    return (
        sum(u.input_tokens or 0 for u in usages),
        sum(u.output_tokens or 0 for u in usages),
        sum(u.cached_tokens or 0 for u in usages),
    )


def _embedding_tokens(emu: Emulator, texts: list[str], workspace: str | None) -> int:
    """What the emulator reports for embedding ``texts`` (its counts are deterministic)."""
    key = SUB_KEY if workspace else MAIN_KEY
    with DashScopeClient(api_key=key, workspace=workspace, base_url=emu.base_url) as client:
        return client.embed(texts, model="text-embedding-v4").usage.total_tokens or 0


def _handler_agrees_and_embeddings_counted(
    emu: Emulator, tracker: UsageTracker, handler_tracker: UsageTracker
) -> None:
    """The framework handler saw the chat turns the sink saw; embeddings (which no framework
    reports) reached the sink: ``TEXTS`` as documents, then ``"delta"`` as a query."""
    plus = _row(tracker, SUB_WORKSPACE, "qwen-plus")
    seen = handler_tracker.totals()
    assert (seen.requests, seen.input_tokens, seen.output_tokens) == (
        plus["requests"],
        plus["input_tokens"],
        plus["output_tokens"],
    )
    embedding = _row(tracker, SUB_WORKSPACE, "text-embedding-v4")
    expected = _embedding_tokens(emu, TEXTS, SUB_WORKSPACE)
    expected += _embedding_tokens(emu, ["delta"], SUB_WORKSPACE)
    assert embedding["input_tokens"] == expected > 0
    assert embedding["by_kind"]["embedding"] >= 2


# ----------------------------------------------------------------------------- core


async def test_core_mixed_run_feeds_the_tracker_once_per_call(
    dashscope_emulator: Emulator,
) -> None:
    tracker = UsageTracker()
    client = DashScopeClient(
        api_key=SUB_KEY,
        workspace=SUB_WORKSPACE,
        base_url=dashscope_emulator.base_url,
        usage_tracker=tracker,
    )
    with client:
        dashscope_emulator.enqueue(ScriptedReply(text="cached", usage=DETAILED))
        chats = [client.chat(HI, model="qwen-plus").usage]
        chats.append((await client.achat(HI, model="qwen-plus")).usage)
        with client.stream_chat(HI, model="qwen-plus") as stream:
            chunks = list(stream)
        chats.append(stream.result().usage)
        astream = client.astream_chat(HI, model="qwen-plus")
        chats.append((await astream.aresult()).usage)
        embedded = client.embed(TEXTS, model="text-embedding-v4", batch_size=2)
        aembedded = await client.aembed(TEXTS[:1], model="text-embedding-v4")
        reranked = client.rerank("alpha", TEXTS, model="gte-rerank-v2")
        app = client.app_completion("app-emu-rag", prompt="How much does the X1 cost?")
        with client.stream_app_completion("app-emu-rag", prompt="X1 warranty?") as app_stream:
            app_chunks = list(app_stream)
        aapp = await client.aapp_completion("app-emu-flow", prompt="go")

    assert len(chunks) > 1
    plus = _row(tracker, SUB_WORKSPACE, "qwen-plus")
    app_usages = [app.usage, app_chunks[-1].usage, aapp.usage]
    app_models = [m for usage in app_usages for m in usage if m.model_id == "qwen-plus"]
    assert len(app_models) == 3, app_usages  # the emulator's apps run on qwen-plus
    # Chat calls and the apps' qwen-plus usage land in one (workspace, model) row.
    assert plus["requests"] == 4 + 3
    assert plus["by_kind"] == {"chat": 2, "stream": 2, "app": 3}
    chat_in, chat_out, chat_cached = _sums(chats)
    assert chat_cached == 16
    assert plus["input_tokens"] == chat_in + sum(m.input_tokens or 0 for m in app_models)
    assert plus["output_tokens"] == chat_out + sum(m.output_tokens or 0 for m in app_models)
    assert plus["cached_tokens"] == 16
    embedding = _row(tracker, SUB_WORKSPACE, "text-embedding-v4")
    assert embedding["requests"] == 3  # two batches of the sync call, one async call
    assert embedding["by_kind"] == {"embedding": 3}
    assert embedding["input_tokens"] == (embedded.usage.total_tokens or 0) + (
        aembedded.usage.total_tokens or 0
    )
    rerank = _row(tracker, SUB_WORKSPACE, "gte-rerank-v2")
    assert (rerank["requests"], rerank["total_tokens"]) == (1, reranked.usage.total_tokens)


def test_app_stream_closed_early_counts_nothing(dashscope_emulator: Emulator) -> None:
    tracker = UsageTracker()
    with DashScopeClient(
        api_key=MAIN_KEY, base_url=dashscope_emulator.base_url, usage_tracker=tracker
    ) as client:
        with client.stream_app_completion("app-emu-agent", prompt="tell me a long story") as s:
            next(iter(s))
        assert tracker.totals().requests == 0  # not a whole answer: nothing is billed here
        client.app_completion("app-emu-agent", prompt="Hi")
    assert tracker.totals().by_kind == {"app": 1}


def test_batch_results_feed_the_tracker_once(dashscope_emulator: Emulator) -> None:
    tracker = UsageTracker()
    with DashScopeClient(
        api_key=MAIN_KEY, base_url=dashscope_emulator.base_url, usage_tracker=tracker
    ) as client:
        jobs = BatchJobs(client, poll_interval=0.01)
        run = jobs.wait(
            jobs.submit_chat([HI, [{"role": "user", "content": "bye"}]], model="qwen-plus")
        )
        rows = jobs.results(run)
        jobs.results(run)  # reading the results again must not count them twice
    expected = [batch_row_usage(row.body) for row in rows]
    assert all(expected)
    row = _row(tracker, None, "qwen-plus")
    assert row["by_kind"] == {"batch": 2}
    assert row["input_tokens"] == sum(u.input_tokens or 0 for _, u in expected)  # type: ignore[misc]
    assert row["output_tokens"] == sum(u.output_tokens or 0 for _, u in expected)  # type: ignore[misc]
    assert row["output_tokens"] > 0


def test_batch_row_usage_reads_the_compatible_names() -> None:
    body = {
        "model": "qwen-plus",
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 4,
            "total_tokens": 13,
            "prompt_tokens_details": {"cached_tokens": 3},
            "completion_tokens_details": {"reasoning_tokens": 2},
        },
    }
    model, usage = batch_row_usage(body) or ("", Usage())
    assert (model, usage.input_tokens, usage.output_tokens, usage.total_tokens) == (
        "qwen-plus",
        9,
        4,
        13,
    )
    assert (usage.cached_tokens, usage.reasoning_tokens) == (3, 2)
    assert batch_row_usage({"model": "m"}) is None
    assert batch_row_usage(None) is None


# ----------------------------------------------------------------------------- LangChain


async def test_langchain_adapter_tracker_equals_usage_metadata(
    dashscope_emulator: Emulator,
) -> None:
    tracker = UsageTracker()
    handler = DashScopeUsageCallbackHandler()  # a second, independent count of the chat turns
    config: Any = {"callbacks": [handler]}
    common: Any = {
        "api_key": SUB_KEY,
        "workspace": SUB_WORKSPACE,
        "base_url": dashscope_emulator.base_url,
        "usage_tracker": tracker,
    }
    llm = ChatDashScope(model="qwen-plus", **common)
    embeddings = DashScopeEmbeddings(model="text-embedding-v4", **common)
    dashscope_emulator.enqueue(ScriptedReply(text="cached and reasoned", usage=DETAILED))
    usages = [llm.invoke("hello", config=config).usage_metadata]
    usages.append((await llm.ainvoke("async hello", config=config)).usage_metadata)
    usages += [c.usage_metadata for c in llm.stream("stream me", config=config) if c.usage_metadata]
    usages += [
        c.usage_metadata async for c in llm.astream("astream me", config=config) if c.usage_metadata
    ]
    embeddings.embed_documents(TEXTS)
    await embeddings.aembed_query("delta")
    llm.close()
    embeddings.close()

    assert len(usages) == 4
    assert all(usages)
    plus = _row(tracker, SUB_WORKSPACE, "qwen-plus")
    assert plus["requests"] == 4
    assert (
        plus["input_tokens"],
        plus["output_tokens"],
        plus["total_tokens"],
        plus["cached_tokens"],
        plus["reasoning_tokens"],
    ) == (
        sum(u["input_tokens"] for u in usages if u),
        sum(u["output_tokens"] for u in usages if u),
        sum(u["total_tokens"] for u in usages if u),
        sum(u.get("input_token_details", {}).get("cache_read", 0) for u in usages if u),
        sum(u.get("output_token_details", {}).get("reasoning", 0) for u in usages if u),
    )
    assert plus["cached_tokens"] == 16
    # The callback handler, fed by LangChain's callbacks, agrees with the client's sink.
    _handler_agrees_and_embeddings_counted(dashscope_emulator, tracker, handler.tracker)


# ----------------------------------------------------------------------------- LlamaIndex


def _li_usage(response: Any) -> dict[str, Any]:
    usage = response.additional_kwargs["usage"]
    assert isinstance(usage, dict)
    return usage


async def test_llamaindex_adapter_tracker_equals_reported_usage(
    dashscope_emulator: Emulator,
) -> None:
    tracker = UsageTracker()
    handler = DashScopeUsageEventHandler(workspace=SUB_WORKSPACE)
    common: Any = {
        "api_key": SUB_KEY,
        "workspace": SUB_WORKSPACE,
        "base_url": dashscope_emulator.base_url,
        "usage_tracker": tracker,
    }
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(handler)
    try:
        llm = DashScope(model="qwen-plus", **common)
        embed_model = DashScopeEmbedding(model_name="text-embedding-v4", **common)
        messages = [ChatMessage(role="user", content="hello")]
        dashscope_emulator.enqueue(ScriptedReply(text="cached and reasoned", usage=DETAILED))
        usages = [_li_usage(llm.chat(messages))]
        usages.append(_li_usage(await llm.achat(messages)))
        *_, last = llm.stream_chat(messages)
        usages.append(_li_usage(last))
        responses = [response async for response in await llm.astream_chat(messages)]
        usages.append(_li_usage(responses[-1]))
        embed_model.get_text_embedding_batch(TEXTS)
        await embed_model.aget_query_embedding("delta")
    finally:
        dispatcher.event_handlers.remove(handler)
    plus = _row(tracker, SUB_WORKSPACE, "qwen-plus")
    assert plus["requests"] == 4
    assert (plus["input_tokens"], plus["output_tokens"], plus["total_tokens"]) == (
        sum(u["input_tokens"] for u in usages),
        sum(u["output_tokens"] for u in usages),
        sum(u["total_tokens"] for u in usages),
    )
    assert (plus["cached_tokens"], plus["reasoning_tokens"]) == (16, 12)
    _handler_agrees_and_embeddings_counted(dashscope_emulator, tracker, handler.tracker)


def test_app_usage_per_model_and_unnamed_models() -> None:
    answer = {
        "request_id": "r-1",
        "output": {"text": "done", "finish_reason": "stop", "session_id": "s"},
        "usage": {
            "models": [
                {"model_id": "qwen-max", "input_tokens": 10, "output_tokens": 4},
                {"input_tokens": 3, "output_tokens": 1},  # no model id: booked under the app
                {"model_id": "qwen-plus"},  # no counts: nothing to book
            ]
        },
    }
    tracker = UsageTracker()
    client = DashScopeClient(
        api_key="sk-test",
        workspace="ws-1",
        usage_tracker=tracker,
        transport=MockTransport(lambda request: MockResponse(200, {}, body=answer)),
    )
    with client:
        client.app_completion("app-1", prompt="go")
    rows = {(r["workspace"], r["model"]): r for r in tracker.to_dict()["rows"]}
    assert set(rows) == {("ws-1", "qwen-max"), ("ws-1", "app:app-1")}
    assert (
        rows["ws-1", "qwen-max"]["input_tokens"],
        rows["ws-1", "qwen-max"]["output_tokens"],
    ) == (
        10,
        4,
    )
    assert rows["ws-1", "app:app-1"]["total_tokens"] == 4
    assert rows["ws-1", "app:app-1"]["by_kind"] == {"app": 1}

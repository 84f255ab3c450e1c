"""Both frameworks' app and knowledge-base classes: parameters on the wire, answer fields, and
typed errors in every call mode (sync, async, stream, async stream), against the emulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from llama_index.core.query_engine import RetrieverQueryEngine

import langchain_dashscope_ws.errors as lc_errors
from dashscope_ws import errors as core
from dashscope_ws.emulator import (
    MAIN_KEY,
    OTHER_WORKSPACE,
    SUB_KEY,
    SUB_WORKSPACE,
    Emulator,
    EmulatorConfig,
)
from langchain_dashscope_ws import ChatDashScopeApp
from langchain_dashscope_ws import DashScopeKnowledgeBaseRetriever as LCRetriever
from llamaindex_dashscope_ws import (
    DashScopeAppChatEngine,
    DashScopeAppQueryEngine,
    DashScopeRerank,
)
from llamaindex_dashscope_ws import DashScopeKnowledgeBaseRetriever as LIRetriever

# (app id, core class, LangChain class, code): unknown app, app in another workspace, draft flow.
APP_ERRORS = [
    ("app-emu-missing", core.BadRequestError, lc_errors.BadRequestError, "InvalidAppId"),
    (
        "app-emu-other",
        core.PermissionDeniedError,
        lc_errors.PermissionDeniedError,
        "App.AccessDenied",
    ),
    ("app-emu-draft", core.BadRequestError, lc_errors.BadRequestError, "FlowNotPublished"),
]
ERROR_IDS = ["unknown-app", "other-workspace", "unpublished-flow"]


def sub(emu: Emulator) -> dict[str, Any]:
    return {
        "api_key": SUB_KEY,
        "workspace": SUB_WORKSPACE,
        "base_url": emu.base_url,
        "max_retries": 0,
    }


def _check(error: BaseException, core_class: type, code: str) -> None:
    assert isinstance(error, core_class)
    assert isinstance(error, core.APIStatusError)
    assert error.code == code
    assert error.request_id
    assert error.hint  # the error table's fix


# ----------------------------------------------------------------------------- LangChain


def _lc_invoke(app: ChatDashScopeApp) -> Any:
    return app.invoke("hi")


def _lc_ainvoke(app: ChatDashScopeApp) -> Any:
    return asyncio.run(app.ainvoke("hi"))


def _lc_stream(app: ChatDashScopeApp) -> Any:
    return list(app.stream("hi"))


def _lc_astream(app: ChatDashScopeApp) -> Any:
    async def run() -> list[Any]:
        return [chunk async for chunk in app.astream("hi")]

    return asyncio.run(run())


LC_MODES = [_lc_invoke, _lc_ainvoke, _lc_stream, _lc_astream]


@pytest.mark.parametrize("mode", LC_MODES, ids=["invoke", "ainvoke", "stream", "astream"])
@pytest.mark.parametrize(("app_id", "core_class", "lc_class", "code"), APP_ERRORS, ids=ERROR_IDS)
def test_langchain_app_errors_are_typed_in_every_mode(
    dashscope_emulator: Emulator,
    mode: Callable[[ChatDashScopeApp], Any],
    app_id: str,
    core_class: type,
    lc_class: type,
    code: str,
) -> None:
    with (
        ChatDashScopeApp(app_id=app_id, **sub(dashscope_emulator)) as app,
        pytest.raises(lc_class) as caught,
    ):
        mode(app)
    _check(caught.value, core_class, code)


def test_langchain_app_sends_every_setting(dashscope_emulator: Emulator) -> None:
    app = ChatDashScopeApp(
        app_id="app-emu-rag",
        session_id="sess-1",
        has_thoughts=True,
        rag_options={"pipeline_ids": ["idx-emu-manual"]},
        biz_params={"user_defined_params": {"k": "v"}},
        memory_id="mem-1",
        doc_reference_type="indexed",
        temperature=0.3,
        top_p=0.9,
        seed=7,
        max_tokens=64,
        **sub(dashscope_emulator),
    )
    reply = app.invoke("What is the price of the Bailian X1?")
    body = dashscope_emulator.requests[-1].json
    assert body["model"] == ""
    assert body["input"] == {
        "prompt": "What is the price of the Bailian X1?",  # a session: only the new turn
        "session_id": "sess-1",
        "memory_id": "mem-1",
        "biz_params": {"user_defined_params": {"k": "v"}},
        "doc_reference_type": "indexed",
    }
    assert body["parameters"] == {
        "has_thoughts": True,
        "rag_options": {"pipeline_ids": ["idx-emu-manual"]},
        "temperature": 0.3,
        "top_p": 0.9,
        "seed": 7,
        "max_tokens": 64,
    }
    assert "<ref>[1]</ref>" in reply.text  # doc_reference_type="indexed" took effect
    meta = reply.response_metadata
    assert meta["request_id"] == reply.id or meta["request_id"]
    assert meta["finish_reason"] == "stop"
    assert meta["model_usage"][0]["model_id"] == "qwen-plus"
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == meta["model_usage"][0]["input_tokens"]
    app.close()


async def test_langchain_workflow_message_and_per_call_session(
    dashscope_emulator: Emulator,
) -> None:
    app = ChatDashScopeApp(app_id="app-emu-flow", **sub(dashscope_emulator))
    reply = await app.ainvoke("run", biz_params={"user_defined_params": {"city": "Hangzhou"}})
    flow = reply.response_metadata["workflow_message"]
    assert flow["node_id"]
    assert "Hangzhou" in reply.text  # the workflow echoes its biz_params
    streamed = [
        c
        async for c in app.astream(
            "run again",
            session_id="sess-9",
            image_list=["https://img/1.png"],
            file_list=["https://f/1.pdf"],
        )
    ]
    sent = dashscope_emulator.requests[-1].json["input"]
    assert (sent["session_id"], sent["image_list"], sent["file_list"]) == (
        "sess-9",
        ["https://img/1.png"],
        ["https://f/1.pdf"],
    )
    assert any(c.response_metadata.get("workflow_message") for c in streamed)
    await app.aclose()


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("settings", "lc_class", "code"),
    [
        ({"index_id": "idx-emu-missing"}, lc_errors.NotFoundError, "NotFound"),
        ({"index_name": "no-such-kb"}, lc_errors.NotFoundError, "NotFound"),
        ({"index_id": "idx-other"}, lc_errors.PermissionDeniedError, "AccessDenied"),
    ],
    ids=["unknown-id", "unknown-name", "other-workspace"],
)
def test_langchain_retriever_errors_are_typed(
    other_index_emulator: Emulator,
    settings: dict[str, Any],
    lc_class: type,
    code: str,
    use_async: bool,
) -> None:
    retriever = LCRetriever(**settings, **sub(other_index_emulator))

    def call() -> Any:
        if use_async:
            return asyncio.run(retriever.ainvoke("warranty"))
        return retriever.invoke("warranty")

    with pytest.raises(lc_class) as caught:
        call()
    assert caught.value.code == code  # type: ignore[attr-defined]
    assert isinstance(caught.value, core.APIStatusError)


# ----------------------------------------------------------------------------- LlamaIndex


@pytest.fixture
def other_index_emulator() -> Any:
    """The default apps and manual, plus a knowledge base owned by another workspace."""
    config = EmulatorConfig.from_dict(
        {
            "keys": {MAIN_KEY: None, SUB_KEY: SUB_WORKSPACE},
            "workspaces": [SUB_WORKSPACE, OTHER_WORKSPACE],
            "indices": {
                "idx-emu-manual": {
                    "workspace": SUB_WORKSPACE,
                    "name": "emu-manual",
                    "documents": ["The X1 warranty lasts two years."],
                },
                "idx-other": {
                    "workspace": OTHER_WORKSPACE,
                    "name": "other-kb",
                    "documents": ["Not yours."],
                },
            },
        }
    )
    with Emulator(config) as emu:
        yield emu


def _li_query(emu: Emulator, app_id: str, **options: Any) -> Any:
    with DashScopeAppQueryEngine(app_id, **options, **sub(emu)) as engine:
        return engine.query("hi")


def _li_aquery(emu: Emulator, app_id: str, **options: Any) -> Any:
    engine = DashScopeAppQueryEngine(app_id, **options, **sub(emu))
    return asyncio.run(engine.aquery("hi"))


def _li_stream_query(emu: Emulator, app_id: str, **options: Any) -> Any:
    with DashScopeAppQueryEngine(app_id, streaming=True, **options, **sub(emu)) as engine:
        response = engine.query("hi")
        return list(response.response_gen)  # type: ignore[union-attr]


def _li_chat(emu: Emulator, app_id: str, **options: Any) -> Any:
    return DashScopeAppChatEngine(app_id, **options, **sub(emu)).chat("hi")


def _li_achat(emu: Emulator, app_id: str, **options: Any) -> Any:
    return asyncio.run(DashScopeAppChatEngine(app_id, **options, **sub(emu)).achat("hi"))


def _li_stream_chat(emu: Emulator, app_id: str, **options: Any) -> Any:
    response = DashScopeAppChatEngine(app_id, **options, **sub(emu)).stream_chat("hi")
    return list(response.response_gen)


def _li_astream_chat(emu: Emulator, app_id: str, **options: Any) -> Any:
    async def run() -> list[str]:
        engine = DashScopeAppChatEngine(app_id, **options, **sub(emu))
        response = await engine.astream_chat("hi")
        return [delta async for delta in response.async_response_gen()]

    return asyncio.run(run())


LI_MODES = [
    _li_query,
    _li_aquery,
    _li_stream_query,
    _li_chat,
    _li_achat,
    _li_stream_chat,
    _li_astream_chat,
]
LI_IDS = ["query", "aquery", "stream-query", "chat", "achat", "stream-chat", "astream-chat"]


@pytest.mark.parametrize("mode", LI_MODES, ids=LI_IDS)
@pytest.mark.parametrize(("app_id", "core_class", "lc_class", "code"), APP_ERRORS, ids=ERROR_IDS)
def test_llamaindex_app_errors_are_typed_in_every_mode(
    dashscope_emulator: Emulator,
    mode: Callable[[Emulator, str], Any],
    app_id: str,
    core_class: type,
    lc_class: type,
    code: str,
) -> None:
    with pytest.raises(core_class) as caught:
        mode(dashscope_emulator, app_id)
    _check(caught.value, core_class, code)


# What ChatDashScopeApp takes (test_langchain_app_sends_every_setting), given to both engines.
LI_SETTINGS: dict[str, Any] = {
    "has_thoughts": True,
    "biz_params": {"user_defined_params": {"k": "v"}},
    "memory_id": "mem-1",
    "doc_reference_type": "indexed",
    "image_list": ["https://example.com/x1.png"],
    "file_list": ["https://example.com/x1.pdf"],
    "parameters": {"temperature": 0.3, "top_p": 0.9, "seed": 7, "max_tokens": 64},
}


@pytest.mark.parametrize("mode", LI_MODES, ids=LI_IDS)
def test_llamaindex_app_engines_send_every_setting_in_every_mode(
    dashscope_emulator: Emulator, mode: Callable[..., Any]
) -> None:
    mode(dashscope_emulator, "app-emu-rag", **LI_SETTINGS)
    body = dashscope_emulator.requests[-1].json
    sent = body["input"]
    assert (sent["memory_id"], sent["doc_reference_type"]) == ("mem-1", "indexed")
    assert (sent["image_list"], sent["file_list"]) == (
        LI_SETTINGS["image_list"],
        LI_SETTINGS["file_list"],
    )
    assert sent["biz_params"] == LI_SETTINGS["biz_params"]
    assert {k: body["parameters"][k] for k in LI_SETTINGS["parameters"]} == LI_SETTINGS[
        "parameters"
    ]
    assert body["parameters"]["has_thoughts"] is True


@pytest.mark.parametrize(
    "build",
    [
        lambda: ChatDashScopeApp(app_id="app-1", api_key=SUB_KEY, doc_reference_type="full"),
        lambda: DashScopeAppQueryEngine("app-1", api_key=SUB_KEY, doc_reference_type="full"),
        lambda: DashScopeAppChatEngine("app-1", api_key=SUB_KEY, doc_reference_type="full"),
    ],
    ids=["langchain-app", "llamaindex-query-engine", "llamaindex-chat-engine"],
)
def test_a_bad_doc_reference_type_is_refused_at_construction_in_both_frameworks(
    build: Callable[[], Any],
) -> None:
    with pytest.raises(ValueError, match="doc_reference_type"):
        build()


def test_llamaindex_query_engine_sends_its_settings_and_reports_every_field(
    dashscope_emulator: Emulator,
) -> None:
    with DashScopeAppQueryEngine(
        "app-emu-flow",
        session_id="sess-2",
        has_thoughts=True,
        rag_options={"pipeline_ids": ["idx-emu-manual"]},
        biz_params={"user_defined_params": {"city": "Lanzhou"}},
        **sub(dashscope_emulator),
    ) as engine:
        response = engine.query("run")
    body = dashscope_emulator.requests[-1].json
    assert body["input"] == {
        "prompt": "run",
        "session_id": "sess-2",
        "biz_params": {"user_defined_params": {"city": "Lanzhou"}},
    }
    assert body["parameters"] == {
        "has_thoughts": True,
        "rag_options": {"pipeline_ids": ["idx-emu-manual"]},
    }
    meta = response.metadata or {}
    assert meta["workflow_message"]["node_id"]
    assert meta["thoughts"]
    assert meta["request_id"]
    assert meta["session_id"]
    assert meta["model_usage"][0]["model_id"] == "qwen-plus"
    assert "Lanzhou" in str(response)


def test_llamaindex_sync_stream_chat_fills_sources(dashscope_emulator: Emulator) -> None:
    engine = DashScopeAppChatEngine("app-emu-rag", **sub(dashscope_emulator))
    response = engine.stream_chat("What is the price in yuan of the Bailian X1?")
    text = "".join(response.response_gen)
    assert "2999" in text
    assert response.source_nodes[0].node.metadata["doc_id"] == "doc-emu-x1"
    assert engine.session_id
    engine.close()


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("settings", "core_class", "code"),
    [
        ({"index_id": "idx-emu-missing"}, core.NotFoundError, "NotFound"),
        ({"index_name": "no-such-kb"}, core.NotFoundError, "NotFound"),
        ({"index_id": "idx-other"}, core.PermissionDeniedError, "AccessDenied"),
    ],
    ids=["unknown-id", "unknown-name", "other-workspace"],
)
def test_llamaindex_retriever_errors_are_typed(
    other_index_emulator: Emulator,
    settings: dict[str, Any],
    core_class: type,
    code: str,
    use_async: bool,
) -> None:
    retriever = LIRetriever(**settings, **sub(other_index_emulator))

    def call() -> Any:
        if use_async:
            return asyncio.run(retriever.aretrieve("warranty"))
        return retriever.retrieve("warranty")

    with pytest.raises(core_class) as caught:
        call()
    assert caught.value.code == code  # type: ignore[attr-defined]


def test_llamaindex_retriever_query_engine_with_our_reranker_sync(
    dashscope_emulator: Emulator,
) -> None:
    from llama_index.core.llms.mock import MockLLM

    retriever = LIRetriever(index_id="idx-emu-manual", top_k=3, **sub(dashscope_emulator))
    rerank = DashScopeRerank(model="gte-rerank-v2", top_n=1, **sub(dashscope_emulator))
    engine = RetrieverQueryEngine.from_args(
        retriever, llm=MockLLM(max_tokens=5), node_postprocessors=[rerank]
    )
    answer = engine.query("How long is the warranty for the phone?")
    [source] = answer.source_nodes
    assert source.node.metadata["doc_id"] == "doc-emu-warranty"
    paths = [r.path for r in dashscope_emulator.requests]
    assert paths == [
        "/api/v1/indices/pipeline/idx-emu-manual/retrieve",
        "/api/v1/services/rerank/text-rerank/text-rerank",
    ]
    assert dashscope_emulator.requests[1].json["input"]["query"] == (
        "How long is the warranty for the phone?"
    )
    retriever.close()
    rerank.close()

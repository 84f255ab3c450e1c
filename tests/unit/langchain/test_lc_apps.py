"""ChatDashScopeApp and DashScopeKnowledgeBaseRetriever against the emulator."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from dashscope_ws.apps import DocReference
from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator
from langchain_dashscope_ws import ChatDashScopeApp, DashScopeKnowledgeBaseRetriever
from langchain_dashscope_ws.apps import doc_references_to_documents

QUESTION = "What is the price in yuan of the Bailian X1?"


def rag(emu: Emulator, **kwargs: object) -> ChatDashScopeApp:
    settings: dict[str, object] = {
        "app_id": "app-emu-rag", "api_key": SUB_KEY, "workspace": SUB_WORKSPACE,
        "base_url": emu.base_url, "max_retries": 0,
    }  # fmt: skip
    return ChatDashScopeApp(**(settings | kwargs))  # type: ignore[arg-type]


def test_invoke_puts_references_and_thoughts_in_metadata(dashscope_emulator: Emulator) -> None:
    with rag(dashscope_emulator, has_thoughts=True) as app:
        reply = app.invoke(QUESTION)
    assert isinstance(reply, AIMessage)
    assert "2999" in reply.content
    meta = reply.response_metadata
    assert meta["doc_references"][0]["doc_id"] == "doc-emu-x1"
    assert [t["action_type"] for t in meta["thoughts"]] == ["api", "response"]
    assert meta["session_id"]
    assert meta["app_id"] == "app-emu-rag"
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["output_tokens"] > 0


async def test_ainvoke_sends_the_whole_conversation(dashscope_emulator: Emulator) -> None:
    app = ChatDashScopeApp(
        app_id="app-emu-agent", api_key=MAIN_KEY, base_url=dashscope_emulator.base_url
    )
    history = [
        SystemMessage("Be brief."),
        HumanMessage("Hi"),
        AIMessage("Hello"),
        HumanMessage("Tell me about otters"),
    ]
    reply = await app.ainvoke(history)
    await app.aclose()
    assert "otters" in reply.content
    sent = dashscope_emulator.requests[-1].json["input"]
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
    assert "session_id" not in sent


def test_remembered_session_sends_only_the_new_turn(dashscope_emulator: Emulator) -> None:
    app = ChatDashScopeApp(
        app_id="app-emu-agent", api_key=MAIN_KEY, base_url=dashscope_emulator.base_url,
        remember_session=True,
    )  # fmt: skip
    first = app.invoke("My name is Ada.")
    second = app.invoke("What is my name?")
    app.close()
    assert "Ada" in second.content
    sent = dashscope_emulator.requests[-1].json["input"]
    assert sent["session_id"] == first.response_metadata["session_id"]
    assert sent["prompt"] == "What is my name?"
    assert "messages" not in sent
    fresh = ChatDashScopeApp(
        app_id="app-emu-agent", api_key=MAIN_KEY, base_url=dashscope_emulator.base_url
    )
    again = fresh.invoke("What is my name?", session_id=first.response_metadata["session_id"])
    fresh.close()
    assert "Ada" in again.content


def test_errors_and_bad_input(dashscope_emulator: Emulator) -> None:
    from langchain_dashscope_ws.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        rag(dashscope_emulator, app_id="app-emu-other").invoke("hi")
    with pytest.raises(ValueError, match="tool"):
        rag(dashscope_emulator).invoke([ToolMessage("x", tool_call_id="1")])
    with pytest.raises(TypeError, match="unexpected"):
        rag(dashscope_emulator).invoke("hi", temperature=0.2)


def test_doc_references_become_documents() -> None:
    ref = DocReference(
        index_id="1", title="T", doc_id="d1", doc_name="Manual", text="X1 costs 2999.",
        images=("https://img",), page_number=(3,), reference_index=1,
    )  # fmt: skip
    [document] = doc_references_to_documents([ref])
    assert document.page_content == "X1 costs 2999."
    assert document.id == "d1"
    assert document.metadata == {
        "index_id": "1", "title": "T", "doc_id": "d1", "doc_name": "Manual", "doc_url": None,
        "biz_id": None, "images": ["https://img"], "page_number": [3], "reference_index": 1,
    }  # fmt: skip


def test_retriever_by_name_sync_and_async(dashscope_emulator: Emulator) -> None:
    import asyncio

    retriever = DashScopeKnowledgeBaseRetriever(
        index_name="emu-manual", top_k=2, api_key=SUB_KEY, workspace=SUB_WORKSPACE,
        base_url=dashscope_emulator.base_url,
    )  # fmt: skip
    documents = retriever.invoke("warranty for the phone")
    assert len(documents) == 2
    assert documents[0].metadata["doc_id"] == "doc-emu-warranty"
    assert 0 < documents[1].metadata["score"] <= documents[0].metadata["score"]
    retriever.close()

    async def go() -> list[str]:
        try:
            found = await retriever.ainvoke("Bailian watch heart rate")
            return [d.metadata["doc_id"] for d in found]
        finally:
            await retriever.aclose()

    assert asyncio.run(go())[0] == "doc-emu-watch"
    lookups = [r for r in dashscope_emulator.requests if r.method == "GET"]
    assert len(lookups) == 1  # the name is looked up once


def test_retriever_needs_an_index() -> None:
    with pytest.raises(ValueError, match="index"):
        DashScopeKnowledgeBaseRetriever(api_key="sk-x").invoke("q")

"""DashScopeAppQueryEngine and DashScopeKnowledgeBaseRetriever against the emulator."""

from __future__ import annotations

import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.base.response.schema import Response
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import QueryBundle

from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.errors import PermissionDeniedError
from llamaindex_dashscope_ws import (
    DashScopeAppQueryEngine,
    DashScopeKnowledgeBaseRetriever,
    DashScopeRerank,
)

QUESTION = "What is the price in yuan of the Bailian X1?"


def sub(emu: Emulator) -> dict[str, object]:
    return {"api_key": SUB_KEY, "workspace": SUB_WORKSPACE, "base_url": emu.base_url}


def test_query_engine_sources_come_from_doc_references(dashscope_emulator: Emulator) -> None:
    with DashScopeAppQueryEngine(
        "app-emu-rag", has_thoughts=True, **sub(dashscope_emulator)
    ) as engine:
        response = engine.query(QUESTION)
    assert isinstance(response, Response)
    assert "2999" in str(response)
    assert response.source_nodes[0].node.metadata["doc_id"] == "doc-emu-x1"
    assert "2999" in response.source_nodes[0].node.get_content()
    assert response.metadata is not None
    assert response.metadata["session_id"]
    assert response.metadata["thoughts"][0]["action_name"] == "searchDocument"


async def test_async_query_remembers_the_session(dashscope_emulator: Emulator) -> None:
    engine = DashScopeAppQueryEngine(
        "app-emu-agent", remember_session=True, api_key=MAIN_KEY,
        base_url=dashscope_emulator.base_url,
    )  # fmt: skip
    await engine.aquery("My name is Ada.")
    second = await engine.aquery("What is my name?")
    await engine.aclose()
    assert "Ada" in str(second)
    assert dashscope_emulator.requests[-1].json["input"]["session_id"] == engine.session_id


def test_query_engine_errors_are_typed(dashscope_emulator: Emulator) -> None:
    engine = DashScopeAppQueryEngine("app-emu-other", **sub(dashscope_emulator))
    with pytest.raises(PermissionDeniedError):
        engine.query("hi")
    engine.close()


async def test_retriever_sync_async_and_in_a_query_engine(dashscope_emulator: Emulator) -> None:
    retriever = DashScopeKnowledgeBaseRetriever(
        index_name="emu-manual", top_k=3, **sub(dashscope_emulator)
    )
    nodes = retriever.retrieve("warranty for the phone")
    assert nodes[0].node.metadata["doc_id"] == "doc-emu-warranty"
    assert nodes[0].score is not None
    assert retriever.index_id == "idx-emu-manual"
    found = await retriever.aretrieve(QueryBundle("Bailian watch heart rate"))
    assert found[0].node.metadata["doc_id"] == "doc-emu-watch"
    rerank = DashScopeRerank(model="gte-rerank-v2", top_n=1, **sub(dashscope_emulator))
    engine = RetrieverQueryEngine.from_args(
        retriever, llm=_echo_llm(), node_postprocessors=[rerank]
    )
    answer = await engine.aquery("Bailian watch heart rate")
    assert [n.node.metadata["doc_id"] for n in answer.source_nodes] == ["doc-emu-watch"]
    await retriever.aclose()
    await rerank.aclose()


def test_retriever_needs_an_index() -> None:
    with pytest.raises(ValueError, match="index"):
        DashScopeKnowledgeBaseRetriever(api_key="sk-x")


def _echo_llm() -> object:
    from llama_index.core.llms.mock import MockLLM

    return MockLLM(max_tokens=5)


def test_chat_engine_keeps_the_app_session(dashscope_emulator: Emulator) -> None:
    from llama_index.core.base.llms.types import ChatMessage

    from llamaindex_dashscope_ws import DashScopeAppChatEngine

    chat = DashScopeAppChatEngine(
        "app-emu-agent", api_key=MAIN_KEY, base_url=dashscope_emulator.base_url
    )
    chat.chat("My name is Ada.")
    first_session = chat.session_id
    answer = chat.chat("What is my name?")
    assert "Ada" in str(answer)
    sent = dashscope_emulator.requests[-1].json["input"]
    assert sent == {"prompt": "What is my name?", "session_id": first_session}
    assert [m.role.value for m in chat.chat_history] == ["user", "assistant"] * 2
    chat.reset()
    assert chat.chat_history == []
    assert chat.session_id is None
    history = [ChatMessage(role="user", content="Hi"), ChatMessage(role="assistant", content="Yo")]
    chat.chat("Tell me about otters", chat_history=history)
    sent = dashscope_emulator.requests[-1].json["input"]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    chat.close()


async def test_chat_engine_async_rag_sources(dashscope_emulator: Emulator) -> None:
    from llamaindex_dashscope_ws import DashScopeAppChatEngine

    chat = DashScopeAppChatEngine("app-emu-rag", **sub(dashscope_emulator))
    answer = await chat.achat(QUESTION)
    await chat.aclose()
    assert "2999" in str(answer)
    assert answer.source_nodes[0].node.metadata["doc_id"] == "doc-emu-x1"


def test_chat_engine_history_roles_are_mapped_and_tool_results_refused(
    dashscope_emulator: Emulator,
) -> None:
    from llamaindex_dashscope_ws import DashScopeAppChatEngine

    chat = DashScopeAppChatEngine("app-emu-rag", **sub(dashscope_emulator))
    history = [
        ChatMessage(role="developer", content="Be brief."),
        ChatMessage(role="user", content="Hi"),
        ChatMessage(role="chatbot", content="Yo"),
    ]
    chat.chat("Tell me about otters", chat_history=history)
    sent = dashscope_emulator.requests[-1].json["input"]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    session = chat.session_id
    before = chat.chat_history
    tool = ChatMessage(role="tool", content="42", additional_kwargs={"tool_call_id": "c1"})
    with pytest.raises(ValueError, match="an app takes system, user and assistant messages"):
        chat.chat("and?", chat_history=[*history, tool])
    assert len(dashscope_emulator.requests) == 1  # refused before any request
    assert (chat.session_id, chat.chat_history) == (session, before)  # state untouched
    chat.close()

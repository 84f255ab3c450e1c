"""``ChatDashScopeApp`` in a LangGraph graph (``MessagesState`` + an in-memory checkpointer).

This replaces ``RunnableWithMessageHistory`` (deprecated in langchain-core 1.x): the
checkpointer keeps each conversation thread. Two ways to hold the history are shown:
the graph owns it (every turn sends the whole thread as ``messages``), or the app's service
session does (the graph state keeps one ``session_id`` per thread and sends only the new turn).
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph

from dashscope_ws.emulator import MAIN_KEY, Emulator
from langchain_dashscope_ws import ChatDashScopeApp


class SessionState(MessagesState):
    """The conversation plus the app's service-side session id for this thread."""

    session_id: str | None


def _app(emu: Emulator) -> ChatDashScopeApp:
    return ChatDashScopeApp(app_id="app-emu-agent", api_key=MAIN_KEY, base_url=emu.base_url)


def _thread(name: str) -> Any:
    return {"configurable": {"thread_id": name}}


def _say(graph: Any, thread: str, text: str) -> str:
    state = graph.invoke({"messages": [HumanMessage(text)]}, _thread(thread))
    reply = state["messages"][-1]
    assert isinstance(reply, AIMessage)
    return reply.text


def test_graph_owns_the_history_per_thread(dashscope_emulator: Emulator) -> None:
    app = _app(dashscope_emulator)

    def call_app(state: MessagesState) -> dict[str, Any]:
        return {"messages": [app.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("app", call_app)
    builder.add_edge(START, "app")
    builder.add_edge("app", END)
    graph = builder.compile(checkpointer=InMemorySaver())

    _say(graph, "ada", "My name is Ada.")
    assert "Ada" in _say(graph, "ada", "What is my name?")
    # The whole thread went out as messages: two user turns and the app's first answer.
    sent = dashscope_emulator.requests[-1].json["input"]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert "session_id" not in sent
    # Another thread is another conversation.
    assert "Ada" not in _say(graph, "bob", "What is my name?")
    assert len(dashscope_emulator.requests[-1].json["input"]["messages"]) == 1
    app.close()


async def test_service_session_kept_per_thread(dashscope_emulator: Emulator) -> None:
    app = _app(dashscope_emulator)

    async def call_app(state: SessionState) -> dict[str, Any]:
        reply = await app.ainvoke(state["messages"], session_id=state.get("session_id"))
        return {"messages": [reply], "session_id": reply.response_metadata["session_id"]}

    builder = StateGraph(SessionState)
    builder.add_node("app", call_app)
    builder.add_edge(START, "app")
    builder.add_edge("app", END)
    graph = builder.compile(checkpointer=InMemorySaver())

    async def say(thread: str, text: str) -> dict[str, Any]:
        return await graph.ainvoke({"messages": [HumanMessage(text)]}, _thread(thread))

    first = await say("ada", "My name is Ada.")
    await say("bob", "My name is Bob.")
    second = await say("ada", "What is my name?")
    assert "Ada" in second["messages"][-1].text
    assert second["session_id"] == first["session_id"]  # one service session per thread
    sent = dashscope_emulator.requests[-1].json["input"]
    # With a session only the new turn is sent; the service holds the history.
    assert sent == {"prompt": "What is my name?", "session_id": first["session_id"]}
    third = await say("bob", "What is my name?")
    assert "Bob" in third["messages"][-1].text
    assert third["session_id"] != first["session_id"]
    await app.aclose()

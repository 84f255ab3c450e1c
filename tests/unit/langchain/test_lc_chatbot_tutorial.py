"""LangChain's "build a chatbot" tutorial, offline against the emulator (issue 12).

Trimming by tokens with the model as the counter (``trim_messages(token_counter=llm)``,
Qwen's tokenizer), message history (the tutorial's LangGraph ``MessagesState`` graph with
a checkpointer; ``RunnableWithMessageHistory`` is deprecated), and LangChain v1's
``SummarizationMiddleware(trigger=("fraction", 0.8))`` in ``create_agent``, which reads the
model's limits from ``ChatDashScope.profile`` (the model registry, or the user's override).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

# tiktoken comes with the [tokens] extra that [dev] installs: a missing extra must fail here,
# not skip (pyproject: the tokenizer tests never skip).
import tiktoken  # noqa: F401
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, trim_messages
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

from dashscope_ws import tokens
from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator
from langchain_dashscope_ws import ChatDashScope


@pytest.fixture
async def llm(dashscope_emulator: Emulator) -> AsyncIterator[ChatDashScope]:
    async with ChatDashScope(
        model="qwen-plus",
        api_key=SUB_KEY,
        workspace=SUB_WORKSPACE,
        base_url=dashscope_emulator.base_url,
        max_retries=0,
    ) as model:
        yield model


def _conversation() -> list[SystemMessage | HumanMessage | AIMessage]:
    return [
        SystemMessage("you're a good assistant"),
        HumanMessage("hi! I'm bob"),
        AIMessage("hi!"),
        HumanMessage("I like vanilla ice cream"),
        AIMessage("nice"),
        HumanMessage("whats 2 + 2"),
        AIMessage("4"),
        HumanMessage("thanks"),
        AIMessage("no problem!"),
        HumanMessage("having fun?"),
        AIMessage("yes!"),
    ]


def test_trim_messages_counts_with_the_qwen_tokenizer(llm: ChatDashScope) -> None:
    messages = _conversation()
    budget = llm.get_num_tokens_from_messages(messages[-4:])
    trimmer = trim_messages(
        max_tokens=budget,
        strategy="last",
        token_counter=llm,
        include_system=False,
        allow_partial=False,
        start_on="human",
    )
    trimmed = trimmer.invoke(messages)
    assert trimmed == messages[-4:]
    assert llm.get_num_tokens_from_messages(trimmed) <= budget
    # Chinese is counted with Qwen's vocabulary, not GPT-2's (which splits each character).
    assert llm.get_num_tokens("杭州是浙江省的省会") == len(tokens.encode("杭州是浙江省的省会"))
    assert llm.get_num_tokens("杭州是浙江省的省会") < len("杭州是浙江省的省会".encode())


def test_message_history_and_trimming_in_one_chain(
    llm: ChatDashScope, dashscope_emulator: Emulator
) -> None:
    import langgraph.graph as graph
    from langgraph.checkpoint.memory import InMemorySaver

    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer briefly."), MessagesPlaceholder("messages")]
    )
    trimmer = trim_messages(max_tokens=150, strategy="last", token_counter=llm, start_on="human")

    def call_model(state: dict[str, Any]) -> dict[str, Any]:
        trimmed = trimmer.invoke(state["messages"])
        return {"messages": [llm.invoke(prompt.invoke({"messages": trimmed}))]}

    workflow = graph.StateGraph(state_schema=graph.MessagesState)
    workflow.add_node("model", call_model)
    workflow.add_edge(graph.START, "model")
    app = workflow.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "abc2"}}
    for text in ("hi! I'm bob", "what's my name?", "tell me a story " * 20, "thanks, bye"):
        state = app.invoke({"messages": [HumanMessage(text)]}, config)
        assert isinstance(state["messages"][-1].content, str)
        assert state["messages"][-1].content
    assert len(state["messages"]) == 8  # four turns remembered by the checkpointer
    sent = [r.json["input"]["messages"] for r in dashscope_emulator.requests if r.json]
    assert len(sent) == 4
    assert len(sent[1]) > len(sent[0])  # history reaches the model...
    last = [m for m in sent[-1] if m["role"] != "system"]
    kept = [
        HumanMessage(m["content"]) if m["role"] == "user" else AIMessage(m["content"]) for m in last
    ]
    assert llm.get_num_tokens_from_messages(kept) <= 150  # ...trimmed to the Qwen-token budget
    assert "hi! I'm bob" not in [m["content"] for m in last]  # the oldest turn was dropped
    assert last[-1]["content"] == "thanks, bye"


def test_summarization_middleware_reads_the_profile(
    llm: ChatDashScope, dashscope_emulator: Emulator
) -> None:
    import langchain.agents as agents
    from langchain.agents.middleware import SummarizationMiddleware

    assert llm.profile is not None  # the registry
    assert llm.profile["max_input_tokens"] == 131072
    # A user's profile wins over the registry: a small window makes the fraction reachable.
    small = llm.model_copy(update={"profile": {**llm.profile, "max_input_tokens": 400}})
    middleware = SummarizationMiddleware(
        model=small,
        trigger=("fraction", 0.8),
        keep=("messages", 2),
        token_counter=small.get_num_tokens_from_messages,
    )
    agent = agents.create_agent(model=small, tools=[], middleware=[middleware])
    history = [
        HumanMessage("Tell me about Hangzhou. " * 30),
        AIMessage("Hangzhou is lovely. " * 30),
    ]
    state = agent.invoke({"messages": [*history, HumanMessage("and its lake?")]})
    contents = [str(m.content) for m in state["messages"]]
    assert not any(c.startswith("Tell me about Hangzhou.") for c in contents)  # summarised away
    assert any("summary" in c.lower() for c in contents)
    prompts = [r.json["input"]["messages"] for r in dashscope_emulator.requests if r.json]
    assert len(prompts) == 2  # one summary request, one answer
    assert "Messages to summarize" in prompts[0][-1]["content"]

    # With the registry's 131072-token window the same short chat is never summarised.
    dashscope_emulator.reset()
    untouched = agents.create_agent(
        model=llm,
        tools=[],
        middleware=[SummarizationMiddleware(model=llm, trigger=("fraction", 0.8))],
    )
    state = untouched.invoke({"messages": [*history, HumanMessage("and its lake?")]})
    assert [str(m.content) for m in state["messages"][:2]] == [str(m.content) for m in history]
    assert len([r for r in dashscope_emulator.requests if r.json]) == 1

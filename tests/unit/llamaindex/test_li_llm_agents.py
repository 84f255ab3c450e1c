"""LlamaIndex agents and a RAG query engine running on the DashScope LLM (emulator)."""

from __future__ import annotations

import pytest
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent, ReActAgent
from llama_index.core.tools import FunctionTool

from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator, ScriptedReply
from llamaindex_dashscope_ws import DashScope, DashScopeEmbedding

# The workflows package (agents) inspects its pydantic models with inspect.getmembers, which
# touches pydantic's deprecated instance attributes (``__fields__`` ...): third-party, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecationWarning")


def _add_tool(calls: list[tuple[int, int]]) -> FunctionTool:
    def add(a: int, b: int) -> int:
        """Add two integers."""
        calls.append((a, b))
        return a + b

    return FunctionTool.from_defaults(add)


@pytest.mark.parametrize("streaming", [True, False])
async def test_function_agent_runs_a_tool_to_completion(
    llm: DashScope, dashscope_emulator: Emulator, streaming: bool
) -> None:
    calls: list[tuple[int, int]] = []
    agent = FunctionAgent(tools=[_add_tool(calls)], llm=llm, streaming=streaming)
    result = await agent.run("Add 2 and 3")
    assert calls == [(2, 3)]
    assert "5" in str(result)
    assert [c.tool_name for c in result.tool_calls] == ["add"]
    first, second = dashscope_emulator.requests
    assert first.json["parameters"]["tools"][0]["function"]["name"] == "add"
    sent = second.json["input"]["messages"]
    assert sent[-2]["tool_calls"][0]["function"]["name"] == "add"
    assert sent[-1]["role"] == "tool"
    assert sent[-1]["content"] == "5"
    assert all(r.headers["X-DashScope-WorkSpace"] == SUB_WORKSPACE for r in (first, second))


# llama-index-core's ReActAgent calls ctx.is_running inside a step, which the installed
# workflows package deprecates: third-party, not ours.
@pytest.mark.filterwarnings("ignore:is_running called from within a step:DeprecationWarning")
async def test_react_agent_runs_a_tool_to_completion(
    llm: DashScope, dashscope_emulator: Emulator
) -> None:
    calls: list[tuple[int, int]] = []
    # ReAct is plain text in a fixed format, so the model's two turns are scripted.
    dashscope_emulator.enqueue(
        ScriptedReply(
            text='Thought: I need to use a tool.\nAction: add\nAction Input: {"a": 2, "b": 3}'
        ),
        ScriptedReply(text="Thought: I can answer without using any more tools.\nAnswer: It is 5."),
    )
    agent = ReActAgent(tools=[_add_tool(calls)], llm=llm)
    result = await agent.run("What is 2 plus 3?")
    assert calls == [(2, 3)]
    assert str(result) == "It is 5."
    assert len(dashscope_emulator.requests) == 2
    second_prompt = str(dashscope_emulator.requests[1].json["input"]["messages"])
    assert "Observation: 5" in second_prompt


DOCS = [
    "The Hangzhou office opens at 9am on weekdays.",
    "The Beijing office has a rooftop garden.",
    "Lunch in the Shanghai office is served at noon.",
]


@pytest.mark.usefixtures("restore_settings")
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_rag_query_engine_in_sub_workspace(dashscope_emulator: Emulator, mode: str) -> None:
    llm = DashScope(api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=dashscope_emulator.base_url)
    embed = DashScopeEmbedding(
        api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=dashscope_emulator.base_url
    )
    Settings.llm = llm
    Settings.embed_model = embed
    index = VectorStoreIndex.from_documents([Document(text=text) for text in DOCS])
    engine = index.as_query_engine(similarity_top_k=3)
    question = "When does the Hangzhou office open?"
    if mode == "sync":
        answer = engine.query(question)
    else:
        answer = await engine.aquery(question)
    assert "9am" in str(answer)
    assert len(answer.source_nodes) == 3
    chats = [r for r in dashscope_emulator.requests if "text-generation" in r.path]
    assert chats, "the LLM was never called"
    assert all(
        r.headers["X-DashScope-WorkSpace"] == SUB_WORKSPACE for r in dashscope_emulator.requests
    )
    assert "Hangzhou office opens at 9am" in str(chats[-1].json["input"]["messages"])
    for component in (llm, embed):
        await component.aclose()

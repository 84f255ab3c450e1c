"""Every LangChain class built with its canonical argument names, type-checked.

This module is also a mypy target (``mypy tests/unit/langchain/test_lc_typing.py``):
pydantic models expose their constructor to type checkers through
``dataclass_transform``, which takes a field's ``alias`` as the parameter name. The
settings therefore use ``validation_alias`` so that ``model=`` and ``api_key=`` are
what mypy sees, while the aliases other integrations use still work at run time.
"""

from __future__ import annotations

from langchain_core.documents import Document
from langchain_core.messages import HumanMessage

from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator
from langchain_dashscope_ws import ChatDashScope, DashScopeEmbeddings, DashScopeRerank


def test_chat_model_canonical_names_type_check_and_reach_the_client() -> None:
    llm = ChatDashScope(
        model="qwen-max",
        api_key="sk-typed",
        workspace="ws-typed",
        base_url="http://127.0.0.1:9/api/v1",
        region=None,
        workspace_in_host=False,
        timeout=30.0,
        connect_timeout=5.0,
        max_retries=1,
        allow_insecure_http=False,
        temperature=0.1,
    )
    with llm:
        config = llm._get_client().config
        assert (llm.model, config.workspace, config.max_retries) == ("qwen-max", "ws-typed", 1)
        assert (config.timeout, config.connect_timeout) == (30.0, 5.0)
        assert config.api_key.get_secret_value() == "sk-typed"


def test_retrieval_classes_canonical_names() -> None:
    embeddings = DashScopeEmbeddings(model="text-embedding-v3", api_key="sk-e", dimensions=512)
    rerank = DashScopeRerank(model="qwen3-rerank", api_key="sk-r", top_n=2)
    assert (embeddings.model, embeddings.dimensions) == ("text-embedding-v3", 512)
    assert (rerank.model, rerank.top_n) == ("qwen3-rerank", 2)
    for obj, key in ((embeddings, "sk-e"), (rerank, "sk-r")):
        assert obj.api_key is not None
        assert obj.api_key.get_secret_value() == key


def test_aliases_still_accepted_at_run_time() -> None:
    by_alias = ChatDashScope.model_validate({"model_name": "qwen-max", "dashscope_api_key": "k"})
    assert by_alias.model == "qwen-max"
    assert by_alias.api_key is not None
    assert by_alias.api_key.get_secret_value() == "k"


async def test_typed_calls_against_the_emulator(dashscope_emulator: Emulator) -> None:
    url = dashscope_emulator.base_url
    async with (
        ChatDashScope(
            model="qwen-plus", api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=url
        ) as llm,
        DashScopeEmbeddings(
            model="text-embedding-v4", api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=url
        ) as emb,
        DashScopeRerank(
            model="gte-rerank-v2", api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=url, top_n=1
        ) as rr,
    ):
        reply = await llm.ainvoke([HumanMessage("hello")])
        vector = await emb.aembed_query("hello")
        ranked = await rr.acompress_documents([Document("a"), Document("hello")], "hello")
    assert isinstance(reply.content, str)
    assert reply.content
    assert len(vector) == 1024
    assert [d.page_content for d in ranked] == ["hello"]

"""Old snippets, with only their import line changed, against the emulator (issue 12).

One test per class of langchain-community (``ChatTongyi``, ``Tongyi``,
``DashScopeEmbeddings``, ``DashScopeRerank``) and of llama-index's DashScope packages
(``DashScope``, ``DashScopeEmbedding``, ``DashScopeRerank``). Each body is the old
integration's documented usage (constructor arguments as its source declares them); the
comment above the import is the line it replaces. The environment is what those users
had: ``DASHSCOPE_API_KEY`` set (here also ``DASHSCOPE_BASE_URL``, pointing at the emulator).
docs/migration.md shows the same snippets.
"""

from __future__ import annotations

from typing import Any

import pytest

from dashscope_ws.emulator import MAIN_KEY, Emulator


@pytest.fixture
def old_environment(dashscope_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("DASHSCOPE_API_KEY", MAIN_KEY)
    monkeypatch.setenv("DASHSCOPE_BASE_URL", dashscope_emulator.base_url)
    monkeypatch.delenv("DASHSCOPE_WORKSPACE", raising=False)
    return dashscope_emulator


def _bodies(emulator: Emulator, fragment: str) -> list[dict[str, Any]]:
    return [r.json for r in emulator.requests if fragment in r.path and r.json is not None]


async def test_chat_tongyi(old_environment: Emulator) -> None:
    # from langchain_community.chat_models.tongyi import ChatTongyi
    from langchain_core.messages import HumanMessage

    from langchain_dashscope_ws import ChatDashScope as ChatTongyi

    chat = ChatTongyi(
        model_name="qwen-turbo",
        streaming=True,
        top_p=0.8,
        max_retries=3,
        model_kwargs={"temperature": 0.1, "max_tokens": 200},
    )
    answer = chat.invoke([HumanMessage(content="你好")])
    assert isinstance(answer.content, str)
    assert answer.content
    assert "".join(str(c.content) for c in chat.stream("hi")) != ""
    assert (await chat.ainvoke("hi")).content
    body = _bodies(old_environment, "text-generation")[0]
    assert body["model"] == "qwen-turbo"
    assert body["parameters"]["temperature"] == 0.1
    assert body["parameters"]["max_tokens"] == 200
    # The key from the environment was used, but is on the object only as a secret.
    assert MAIN_KEY not in repr(chat)


async def test_tongyi(old_environment: Emulator) -> None:
    # from langchain_community.llms import Tongyi
    from langchain_dashscope_ws import Tongyi

    llm = Tongyi(model="qwen-max", top_p=0.8)
    traced = llm._get_ls_params()
    assert (traced["ls_provider"], traced["ls_model_name"]) == ("dashscope", "qwen-max")
    assert "dashscope_workspace" not in traced  # the main account: no workspace to bill
    assert Tongyi(workspace="ws-1")._get_ls_params()["dashscope_workspace"] == "ws-1"  # type: ignore[typeddict-item]
    text = llm.invoke("用50个字左右阐述，生命的意义在于")
    assert isinstance(text, str)
    assert text
    chunks = list(llm.stream("你是谁"))
    assert len(chunks) > 1
    assert all(isinstance(c, str) for c in chunks)
    assert await llm.ainvoke("hi")
    assert "".join([c async for c in llm.astream("hi")])
    result = llm.generate(["a", "b"])
    assert [len(g) for g in result.generations] == [1, 1]
    info = result.generations[0][0].generation_info or {}
    assert info["finish_reason"] == "stop"
    assert info["request_id"]
    assert info["token_usage"]["input_tokens"] > 0
    body = _bodies(old_environment, "text-generation")[0]
    assert body["model"] == "qwen-max"
    assert body["input"]["messages"] == [
        {"role": "user", "content": "用50个字左右阐述，生命的意义在于"}
    ]
    assert body["parameters"]["top_p"] == 0.8


def test_tongyi_streaming_flag_and_alias(old_environment: Emulator) -> None:
    from langchain_dashscope_ws import Tongyi

    llm = Tongyi(model_name="qwen-plus", dashscope_api_key=MAIN_KEY, streaming=True)
    assert llm.invoke("hi")
    assert _bodies(old_environment, "text-generation")[0]["model"] == "qwen-plus"
    assert any(r.headers.get("accept") == "text/event-stream" for r in old_environment.requests)


async def test_dashscope_embeddings(old_environment: Emulator) -> None:
    # from langchain_community.embeddings import DashScopeEmbeddings
    from langchain_dashscope_ws import DashScopeEmbeddings

    embeddings = DashScopeEmbeddings(model="text-embedding-v1", dashscope_api_key=MAIN_KEY)
    query = embeddings.embed_query("This is a test query.")
    documents = embeddings.embed_documents(["This is a test document."] * 30)
    assert len(documents) == 30
    assert len(documents[0]) == len(query) > 0
    assert len(await embeddings.aembed_query("x")) == len(query)
    assert {b["model"] for b in _bodies(old_environment, "text-embedding")} == {"text-embedding-v1"}


def test_dashscope_rerank_langchain(old_environment: Emulator) -> None:
    # from langchain_community.document_compressors.dashscope_rerank import DashScopeRerank
    from langchain_core.documents import Document

    from langchain_dashscope_ws import DashScopeRerank

    compressor = DashScopeRerank(model="gte-rerank", top_n=2, api_key=MAIN_KEY)
    docs = [Document(page_content=t) for t in ("apples", "Paris is in France", "tea")]
    ranked = compressor.compress_documents(docs, "capital of France")
    assert len(ranked) == 2
    assert all("relevance_score" in d.metadata for d in ranked)
    assert _bodies(old_environment, "rerank")[0]["model"] == "gte-rerank"


async def test_llamaindex_dashscope(old_environment: Emulator) -> None:
    # from llama_index.llms.dashscope import DashScope, DashScopeGenerationModels
    from llama_index.core.llms import ChatMessage

    from llamaindex_dashscope_ws import DashScope, DashScopeGenerationModels

    llm = DashScope(
        model_name=DashScopeGenerationModels.QWEN_MAX,
        api_key=MAIN_KEY,
        max_tokens=256,
        incremental_output=True,
        enable_search=False,
        temperature=0.1,
        seed=1234,
        context_window=8192,
        is_function_calling_model=True,
    )
    assert llm.complete("How to make cake?").text
    assert llm.chat([ChatMessage(role="user", content="hi")]).message.content
    pieces = [r.delta for r in llm.stream_complete("hi")]
    assert len(pieces) > 1
    assert (await llm.acomplete("hi")).text
    assert llm.metadata.context_window == 8192
    body = _bodies(old_environment, "text-generation")[0]
    assert body["model"] == "qwen-max"
    assert body["parameters"]["max_tokens"] == 256
    assert body["parameters"]["seed"] == 1234
    assert "incremental_output" not in body["parameters"]  # non-stream call: not sent


async def test_llamaindex_dashscope_embedding(old_environment: Emulator) -> None:
    # from llama_index.embeddings.dashscope import (
    #     DashScopeEmbedding, DashScopeTextEmbeddingModels, DashScopeTextEmbeddingType)
    from llamaindex_dashscope_ws import (
        DashScopeEmbedding,
        DashScopeTextEmbeddingModels,
        DashScopeTextEmbeddingType,
    )

    embedder = DashScopeEmbedding(
        model_name=DashScopeTextEmbeddingModels.TEXT_EMBEDDING_V2,
        text_type=DashScopeTextEmbeddingType.TEXT_TYPE_DOCUMENT,
        api_key=MAIN_KEY,
        embed_batch_size=25,
    )
    vectors = embedder.get_text_embedding_batch(["风急天高猿啸哀", "渚清沙白鸟飞回"])
    query = embedder.get_query_embedding("杜甫")
    assert len(vectors) == 2
    assert len(vectors[0]) == len(query) > 0
    assert len(await embedder.aget_query_embedding("x")) == len(query)
    bodies = _bodies(old_environment, "text-embedding")
    assert {b["model"] for b in bodies} == {"text-embedding-v2"}
    assert [b["parameters"]["text_type"] for b in bodies[:2]] == ["document", "query"]


def test_llamaindex_dashscope_rerank(old_environment: Emulator) -> None:
    # from llama_index.postprocessor.dashscope_rerank import DashScopeRerank
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

    from llamaindex_dashscope_ws import DashScopeRerank

    rerank = DashScopeRerank(top_n=2, model="gte-rerank", return_documents=False, api_key=MAIN_KEY)
    nodes = [NodeWithScore(node=TextNode(text=t), score=0.5) for t in ("apples", "Paris", "tea")]
    ranked = rerank.postprocess_nodes(nodes, QueryBundle("capital of France"))
    assert len(ranked) == 2
    assert all(n.score is not None for n in ranked)
    assert _bodies(old_environment, "rerank")[0]["model"] == "gte-rerank"

"""Issue 16 "done when": every malformed answer raises the typed error through BOTH adapters.

The core's parsers are covered shape by shape in ``test_malformed_answers.py``; here each
entry point of each adapter class (sync, async, streamed) gets malformed answers from a
``MockTransport`` and must raise ``dashscope_ws.APIResponseValidationError`` — never return
an empty reply, an empty ranking or a wrong vector. LangChain has no matching
``langchain_core.exceptions`` class, so the core error passes through unchanged (see
docs/langchain.md "Reasoning, usage, errors"); it is asserted here so that stays true.

The two checks that need a per-call fact (more results than ``top_n``, vectors of another
length than the ``dimensions`` asked for) go through the client's parser binding.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from test_malformed_answers import (
    GOOD_EVENT,
    MALFORMED_CHAT,
    MALFORMED_EMBEDDINGS,
    MALFORMED_EVENTS,
    MALFORMED_RERANK,
)

from dashscope_ws import APIResponseValidationError
from dashscope_ws.transports import AsyncMockTransport, MockRequest, MockResponse, MockTransport

KEY = "sk-adapter-malformed"
CHAT_SHAPES = ["empty-object", "output-null", "choices-empty", "choices-null-entry",
               "message-a-string", "tool-calls-an-int", "function-a-string"]  # fmt: skip
STREAM_SHAPES = ["output-null", "tool-calls-an-int", "function-a-string", "message-a-string"]
EMBEDDING_SHAPES = ["no-rows", "one-row-for-two", "nan", "null-in-vector", "empty-vector"]
RERANK_SHAPES = ["empty-results-for-two-documents", "duplicate-index", "nan-score", "entry-null"]


def _is_stream(request: MockRequest) -> bool:
    return any(name.lower() == "x-dashscope-sse" for name in request.headers)


def _answering(payload: Any) -> Callable[[MockRequest], Any]:
    """A handler answering ``payload`` (after one good chunk, for a stream)."""

    def handler(request: MockRequest) -> Any:
        if _is_stream(request):
            bad = b"event:result\n:HTTP_STATUS/200\ndata:" + json.dumps(payload).encode() + b"\n\n"
            sse = {"content-type": "text/event-stream"}
            return MockResponse(200, sse, chunks=[GOOD_EVENT, bad])
        return MockResponse(200, {"content-type": "application/json"}, json.dumps(payload).encode())

    return handler


def _transports(payload: Any) -> dict[str, Any]:
    handler = _answering(payload)
    return {
        "api_key": KEY,
        "transport": MockTransport(handler),
        "async_transport": AsyncMockTransport(handler),
    }


def _run(call: Callable[[], Any]) -> Any:
    result = call()
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


def _raises(call: Callable[[], Any]) -> APIResponseValidationError:
    with pytest.raises(APIResponseValidationError) as info:
        _run(call)
    assert info.value.status_code == 200
    assert info.value.message
    return info.value


async def _drain(stream: Any) -> list[Any]:
    return [chunk async for chunk in stream]


# --------------------------------------------------------------------------- LangChain

LC_CHAT: dict[str, Callable[[Any], Any]] = {
    "invoke": lambda llm: llm.invoke("hi"),
    "ainvoke": lambda llm: llm.ainvoke("hi"),
    "stream": lambda llm: list(llm.stream("hi")),
    "astream": lambda llm: _drain(llm.astream("hi")),
}


@pytest.mark.parametrize("shape", CHAT_SHAPES)
@pytest.mark.parametrize("entry", ["invoke", "ainvoke"])
def test_langchain_chat_raises(shape: str, entry: str) -> None:
    from langchain_dashscope_ws import ChatDashScope

    llm = ChatDashScope(model="qwen-plus", max_retries=0, **_transports(MALFORMED_CHAT[shape]))
    error = _raises(lambda: LC_CHAT[entry](llm))
    assert type(error) is APIResponseValidationError  # passes through unchanged, documented


@pytest.mark.parametrize("shape", STREAM_SHAPES)
@pytest.mark.parametrize("entry", ["stream", "astream"])
def test_langchain_stream_raises(shape: str, entry: str) -> None:
    from langchain_dashscope_ws import ChatDashScope

    llm = ChatDashScope(model="qwen-plus", max_retries=0, **_transports(MALFORMED_EVENTS[shape]))
    _raises(lambda: LC_CHAT[entry](llm))


# Tongyi (text completion) has the same four entry points over the same core calls.
TONGYI_CASES = [(shape, entry) for entry in LC_CHAT
                for shape in (STREAM_SHAPES if "stream" in entry else CHAT_SHAPES)]  # fmt: skip


@pytest.mark.parametrize(("shape", "entry"), TONGYI_CASES)
def test_langchain_tongyi_raises(shape: str, entry: str) -> None:
    from langchain_dashscope_ws import Tongyi

    payload = (MALFORMED_EVENTS if "stream" in entry else MALFORMED_CHAT)[shape]
    llm = Tongyi(model="qwen-plus", max_retries=0, **_transports(payload))
    error = _raises(lambda: LC_CHAT[entry](llm))
    assert type(error) is APIResponseValidationError


@pytest.mark.parametrize("shape", EMBEDDING_SHAPES)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_langchain_embeddings_raise(shape: str, mode: str) -> None:
    from langchain_dashscope_ws import DashScopeEmbeddings

    emb = DashScopeEmbeddings(model="text-embedding-v4", **_transports(MALFORMED_EMBEDDINGS[shape]))
    if mode == "sync":
        _raises(lambda: emb.embed_documents(["a", "b"]))
    else:
        _raises(lambda: emb.aembed_documents(["a", "b"]))


@pytest.mark.parametrize("shape", RERANK_SHAPES)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_langchain_rerank_raises(shape: str, mode: str) -> None:
    from langchain_core.documents import Document

    from langchain_dashscope_ws import DashScopeRerank

    rerank = DashScopeRerank(model="gte-rerank-v2", top_n=2, **_transports(MALFORMED_RERANK[shape]))
    docs = [Document(page_content="a"), Document(page_content="b")]
    if mode == "sync":
        _raises(lambda: rerank.compress_documents(docs, "q"))
    else:
        _raises(lambda: rerank.acompress_documents(docs, "q"))


# --------------------------------------------------------------------------- LlamaIndex


def _li_messages() -> list[Any]:
    from llama_index.core.llms import ChatMessage

    return [ChatMessage(role="user", content="hi")]


async def _li_astream(llm: Any) -> list[Any]:
    return [r async for r in await llm.astream_chat(_li_messages())]


LI_CHAT: dict[str, Callable[[Any], Any]] = {
    "chat": lambda llm: llm.chat(_li_messages()),
    "achat": lambda llm: llm.achat(_li_messages()),
    "stream_chat": lambda llm: list(llm.stream_chat(_li_messages())),
    "astream_chat": _li_astream,
}


@pytest.mark.parametrize("shape", CHAT_SHAPES)
@pytest.mark.parametrize("entry", ["chat", "achat"])
def test_llamaindex_chat_raises(shape: str, entry: str) -> None:
    from llamaindex_dashscope_ws import DashScope

    llm = DashScope(model="qwen-plus", max_retries=0, **_transports(MALFORMED_CHAT[shape]))
    _raises(lambda: LI_CHAT[entry](llm))


@pytest.mark.parametrize("shape", STREAM_SHAPES)
@pytest.mark.parametrize("entry", ["stream_chat", "astream_chat"])
def test_llamaindex_stream_raises(shape: str, entry: str) -> None:
    from llamaindex_dashscope_ws import DashScope

    llm = DashScope(model="qwen-plus", max_retries=0, **_transports(MALFORMED_EVENTS[shape]))
    _raises(lambda: LI_CHAT[entry](llm))


@pytest.mark.parametrize("shape", EMBEDDING_SHAPES)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_llamaindex_embeddings_raise(shape: str, mode: str) -> None:
    from llamaindex_dashscope_ws import DashScopeEmbedding

    emb = DashScopeEmbedding(
        model_name="text-embedding-v4", **_transports(MALFORMED_EMBEDDINGS[shape])
    )
    if mode == "sync":
        _raises(lambda: emb.get_text_embedding_batch(["a", "b"]))
    else:
        _raises(lambda: emb.aget_text_embedding_batch(["a", "b"]))


@pytest.mark.parametrize("shape", RERANK_SHAPES)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_llamaindex_rerank_raises(shape: str, mode: str) -> None:
    from llama_index.core.schema import NodeWithScore, TextNode

    from llamaindex_dashscope_ws import DashScopeRerank

    rerank = DashScopeRerank(model="gte-rerank-v2", top_n=2, **_transports(MALFORMED_RERANK[shape]))
    nodes = [NodeWithScore(node=TextNode(text="a")), NodeWithScore(node=TextNode(text="b"))]
    if mode == "sync":
        _raises(lambda: rerank.postprocess_nodes(nodes, query_str="q"))
    else:
        _raises(lambda: rerank.apostprocess_nodes(nodes, query_str="q"))


# --------------------------------------------------------------------------- per-call facts

TWO_VECTORS = {
    "output": {"embeddings": [{"text_index": i, "embedding": [0.1, 0.2]} for i in range(2)]},
    "request_id": "rid-dim",
}
TWO_RESULTS = MALFORMED_RERANK["more-than-top-n"]  # two results, for top_n=1


def test_client_checks_the_dimension_asked_for() -> None:
    from dashscope_ws import DashScopeClient

    client = DashScopeClient(**_transports(TWO_VECTORS))
    assert client.embed(["a", "b"], model="text-embedding-v4").embeddings[1] == [0.1, 0.2]
    with pytest.raises(APIResponseValidationError, match="2 dimensions, 64 were asked"):
        client.embed(["a", "b"], model="text-embedding-v4", dimension=64)
    with pytest.raises(APIResponseValidationError, match="64 were asked"):
        asyncio.run(client.aembed(["a", "b"], model="text-embedding-v4", dimension=64))


def test_client_checks_top_n() -> None:
    from dashscope_ws import DashScopeClient

    client = DashScopeClient(**_transports(TWO_RESULTS))
    assert len(client.rerank("q", ["a", "b"], model="gte-rerank-v2", top_n=2).results) == 2
    with pytest.raises(APIResponseValidationError, match="top_n=1"):
        client.rerank("q", ["a", "b"], model="gte-rerank-v2", top_n=1)
    with pytest.raises(APIResponseValidationError, match="top_n=1"):
        asyncio.run(client.arerank("q", ["a", "b"], model="gte-rerank-v2", top_n=1))


def test_adapters_check_dimension_and_top_n() -> None:
    from langchain_core.documents import Document
    from llama_index.core.schema import NodeWithScore, TextNode

    from langchain_dashscope_ws import DashScopeEmbeddings
    from langchain_dashscope_ws import DashScopeRerank as LCRerank
    from llamaindex_dashscope_ws import DashScopeEmbedding
    from llamaindex_dashscope_ws import DashScopeRerank as LIRerank

    dim = _transports(TWO_VECTORS)
    with pytest.raises(APIResponseValidationError, match="64 were asked"):
        DashScopeEmbeddings(model="text-embedding-v4", dimensions=64, **dim).embed_documents(
            ["a", "b"]
        )
    with pytest.raises(APIResponseValidationError, match="64 were asked"):
        DashScopeEmbedding(
            model_name="text-embedding-v4", dimensions=64, **dim
        ).get_text_embedding_batch(["a", "b"])
    top = _transports(TWO_RESULTS)
    docs = [Document(page_content="a"), Document(page_content="b")]
    with pytest.raises(APIResponseValidationError, match="top_n=1"):
        LCRerank(model="gte-rerank-v2", top_n=1, **top).compress_documents(docs, "q")
    nodes = [NodeWithScore(node=TextNode(text="a")), NodeWithScore(node=TextNode(text="b"))]
    with pytest.raises(APIResponseValidationError, match="top_n=1"):
        LIRerank(model="gte-rerank-v2", top_n=1, **top).postprocess_nodes(nodes, query_str="q")

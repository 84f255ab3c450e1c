"""End-to-end RAG with LangChain on the emulator, entirely inside the sub-account's workspace.

Index with DashScopeEmbeddings in an InMemoryVectorStore, retrieve, rerank with
DashScopeRerank inside langchain-classic's ContextualCompressionRetriever, answer with
ChatDashScope: all with the key ``sk-emu-sub`` in ``ws-emu-sub``.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore
from rag_corpus import CORPUS, QUESTIONS
from retrieval_wire import assert_rag_stayed_in_sub_workspace

from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator
from langchain_dashscope_ws import ChatDashScope, DashScopeEmbeddings, DashScopeRerank

PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", "Reply with facts from the context only."),
        ("human", "Context:\n{context}\n\nQuestion: {question}"),
    ]
)


def build_chain(emu: Emulator, rerank_model: str) -> tuple[InMemoryVectorStore, Runnable[Any, Any]]:
    settings: dict[str, Any] = {
        "api_key": SUB_KEY,
        "workspace": SUB_WORKSPACE,
        "base_url": emu.base_url,
    }
    store = InMemoryVectorStore(DashScopeEmbeddings(**settings))
    rerank = DashScopeRerank(model=rerank_model, top_n=2, **settings)
    llm = ChatDashScope(model="qwen-plus", **settings)

    def context(inputs: dict[str, Any]) -> str:
        return "\n".join(doc.page_content for doc in inputs["reranked"])

    retriever = store.as_retriever(search_kwargs={"k": 4})
    reranking = ContextualCompressionRetriever(base_compressor=rerank, base_retriever=retriever)
    chain = (
        {"retrieved": retriever, "reranked": reranking, "question": RunnablePassthrough()}
        | RunnablePassthrough.assign(context=context)
        | RunnablePassthrough.assign(answer=PROMPT | llm | StrOutputParser())
    )
    return store, chain


DOCUMENTS = [Document(page_content=text, id=key) for key, text in CORPUS.items()]


@pytest.mark.parametrize("rerank_model", ["gte-rerank-v2", "qwen3-rerank"])
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_rag_pipeline_in_one_workspace(emu: Emulator, mode: str, rerank_model: str) -> None:
    store, chain = build_chain(emu, rerank_model)
    if mode == "sync":
        store.add_documents(DOCUMENTS)
        results = [chain.invoke(question) for question, _, _ in QUESTIONS]
    else:
        await store.aadd_documents(DOCUMENTS)
        results = [await chain.ainvoke(question) for question, _, _ in QUESTIONS]

    for (_, expected_id, fact), result in zip(QUESTIONS, results, strict=True):
        assert result["retrieved"][0].id == expected_id
        assert result["reranked"][0].id == expected_id
        assert "relevance_score" in result["reranked"][0].metadata
        assert fact in result["answer"]

    text_types = assert_rag_stayed_in_sub_workspace(emu)
    # one query embedding for the plain retriever, one for the compression retriever
    assert text_types == ["document"] + ["query"] * (2 * len(QUESTIONS))

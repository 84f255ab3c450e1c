"""End-to-end RAG with LlamaIndex on the emulator, entirely inside the sub-account's workspace.

VectorStoreIndex.from_documents with DashScopeEmbedding, a query engine with
DashScopeRerank as node postprocessor, answered by the DashScope LLM: all with the key
``sk-emu-sub`` in ``ws-emu-sub``. The global ``Settings`` are restored afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core import Document, Settings, VectorStoreIndex
from rag_corpus import CORPUS, QUESTIONS
from retrieval_wire import assert_rag_stayed_in_sub_workspace

from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator
from llamaindex_dashscope_ws import DashScope, DashScopeEmbedding, DashScopeRerank


@pytest.fixture
def settings(emu: Emulator) -> Iterator[dict[str, Any]]:
    """Point the global LlamaIndex Settings at the emulator; restore them afterwards."""
    # The private attributes: the public getters would resolve (and import) defaults.
    saved = (Settings._llm, Settings._embed_model)
    options: dict[str, Any] = {
        "api_key": SUB_KEY,
        "workspace": SUB_WORKSPACE,
        "base_url": emu.base_url,
    }
    Settings.embed_model = DashScopeEmbedding(**options)
    Settings.llm = DashScope(model="qwen-plus", **options)
    try:
        yield options
    finally:
        Settings._llm, Settings._embed_model = saved


DOCUMENTS = [Document(text=text, doc_id=key, metadata={"key": key}) for key, text in CORPUS.items()]


@pytest.mark.parametrize("rerank_model", ["gte-rerank-v2", "qwen3-rerank"])
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_rag_pipeline_in_one_workspace(
    emu: Emulator, settings: dict[str, Any], mode: str, rerank_model: str
) -> None:
    index = VectorStoreIndex.from_documents(DOCUMENTS, use_async=mode == "async")
    retriever = index.as_retriever(similarity_top_k=4)
    rerank = DashScopeRerank(model=rerank_model, top_n=2, **settings)
    engine = index.as_query_engine(similarity_top_k=4, node_postprocessors=[rerank])

    for question, expected_key, fact in QUESTIONS:
        if mode == "sync":
            retrieved = retriever.retrieve(question)
            response = engine.query(question)
        else:
            retrieved = await retriever.aretrieve(question)
            response = await engine.aquery(question)
        assert retrieved[0].node.metadata["key"] == expected_key
        top = response.source_nodes[0]
        assert top.node.metadata["key"] == expected_key
        assert len(response.source_nodes) == 2
        assert top.score is not None
        assert fact in str(response)

    text_types = set(assert_rag_stayed_in_sub_workspace(emu))
    assert text_types == {"document", "query"}

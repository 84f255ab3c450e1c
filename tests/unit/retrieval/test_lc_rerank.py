"""DashScopeRerank (LangChain document compressor) against the emulator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.exceptions import ModelPermissionDeniedError
from retrieval_wire import COMPATIBLE_RERANK_PATH, RERANK_PATH, on_emulator

from dashscope_ws import errors as core_errors
from dashscope_ws.emulator import SUB_WORKSPACE, Emulator, RecordedRequest
from langchain_dashscope_ws import DashScopeRerank

DOCS = [
    Document(page_content="The Eiffel Tower is in Paris, the capital of France.", id="paris"),
    Document(page_content="杭州是浙江省的省会，以西湖闻名。", metadata={"lang": "zh"}, id="hz"),
    Document(page_content="Photosynthesis turns sunlight into chemical energy.", id="bio"),
    Document(page_content="The Great Wall of China is thousands of kilometres long.", id="wall"),
]


def make(emu: Emulator, **kwargs: Any) -> DashScopeRerank:
    return on_emulator(DashScopeRerank, emu, **kwargs)


async def compress(
    rerank: DashScopeRerank,
    docs: Sequence[Document],
    query: str,
    mode: str,
    workspace: str | None = None,
) -> Sequence[Document]:
    if mode == "sync":
        return rerank.compress_documents(docs, query, workspace=workspace)
    return await rerank.acompress_documents(docs, query, workspace=workspace)


def rerank_requests(emu: Emulator) -> list[RecordedRequest]:
    return [r for r in emu.requests if r.path in (RERANK_PATH, COMPATIBLE_RERANK_PATH)]


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


@MODES
async def test_scores_in_metadata_best_first(emu: Emulator, mode: str) -> None:
    out = await compress(make(emu, top_n=3), DOCS, "What is the capital of France?", mode)
    assert len(out) == 3
    assert out[0].id == "paris"
    scores = [doc.metadata["relevance_score"] for doc in out]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(score, float) for score in scores)


@MODES
async def test_inputs_untouched_and_metadata_kept(emu: Emulator, mode: str) -> None:
    out = await compress(make(emu, top_n=None), DOCS, "杭州 西湖", mode)
    assert len(out) == len(DOCS)
    assert out[0].id == "hz"
    assert out[0].metadata["lang"] == "zh"
    assert all("relevance_score" not in doc.metadata for doc in DOCS)


@pytest.mark.parametrize(
    ("model", "path"),
    [("gte-rerank-v2", RERANK_PATH), ("qwen3-rerank", COMPATIBLE_RERANK_PATH)],
)
@MODES
async def test_chosen_model_is_called(emu: Emulator, mode: str, model: str, path: str) -> None:
    out = await compress(make(emu, model=model, top_n=2), DOCS, "Great Wall of China", mode)
    assert out[0].id == "wall"
    (request,) = rerank_requests(emu)
    assert request.path == path
    assert request.json["model"] == model
    assert request.headers["X-DashScope-WorkSpace"] == SUB_WORKSPACE
    sent_top_n = request.json.get("top_n", request.json.get("parameters", {}).get("top_n"))
    assert sent_top_n == 2


def test_top_n_never_exceeds_document_count(emu: Emulator) -> None:
    out = make(emu, top_n=10).compress_documents(DOCS[:2], "Paris")
    assert len(out) == 2
    (request,) = rerank_requests(emu)
    assert request.json["parameters"]["top_n"] == 2


@MODES
async def test_per_call_workspace(emu: Emulator, mode: str) -> None:
    rerank = make(emu, workspace="ws-emu-other")  # the sub key is not a member: 401
    with pytest.raises(core_errors.AuthenticationError):
        await compress(rerank, DOCS, "Paris", mode)
    out = await compress(rerank, DOCS, "Paris", mode, workspace=SUB_WORKSPACE)
    assert out[0].id == "paris"
    assert rerank_requests(emu)[-1].headers["X-DashScope-WorkSpace"] == SUB_WORKSPACE


@MODES
async def test_errors_are_typed(emu: Emulator, mode: str) -> None:
    rerank = make(emu, model="gte-rerank")  # exists, but is not granted to ws-emu-sub
    with pytest.raises(ModelPermissionDeniedError) as caught:
        await compress(rerank, DOCS, "Paris", mode)
    assert isinstance(caught.value, core_errors.APIStatusError)
    assert rerank_requests(emu)[0].json["model"] == "gte-rerank"


@MODES
async def test_no_documents_no_request(emu: Emulator, mode: str) -> None:
    assert list(await compress(make(emu), [], "anything", mode)) == []
    assert rerank_requests(emu) == []

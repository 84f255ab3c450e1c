"""DashScopeRerank (LlamaIndex node postprocessor) against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.bridge.pydantic import Field
from llama_index.core.callbacks import CallbackManager, CBEventType, LlamaDebugHandler
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from retrieval_wire import COMPATIBLE_RERANK_PATH, RERANK_PATH, on_emulator

from dashscope_ws import errors as core_errors
from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator, RecordedRequest
from llamaindex_dashscope_ws import DashScopeRerank

TEXTS = {
    "paris": "The Eiffel Tower is in Paris, the capital of France.",
    "hz": "杭州是浙江省的省会，以西湖闻名。",
    "bio": "Photosynthesis turns sunlight into chemical energy.",
    "wall": "The Great Wall of China is thousands of kilometres long.",
}


def nodes() -> list[NodeWithScore]:
    return [NodeWithScore(node=TextNode(text=t, id_=k), score=0.5) for k, t in TEXTS.items()]


def make(emu: Emulator, **kwargs: Any) -> DashScopeRerank:
    return on_emulator(DashScopeRerank, emu, **kwargs)


async def run(
    rerank: DashScopeRerank, items: list[NodeWithScore], query: str | None, mode: str
) -> list[NodeWithScore]:
    bundle = QueryBundle(query) if query is not None else None
    if mode == "sync":
        return rerank.postprocess_nodes(items, query_bundle=bundle)
    return await rerank.apostprocess_nodes(items, query_bundle=bundle)


def rerank_requests(emu: Emulator) -> list[RecordedRequest]:
    return [r for r in emu.requests if r.path in (RERANK_PATH, COMPATIBLE_RERANK_PATH)]


class _Collector(BaseEventHandler):
    events: list[BaseEvent] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "Collector"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        if isinstance(event, (ReRankStartEvent, ReRankEndEvent)):
            self.events.append(event)


@pytest.fixture
def rerank_events() -> Iterator[list[BaseEvent]]:
    collector = _Collector()
    root = get_dispatcher()
    root.add_event_handler(collector)
    try:
        yield collector.events
    finally:
        root.event_handlers.remove(collector)


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


@MODES
async def test_scores_on_nodes_best_first(emu: Emulator, mode: str) -> None:
    items = nodes()
    out = await run(make(emu, top_n=2), items, "capital of France", mode)
    assert [n.node.node_id for n in out][:1] == ["paris"]
    assert len(out) == 2
    assert out[0].score is not None
    assert out[1].score is not None
    assert out[0].score >= out[1].score
    assert out[0].score != 0.5
    assert all(n.score == 0.5 for n in items)  # inputs not modified


@pytest.mark.parametrize(
    ("model", "path"),
    [("gte-rerank-v2", RERANK_PATH), ("qwen3-rerank", COMPATIBLE_RERANK_PATH)],
)
@MODES
async def test_chosen_model_is_called(emu: Emulator, mode: str, model: str, path: str) -> None:
    out = await run(make(emu, model=model), nodes(), "杭州 西湖", mode)
    assert out[0].node.node_id == "hz"
    (request,) = rerank_requests(emu)
    assert (request.path, request.json["model"]) == (path, model)
    assert request.headers["X-DashScope-WorkSpace"] == SUB_WORKSPACE


@MODES
async def test_events_like_llama_index_rerankers(
    emu: Emulator, mode: str, rerank_events: list[BaseEvent]
) -> None:
    debug = LlamaDebugHandler()
    rerank = make(emu, top_n=1, callback_manager=CallbackManager([debug]))
    out = await run(rerank, nodes(), "Great Wall", mode)
    start, end = rerank_events
    assert isinstance(start, ReRankStartEvent)
    assert (start.model_name, start.top_n, len(start.nodes)) == ("gte-rerank-v2", 1, 4)
    assert isinstance(end, ReRankEndEvent)
    assert [n.node.node_id for n in end.nodes] == [n.node.node_id for n in out] == ["wall"]
    pairs = debug.get_event_pairs(CBEventType.RERANKING)
    assert len(pairs) == 1
    assert pairs[0][1].payload is not None


@MODES
async def test_keep_retrieval_score(emu: Emulator, mode: str) -> None:
    out = await run(make(emu, keep_retrieval_score=True), nodes(), "Paris", mode)
    assert all(n.node.metadata["retrieval_score"] == 0.5 for n in out)


@MODES
async def test_no_nodes_no_request(emu: Emulator, mode: str) -> None:
    assert await run(make(emu), [], "anything", mode) == []
    assert rerank_requests(emu) == []


@MODES
async def test_missing_query_is_an_error(emu: Emulator, mode: str) -> None:
    with pytest.raises(ValueError, match="query"):
        await run(make(emu), nodes(), None, mode)


@MODES
async def test_errors_propagate_typed(emu: Emulator, mode: str) -> None:
    rerank = make(emu, workspace="ws-emu-other")  # the sub key is not a member: 401
    with pytest.raises(core_errors.AuthenticationError) as caught:
        await run(rerank, nodes(), "Paris", mode)
    assert caught.value.code == "NOT AUTHORIZED"
    assert SUB_KEY not in str(caught.value)


@MODES
async def test_top_n_and_instruct_are_sent(emu: Emulator, mode: str) -> None:
    rerank = make(emu, model="qwen3-rerank", top_n=2, instruct="Find the landmark.")
    assert len(await run(rerank, nodes(), "Paris", mode)) == 2
    (request,) = rerank_requests(emu)
    assert (request.json["top_n"], request.json["instruct"]) == (2, "Find the landmark.")
    assert request.json["documents"] == list(TEXTS.values())


def test_key_not_serialised(emu: Emulator) -> None:
    rerank = make(emu)
    for text in (repr(rerank), str(rerank.to_dict()), rerank.to_json()):
        assert SUB_KEY not in text

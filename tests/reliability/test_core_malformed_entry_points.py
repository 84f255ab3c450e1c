"""Issue 16 "done when", core half: every malformed shape through every ``DashScopeClient`` entry.

``test_malformed_answers.py`` checks the parsers shape by shape and the client only for a few
shapes (sync, plus one async chat); ``test_adapter_malformed.py`` covers both adapters. This
closes the gap between them: each shape through ``chat``/``achat``, ``stream_chat``/
``astream_chat``, ``embed``/``aembed`` and ``rerank``/``arerank`` of the core client itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from test_adapter_malformed import (
    CHAT_SHAPES,
    EMBEDDING_SHAPES,
    RERANK_SHAPES,
    STREAM_SHAPES,
    _raises,
    _transports,
)
from test_malformed_answers import (
    MALFORMED_CHAT,
    MALFORMED_EMBEDDINGS,
    MALFORMED_EVENTS,
    MALFORMED_RERANK,
)

from dashscope_ws import DashScopeClient

USER = [{"role": "user", "content": "hi"}]
MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def _client(payload: Any) -> DashScopeClient:
    return DashScopeClient(**_transports(payload))


def _pick(client: DashScopeClient, mode: str, sync: str, asyn: str) -> Callable[..., Any]:
    return getattr(client, sync if mode == "sync" else asyn)  # type: ignore[no-any-return]


@MODES
@pytest.mark.parametrize("shape", CHAT_SHAPES)
def test_core_chat_raises(shape: str, mode: str) -> None:
    call = _pick(_client(MALFORMED_CHAT[shape]), mode, "chat", "achat")
    _raises(lambda: call(USER, model="qwen-plus"))


@MODES
@pytest.mark.parametrize("shape", STREAM_SHAPES)
def test_core_stream_raises_after_the_good_chunk(shape: str, mode: str) -> None:
    client = _client(MALFORMED_EVENTS[shape])
    seen: list[str] = []
    if mode == "sync":

        def consume() -> Any:
            for chunk in client.stream_chat(USER, model="qwen-plus"):
                seen.append(chunk.text)

    else:

        async def consume() -> Any:
            async for chunk in client.astream_chat(USER, model="qwen-plus"):
                seen.append(chunk.text)

    _raises(consume)
    assert seen == ["Hel"]  # the good chunk came first, then the typed error


@MODES
@pytest.mark.parametrize("shape", EMBEDDING_SHAPES)
def test_core_embed_raises(shape: str, mode: str) -> None:
    call = _pick(_client(MALFORMED_EMBEDDINGS[shape]), mode, "embed", "aembed")
    _raises(lambda: call(["a", "b"], model="text-embedding-v4"))


@MODES
@pytest.mark.parametrize("shape", RERANK_SHAPES)
def test_core_rerank_raises(shape: str, mode: str) -> None:
    call = _pick(_client(MALFORMED_RERANK[shape]), mode, "rerank", "arerank")
    _raises(lambda: call("q", ["a", "b"], model="gte-rerank-v2"))

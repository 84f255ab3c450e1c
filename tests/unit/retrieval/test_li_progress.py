"""What ``show_progress=True`` counts, as docs/retrieval.md says (issue 12).

LlamaIndex's sync ``get_text_embedding_batch`` wraps the *texts* in its progress bar; the
async ``aget_text_embedding_batch`` runs one job per *batch* (one request each, since
``embed_batch_size`` is the model's row limit). Recorded by wrapping LlamaIndex's own
progress helpers, the requests counted on the emulator.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core.base.embeddings import base as li_base
from tqdm.asyncio import tqdm_asyncio

from dashscope_ws.emulator import MAIN_KEY, Emulator
from llamaindex_dashscope_ws import DashScopeEmbedding

TEXTS = [f"text {i}" for i in range(23)]  # v4: 10 rows per request, so 3 requests


def _embedder(emu: Emulator) -> DashScopeEmbedding:
    return DashScopeEmbedding(
        model_name="text-embedding-v4", api_key=MAIN_KEY, base_url=emu.base_url
    )


def _requests(emu: Emulator) -> int:
    return len([r for r in emu.requests if "text-embedding" in r.path])


def test_sync_progress_counts_texts(
    dashscope_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    totals: list[int] = []
    original = li_base.get_tqdm_iterable

    def recording(items: Any, show_progress: bool, desc: str) -> Any:
        totals.append(len(items))
        return original(items, False, desc)

    monkeypatch.setattr(li_base, "get_tqdm_iterable", recording)
    vectors = _embedder(dashscope_emulator).get_text_embedding_batch(TEXTS, show_progress=True)
    assert len(vectors) == 23
    assert totals == [23]  # one step per text...
    assert _requests(dashscope_emulator) == 3  # ...while three requests went out


async def test_async_progress_counts_requests(
    dashscope_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    totals: list[int] = []
    original = li_base.run_jobs

    async def recording(jobs: Any, show_progress: bool = False, **kwargs: Any) -> Any:
        totals.append(len(jobs))
        return await original(jobs, show_progress=False, **kwargs)

    async def recording_gather(*jobs: Any, **kwargs: Any) -> Any:
        # Without num_workers (the default: the client paces requests adaptively) LlamaIndex
        # shows the bar through tqdm_asyncio.gather instead of run_jobs; both count jobs.
        totals.append(kwargs.get("total", len(jobs)))
        return await asyncio.gather(*jobs)

    monkeypatch.setattr(li_base, "run_jobs", recording)
    monkeypatch.setattr(tqdm_asyncio, "gather", recording_gather)
    embedder = _embedder(dashscope_emulator)
    async with embedder:
        vectors = await embedder.aget_text_embedding_batch(TEXTS, show_progress=True)
    assert len(vectors) == 23
    assert totals == [3] == [_requests(dashscope_emulator)]  # one step per request

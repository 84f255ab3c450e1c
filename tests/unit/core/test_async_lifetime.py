"""Async sessions clean up after themselves: a dropped client never warns.

Adapters keep one client for the life of a model object and call it from whatever loop is
running (``asyncio.run`` per call, pytest-asyncio's loop per test). When such a client is
collected after its loops closed, aiohttp used to report "Unclosed client session" and
"Unclosed connector" (ResourceWarning, an error under ``filterwarnings = error``) at some
random later garbage collection.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from dashscope_ws import DashScopeClient
from dashscope_ws.emulator import MAIN_KEY, Emulator

USER = [{"role": "user", "content": "Hello"}]


@dataclass
class Leaks:
    warnings: list[str] = field(default_factory=list)
    unraisable: list[str] = field(default_factory=list)


@pytest.fixture
def collect_leaks(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[], None]], Leaks]:
    """Run a scenario, then ``gc.collect()``; return every warning and unraisable error."""

    def collect(scenario: Callable[[], None]) -> Leaks:
        leaks = Leaks()
        monkeypatch.setattr(
            sys, "unraisablehook", lambda u: leaks.unraisable.append(repr(u.exc_value))
        )
        # Recorded, and separately escalated: a warning from a __del__ under "error"
        # becomes an unraisable exception, which the hook above captures.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scenario()
            gc.collect()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gc.collect()
        leaks.warnings = [f"{w.category.__name__}: {w.message}" for w in caught]
        return leaks

    return collect


@pytest.fixture
def client_factory(dashscope_emulator: Emulator) -> Callable[[], DashScopeClient]:
    """Clients that nobody closes: the point is that they need not be."""

    def make() -> DashScopeClient:
        return DashScopeClient(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url)

    return make


def test_client_used_by_two_asyncio_runs_then_dropped_leaves_no_warning(
    collect_leaks: Callable[[Callable[[], None]], Leaks],
    client_factory: Callable[[], DashScopeClient],
    dashscope_emulator: Emulator,
) -> None:
    async def chat_then_stream(client: DashScopeClient) -> list[str]:
        reply = await client.achat(USER, model="qwen-plus")
        chunks = [c.text async for c in client.astream_chat(USER, model="qwen-plus")]
        return [reply.text, "".join(chunks)]

    def scenario() -> None:
        client = client_factory()
        assert all(asyncio.run(chat_then_stream(client)))
        assert all(asyncio.run(chat_then_stream(client)))
        del client

    leaks = collect_leaks(scenario)
    assert leaks == Leaks()
    assert len(dashscope_emulator.requests) == 4


def test_client_dropped_while_its_loop_runs_closes_its_session_there(
    collect_leaks: Callable[[Callable[[], None]], Leaks],
    client_factory: Callable[[], DashScopeClient],
) -> None:
    def scenario() -> None:
        async def main() -> None:
            client = client_factory()
            assert len((await client.aembed(["a", "b"])).embeddings) == 2
            del client
            gc.collect()
            await asyncio.sleep(0.05)  # let the loop run the close asyncio scheduled

        asyncio.run(main())

    assert collect_leaks(scenario) == Leaks()


@pytest.mark.parametrize("in_thread", [False, True], ids=["same-thread", "worker-thread"])
def test_session_of_a_loop_closed_by_hand_is_detached_without_leaking_a_socket(
    collect_leaks: Callable[[Callable[[], None]], Leaks],
    client_factory: Callable[[], DashScopeClient],
    in_thread: bool,
) -> None:
    """llama-index's ``asyncio_run`` runs async code on a private loop in a worker thread and
    closes it without ``shutdown_asyncgens()``: the pooled keep-alive socket must still be
    closed, and nothing may be reported (neither by aiohttp nor by asyncio)."""

    def run_on_private_loop(client: DashScopeClient) -> str:
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(client.achat(USER, model="qwen-plus")).text
        finally:
            loop.close()  # no shutdown_asyncgens(): nothing could close the session politely

    def scenario() -> None:
        client = client_factory()
        if in_thread:
            with ThreadPoolExecutor(max_workers=1) as pool:
                assert pool.submit(run_on_private_loop, client).result()
        else:
            assert run_on_private_loop(client)
        assert asyncio.run(client.achat(USER, model="qwen-plus")).text
        del client

    assert collect_leaks(scenario) == Leaks()

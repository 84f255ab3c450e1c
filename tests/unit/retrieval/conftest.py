"""Fixtures for the retrieval adapter tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from dashscope_ws.client import DashScopeClient
from dashscope_ws.emulator import Emulator


@pytest.fixture
def emu(dashscope_emulator: Emulator) -> Emulator:
    """The shared emulator (pytest plugin), with an empty request log and script queue."""
    return dashscope_emulator


@pytest.fixture(autouse=True)
async def _close_adapter_clients(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Close every core client the adapters built, on the test's own event loop.

    The adapters cache their client for the life of the object; without this, aiohttp
    sessions outlive the test's loop and their "Unclosed client session" warnings fire
    at some later garbage collection, in the middle of an unrelated test.
    """
    created: list[DashScopeClient] = []
    original = DashScopeClient.__init__

    def recording_init(self: DashScopeClient, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        created.append(self)

    monkeypatch.setattr(DashScopeClient, "__init__", recording_init)
    yield
    for client in created:
        await client.aclose()

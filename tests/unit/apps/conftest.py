"""Clients pointed at the emulator, and one helper to call a method sync or async."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dashscope_ws import DashScopeClient, RetryPolicy
from dashscope_ws.emulator import MAIN_KEY, Emulator

MakeClient = Callable[..., DashScopeClient]


def call(mode: str, client: DashScopeClient, method: str, *args: Any, **kwargs: Any) -> Any:
    """``client.<method>(...)`` in sync mode, or ``await client.a<method>(...)`` on a fresh loop."""
    if mode == "sync":
        return getattr(client, method)(*args, **kwargs)

    async def go() -> Any:
        try:
            return await getattr(client, "a" + method)(*args, **kwargs)
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.fixture
def make_client(dashscope_emulator: Emulator) -> Iterator[MakeClient]:
    clients: list[DashScopeClient] = []

    def make(**settings: Any) -> DashScopeClient:
        settings.setdefault("api_key", MAIN_KEY)
        settings.setdefault("base_url", dashscope_emulator.base_url)
        settings.setdefault("retry_policy", RetryPolicy(0))
        client = DashScopeClient(**settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()

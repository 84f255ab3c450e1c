"""Clients pointed at the emulator (main key unless told otherwise), closed after the test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from apps_testkit import MakeClient

from dashscope_ws import DashScopeClient, RetryPolicy
from dashscope_ws.emulator import MAIN_KEY, Emulator


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

"""Test-wide isolation: no test ever sees the developer's real DashScope settings."""

from __future__ import annotations

import os

import pytest

_DASHSCOPE_ENV = [name for name in os.environ if name.startswith("DASHSCOPE_")]


@pytest.fixture(autouse=True)
def _isolate_dashscope_env(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Remove DASHSCOPE_* variables so a developer's key can never reach a unit test."""
    if request.node.get_closest_marker("live"):
        return
    for name in _DASHSCOPE_ENV:
        monkeypatch.delenv(name, raising=False)

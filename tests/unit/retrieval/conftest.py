"""Fixtures for the retrieval adapter tests."""

from __future__ import annotations

import pytest

from dashscope_ws.emulator import Emulator


@pytest.fixture
def emu(dashscope_emulator: Emulator) -> Emulator:
    """The shared emulator (pytest plugin), with an empty request log and script queue."""
    return dashscope_emulator

"""pytest fixtures for testing code that calls DashScope, against the local emulator.

Registered through the ``pytest11`` entry point, so installing ``dashscope-ws`` is enough:

* ``dashscope_emulator`` — a running :class:`~dashscope_ws.emulator.Emulator`, reset for every
  test (empty request log, no scripted replies). One server per distinct configuration is
  started lazily and shared by the whole session, so the fixture costs almost nothing.
* ``dashscope_emulator_config`` — the :class:`~dashscope_ws.emulator.EmulatorConfig` the
  emulator uses; override it in a ``conftest.py`` to change keys, workspaces or grants.

Example:
    >>> def test_hello(dashscope_emulator):  # doctest: +SKIP
    ...     client = DashScopeClient(api_key="sk-emu-main", base_url=dashscope_emulator.base_url)
    ...     assert client.chat([{"role": "user", "content": "hi"}], model="qwen-plus").text
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from dashscope_ws.emulator import Emulator, EmulatorConfig

__all__ = ["dashscope_emulator", "dashscope_emulator_config"]


class _EmulatorPool:
    """Session-wide emulators, one per distinct configuration, started on first use."""

    def __init__(self) -> None:
        self._running: list[Emulator] = []

    def get(self, config: EmulatorConfig) -> Emulator:
        from dashscope_ws.emulator import Emulator

        for emulator in self._running:
            if emulator.config == config:
                emulator.reset()
                return emulator
        emulator = Emulator(config).start()
        self._running.append(emulator)
        return emulator

    def close(self) -> None:
        while self._running:
            self._running.pop().stop()


@pytest.fixture(scope="session")
def _dashscope_emulator_pool() -> Iterator[_EmulatorPool]:
    pool = _EmulatorPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def dashscope_emulator_config() -> EmulatorConfig:
    """The emulator's keys, workspaces and grants (override to customise)."""
    from dashscope_ws.emulator import EmulatorConfig

    return EmulatorConfig()


@pytest.fixture
def dashscope_emulator(
    _dashscope_emulator_pool: _EmulatorPool, dashscope_emulator_config: EmulatorConfig
) -> Iterator[Emulator]:
    """A running DashScope emulator with an empty request log and script queue."""
    emulator = _dashscope_emulator_pool.get(dashscope_emulator_config)
    try:
        yield emulator
    finally:
        # A test that left scripted replies behind must not leak them into the next one.
        emulator.reset()

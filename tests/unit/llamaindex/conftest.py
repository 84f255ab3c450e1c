"""Fixtures for the LlamaIndex LLM tests: DashScope instances bound to the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from llama_index.core import Settings

from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator
from llamaindex_dashscope_ws import DashScope


async def _closing(llm: DashScope) -> AsyncIterator[DashScope]:
    async with llm:  # closes the client's pools on the test's own loop
        yield llm


@pytest.fixture
async def llm(dashscope_emulator: Emulator) -> AsyncIterator[DashScope]:
    """A sub-workspace LLM (sub key + its workspace), no retries."""
    instance = DashScope(
        api_key=SUB_KEY,
        workspace=SUB_WORKSPACE,
        base_url=dashscope_emulator.base_url,
        max_retries=0,
    )
    async for value in _closing(instance):
        yield value


@pytest.fixture
async def main_llm(dashscope_emulator: Emulator) -> AsyncIterator[DashScope]:
    """A main-account LLM without a default workspace."""
    instance = DashScope(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url, max_retries=0)
    async for value in _closing(instance):
        yield value


@pytest.fixture
def restore_settings() -> Iterator[None]:
    """Give LlamaIndex's global Settings back exactly as they were."""
    names = ("_llm", "_embed_model", "_callback_manager", "_tokenizer", "_node_parser",
             "_prompt_helper", "_chat_prompt_helper", "_transformations")  # fmt: skip
    saved: dict[str, Any] = {name: getattr(Settings, name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(Settings, name, value)

"""langchain-tests standard suites for DashScopeEmbeddings (integration against the emulator)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator
from langchain_dashscope_ws import DashScopeEmbeddings


class TestDashScopeEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[DashScopeEmbeddings]:
        return DashScopeEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "text-embedding-v4", "api_key": "sk-test", "workspace": "ws-1"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"DASHSCOPE_API_KEY": "sk-from-env"},
            {"model": "text-embedding-v3"},
            {"api_key": "sk-from-env", "model": "text-embedding-v3"},
        )


class TestDashScopeEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[DashScopeEmbeddings]:
        return DashScopeEmbeddings

    @pytest.fixture
    async def model(self, dashscope_emulator: Emulator) -> AsyncIterator[DashScopeEmbeddings]:
        embeddings = DashScopeEmbeddings(
            api_key=SUB_KEY,
            workspace=SUB_WORKSPACE,
            base_url=dashscope_emulator.base_url,
            dimensions=64,
        )
        yield embeddings
        # Close the aiohttp session on the test's own loop (the instance caches its client).
        await embeddings.aclose()

"""langchain-tests' standard unit suite for ChatDashScope (no network)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.unit_tests import ChatModelUnitTests
from syrupy.assertion import SnapshotAssertion

from langchain_dashscope_ws import ChatDashScope


class TestChatDashScopeStandardUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatDashScope]:
        return ChatDashScope

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "qwen-plus", "workspace": "ws-emu-sub"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"DASHSCOPE_API_KEY": "sk-from-env"},
            {"model": "qwen-plus"},
            {"api_key": "sk-from-env", "model": "qwen-plus"},
        )

    @property
    def has_tool_choice(self) -> bool:
        # DashScope can force one named function but not "any of several tools".
        return False

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supported_usage_metadata_details(self) -> dict[Any, list[Any]]:
        return {
            "invoke": ["reasoning_output", "cache_read_input"],
            "stream": ["reasoning_output", "cache_read_input"],
        }

    @property
    def model_override_value(self) -> str:
        return "qwen-max"

    @pytest.mark.xfail(
        strict=True,
        reason=(
            "langchain-core 1.8's load(allowed_objects='all') revives only the classes listed "
            "in langchain_core.load.mapping, so no third-party model can pass the round trip "
            "this test performs; dumpd() still matches the snapshot, and the round trip with "
            "allowed_objects=[ChatDashScope] is tested in test_lc_chat_model.py"
        ),
    )
    def test_serdes(self, model: BaseChatModel, snapshot: SnapshotAssertion) -> None:
        super().test_serdes(model, snapshot)

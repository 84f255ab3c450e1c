"""langchain-tests' standard suites for ChatDashScope: unit (no network) and integration.

Both declare the model's capabilities once (``_Capabilities``). The integration suite
runs against an emulator started once for the test class on a free loopback port; every
test talks to it with the sub-workspace key, so the workspace plumbing is exercised on
every call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests
from syrupy.assertion import SnapshotAssertion

from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator, ScriptedReply
from langchain_dashscope_ws import ChatDashScope


class _Capabilities:
    """What ChatDashScope supports, declared once for both standard suites."""

    @property
    def chat_model_class(self) -> type[ChatDashScope]:
        return ChatDashScope

    @property
    def has_tool_choice(self) -> bool:
        # DashScope forces one *named* function only; "any of several tools" (which
        # test_tool_choice requires) cannot be expressed and raises ValueError instead.
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


class TestChatDashScopeStandardUnit(_Capabilities, ChatModelUnitTests):
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


class TestChatDashScopeStandardIntegration(_Capabilities, ChatModelIntegrationTests):
    emulator: Emulator

    @pytest.fixture(autouse=True, scope="class")
    @classmethod
    def _running_emulator(cls) -> Iterator[Emulator]:
        with Emulator() as emulator:
            cls.emulator = emulator
            yield emulator

    @pytest.fixture(autouse=True)
    def _fresh_emulator(self, _running_emulator: Emulator) -> None:
        _running_emulator.reset()

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": "qwen-plus",
            "api_key": SUB_KEY,
            "workspace": SUB_WORKSPACE,
            "base_url": self.emulator.base_url,
        }

    def _call(self, prompt: str, *, stream: bool, **params: Any) -> AIMessage:
        llm = ChatDashScope(**{**self.chat_model_params, **params})
        if not stream:
            return llm.invoke(prompt)
        full: AIMessageChunk | None = None
        for chunk in llm.stream(prompt):
            full = chunk if full is None else full + chunk
        assert full is not None
        return full

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        return self._call("What is 17 * 23?", stream=stream, enable_thinking=True)

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        # The emulator has no context cache: script the usage DashScope reports on a
        # cache hit (prompt_tokens_details.cached_tokens) and check it is surfaced.
        self.emulator.enqueue(
            ScriptedReply(
                text="cached answer",
                usage={"input_tokens": 1200, "prompt_tokens_details": {"cached_tokens": 1024}},
            )
        )
        return self._call("A long, repeated prompt.", stream=stream)

    # ------------------------------------------------------------------ emulator limits

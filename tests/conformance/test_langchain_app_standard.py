"""langchain-tests' chat-model unit suite for ChatDashScopeApp (no network).

Capabilities are declared truthfully: an app has no tool calling, structured output, JSON
mode or image input through this interface; it does report usage.
"""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_dashscope_ws import ChatDashScopeApp


class TestChatDashScopeAppStandardUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatDashScopeApp]:
        return ChatDashScopeApp

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"app_id": "app-emu-rag", "workspace": "ws-emu-sub"}

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"DASHSCOPE_API_KEY": "sk-from-env"},
            {"app_id": "app-emu-rag"},
            {"api_key": "sk-from-env", "app_id": "app-emu-rag"},
        )

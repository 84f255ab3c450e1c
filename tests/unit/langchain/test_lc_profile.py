"""ChatDashScope.profile: langchain-core's ModelProfile, read from the model registry."""

from __future__ import annotations

import pytest
from langchain_core.language_models.model_profile import ModelProfile

from dashscope_ws.models import lookup, register_model, unregister_model
from langchain_dashscope_ws.chat_models import ChatDashScope

KEY = "sk-test"


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            "qwen3.6-plus",
            {"max_input_tokens": 1_000_000, "max_output_tokens": 65_536, "image_inputs": True,
             "video_inputs": True, "audio_inputs": False, "reasoning_output": True,
             "tool_calling": True},
        ),
        (
            "qwen-plus",
            {"max_input_tokens": 131_072, "image_inputs": False, "video_inputs": False,
             "reasoning_output": True, "structured_output": True, "tool_calling": True},
        ),
        (
            "qwen-max",
            {"max_input_tokens": 32_768, "max_output_tokens": 8_192, "reasoning_output": False,
             "structured_output": False},
        ),
        ("qwen-audio-turbo", {"audio_inputs": True, "image_inputs": False, "tool_calling": False}),
        ("qwq-plus", {"reasoning_output": True, "image_inputs": False}),
    ],
)  # fmt: skip
def test_profile_reads_the_registry(model: str, expected: dict[str, object]) -> None:
    profile = ChatDashScope(model=model, api_key=KEY).profile
    assert profile is not None
    assert {key: profile.get(key) for key in expected} == expected
    assert profile["max_input_tokens"] == lookup(model).context_window


def test_profile_uses_only_model_profile_keys() -> None:
    profile = ChatDashScope(model="qwen3-vl-plus", api_key=KEY).profile
    assert profile is not None
    assert set(profile) <= set(ModelProfile.__annotations__)


def test_a_profile_given_by_the_user_wins() -> None:
    mine: ModelProfile = {"max_input_tokens": 1_234, "image_inputs": True}
    assert ChatDashScope(model="qwen-plus", api_key=KEY, profile=mine).profile == mine


def test_profile_follows_a_registered_model() -> None:
    register_model("acme-vl-", endpoint="multimodal", inputs=("text", "image"))
    try:
        profile = ChatDashScope(model="acme-vl-7b", api_key=KEY).profile
    finally:
        unregister_model("acme-vl-")
    assert profile is not None
    assert profile["image_inputs"] is True
    unknown = ChatDashScope(model="acme-vl-7b", api_key=KEY).profile
    assert unknown is not None
    assert unknown["image_inputs"] is False

"""``ChatDashScope.profile``: langchain-core's ``ModelProfile`` from the model registry."""

from __future__ import annotations

from langchain_core.language_models.model_profile import ModelProfile

from dashscope_ws.models import ModelInfo

__all__ = ["model_profile"]


def model_profile(info: ModelInfo) -> ModelProfile:
    """langchain-core's ``ModelProfile`` from a registry record (:mod:`dashscope_ws.models`).

    Example:
        >>> from dashscope_ws.models import lookup
        >>> model_profile(lookup("qwen-vl-plus"))["image_inputs"]
        True
    """
    return ModelProfile(
        max_input_tokens=info.context_window,
        max_output_tokens=info.max_output_tokens,
        text_inputs=True,
        image_inputs="image" in info.inputs,
        image_url_inputs="image" in info.inputs,
        audio_inputs="audio" in info.inputs,
        video_inputs="video" in info.inputs,
        reasoning_output=info.thinking != "none",
        text_outputs=True,
        tool_calling=info.tool_calling,
        tool_choice=info.tool_calling,
        structured_output=info.json_schema,
    )

"""Context window and output limits of DashScope chat models, with sources.

LlamaIndex sizes prompts (``PromptHelper``, chat memory, response synthesis) from
``LLMMetadata.context_window`` and ``num_output``, so a wrong number here either
wastes the model's window or overflows it. Values are tokens.

Sources (Alibaba Cloud Model Studio model list; the 2025 pages):

* [MODELS] https://www.alibabacloud.com/help/en/model-studio/models
  (and the Chinese page https://help.aliyun.com/zh/model-studio/models)
* [LONG] https://www.alibabacloud.com/help/en/model-studio/long-context-qwen-long
  ("Qwen-Long provides a context window of 10 million tokens")
* [STRUCTURED] https://www.alibabacloud.com/help/en/model-studio/qwen-structured-output
  (Dec 2025: JSON Object mode on most Qwen models, JSON Schema mode on "only some
  qwen-plus models", non-thinking mode). Only the qwen-plus family is flagged
  ``json_schema``; which qwen-plus snapshots qualify is UNCONFIRMED.
* [CATALOG] the Model Studio console catalogue entries ("context_length",
  "max_output_length") for qwen3-max (256K / 64K) and qwen-flash (1M / 32K).

Rows marked ``verified=False`` were taken from the model list as remembered and
could not be re-checked against a stored copy of the page; they are plausible
but should be re-confirmed against [MODELS] when it changes. Longest-prefix
matching maps snapshots (``qwen-plus-2025-07-28``) and ``-latest`` aliases onto
their family.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_SPEC", "MODEL_SPECS", "ModelSpec", "model_spec"]


@dataclass(frozen=True)
class ModelSpec:
    """Limits and capabilities of one model family.

    Example:
        >>> model_spec("qwen-max").context_window
        32768
    """

    context_window: int
    max_output: int
    function_calling: bool = True
    verified: bool = False
    """True when the numbers were re-checked against a stored copy of the source."""
    json_schema: bool = False
    """Accepts ``response_format={"type": "json_schema", ...}`` (see [STRUCTURED])."""


# Prefix -> spec. The longest matching prefix wins, so put specific names beside
# general ones freely.
MODEL_SPECS: dict[str, ModelSpec] = {
    # [MODELS] Qwen-Max: 32,768 context, 8,192 output. [CATALOG] third-party copies agree.
    "qwen-max": ModelSpec(32_768, 8_192, verified=True),
    # [MODELS] qwen-max-latest follows the 2025-01-25 snapshot: 131,072 context.
    "qwen-max-latest": ModelSpec(131_072, 8_192),
    "qwen-max-2025-01-25": ModelSpec(131_072, 8_192),
    # [CATALOG] qwen3-max: context_length 256K (262,144), max_output_length 64K (65,536).
    "qwen3-max": ModelSpec(262_144, 65_536, verified=True),
    # [MODELS] Qwen-Plus (Qwen3): 131,072 context (1,000,000 with max_input_tokens on
    # qwen-plus-latest / -2025-07-28 and later), 16,384 output (32,768 in thinking mode).
    "qwen-plus": ModelSpec(131_072, 16_384, json_schema=True),
    "qwen-plus-latest": ModelSpec(1_000_000, 32_768, json_schema=True),
    "qwen-plus-2025-07-28": ModelSpec(1_000_000, 32_768, json_schema=True),
    "qwen-plus-2025-09-11": ModelSpec(1_000_000, 32_768, json_schema=True),
    # [MODELS] Qwen-Turbo: 1,000,000 context (131,072 in thinking mode), 16,384 output.
    "qwen-turbo": ModelSpec(1_000_000, 16_384),
    # [CATALOG] qwen-flash: context_length 1M, max_output_length 32K.
    "qwen-flash": ModelSpec(1_000_000, 32_768, verified=True),
    # [LONG] Qwen-Long: 10,000,000 context; [MODELS] 8,192 output (32,768 for newer snapshots).
    "qwen-long": ModelSpec(10_000_000, 8_192),
    # [MODELS] QwQ-Plus: 131,072 context, 8,192 output (reasoning budget separate).
    "qwq-plus": ModelSpec(131_072, 8_192),
    "qwq-32b": ModelSpec(131_072, 8_192),
    # [MODELS] Qwen3 coder: 1,000,000 context, 65,536 output.
    "qwen3-coder-plus": ModelSpec(1_000_000, 65_536),
    "qwen3-coder-flash": ModelSpec(1_000_000, 65_536),
    "qwen-coder-plus": ModelSpec(131_072, 8_192),
    # [MODELS] Qwen3 open-source checkpoints: 131,072 context, 8,192-16,384 output.
    "qwen3-": ModelSpec(131_072, 16_384),
    "qwen2.5-": ModelSpec(131_072, 8_192),
    # [MODELS] DeepSeek on Model Studio: 65,536 (v3) / 131,072 context.
    "deepseek-v3": ModelSpec(65_536, 8_192),
    "deepseek-r1": ModelSpec(65_536, 8_192),
    # Vision-language: [CATALOG] qwen3-vl-plus 256K / 32K; qwen-vl-plus 128K / 8K.
    "qwen3-vl-plus": ModelSpec(262_144, 32_768, verified=True),
    "qwen-vl-plus": ModelSpec(131_072, 8_192, verified=True),
    "qwen-vl-max": ModelSpec(131_072, 8_192),
    # [MODELS] Qwen-MT translation models do not support tool calling.
    "qwen-mt": ModelSpec(16_384, 8_192, function_calling=False),
    # [MODELS] Qwen-Math does not support tool calling.
    "qwen-math": ModelSpec(4_096, 3_072, function_calling=False),
    "qwen2.5-math": ModelSpec(4_096, 3_072, function_calling=False),
}

# Unknown models: a conservative window that every current Qwen chat model meets,
# so prompt packing never overflows; tools assumed supported (the service says
# clearly if not).
DEFAULT_SPEC = ModelSpec(32_768, 8_192)


def model_spec(model: str) -> ModelSpec:
    """The spec of ``model`` by longest prefix, or :data:`DEFAULT_SPEC`.

    Example:
        >>> model_spec("qwen-plus-latest").context_window
        1000000
        >>> model_spec("my-fine-tune") is DEFAULT_SPEC
        True
    """
    name = model.strip().lower()
    best = ""
    for prefix in MODEL_SPECS:
        if name.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return MODEL_SPECS[best] if best else DEFAULT_SPEC

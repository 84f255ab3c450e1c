"""The built-in rows of the model registry (:mod:`dashscope_ws.models`), with sources.

Kept apart from the registry's logic so that a new family is one line here. Each row's
``source`` is the official page (name and date as read) or ``"assumed"``; the source tags
are spelled out, with addresses, in docs/models.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["BUILTIN_MODELS", "DEFAULT_MODEL", "ENDPOINT_PATHS", "MEDIA", "ModelInfo"]

Kind = Literal["chat", "embedding", "rerank"]
Endpoint = Literal["text", "multimodal", "compatible"]
Thinking = Literal["none", "optional", "always"]

ENDPOINT_PATHS: dict[str, str] = {
    "text": "services/aigc/text-generation/generation",
    "multimodal": "services/aigc/multimodal-generation/generation",
    # Relative to the OpenAI-compatible base (/compatible-mode/v1); not spoken by this client.
    "compatible": "chat/completions",
}
MEDIA = ("text", "image", "video", "audio")


@dataclass(frozen=True)
class ModelInfo:
    """What is known about one model family.

    Attributes:
        prefix: lower-case name prefix this record matches ("" for the default).
        kind: ``"chat"``, ``"embedding"`` or ``"rerank"``.
        endpoint: chat models: the generation path (``"text"``, ``"multimodal"``, or
            ``"compatible"`` for models served only in OpenAI-compatible mode); embedding
            and rerank models: ``"text"`` (native API) or ``"compatible"``.
        stream_only: the service answers only as a stream (QwQ, QVQ, Omni).
        thinking: ``"none"``, ``"optional"`` (``enable_thinking``) or ``"always"``.
        thinking_default: optional thinking is on unless ``enable_thinking=False``.
        context_window: max input tokens (embedding: per text; rerank: per request).
        max_output_tokens: max generated tokens (0 for embedding/rerank).
        tool_calling: accepts ``tools``.
        json_schema: accepts ``response_format={"type": "json_schema", ...}``.
        inputs: input modalities among ``text``, ``image``, ``video``, ``audio``.
        max_batch: embedding rows per request (the service answers 400 above it).
        dimensions: allowed embedding ``dimension`` values.
        default_dimension: vector length when no ``dimension`` is sent.
        sparse: ``output_type="sparse"`` / ``"dense&sparse"`` supported.
        instruct: a custom embedding ``instruct`` is documented.
        source: the official page (name and date) the row comes from, or ``"assumed"``.

    Example:
        >>> info = ModelInfo("acme-vl-", endpoint="multimodal", inputs=("text", "image"))
        >>> info.kind, info.context_window, info.source
        ('chat', 32768, 'assumed')
    """

    prefix: str
    kind: Kind = "chat"
    endpoint: Endpoint = "text"
    stream_only: bool = False
    thinking: Thinking = "none"
    thinking_default: bool = False
    context_window: int = 32_768
    max_output_tokens: int = 8_192
    tool_calling: bool = True
    json_schema: bool = False
    inputs: tuple[str, ...] = ("text",)
    max_batch: int | None = None
    dimensions: tuple[int, ...] = ()
    default_dimension: int | None = None
    sparse: bool = False
    instruct: bool = False
    source: str = "assumed"

    def __post_init__(self) -> None:
        if self.prefix != self.prefix.strip().lower():
            raise ValueError(f"prefix must be stripped lower case, got {self.prefix!r}")
        if self.endpoint not in ENDPOINT_PATHS:
            raise ValueError(
                f"endpoint must be one of {sorted(ENDPOINT_PATHS)}, got {self.endpoint!r}"
            )
        if not set(self.inputs) <= set(MEDIA) or "text" not in self.inputs:
            raise ValueError(f"inputs must include 'text' and be among {MEDIA}: {self.inputs}")

    @property
    def max_tokens_per_text(self) -> int:
        """Embedding per-row token limit (compatibility name for ``context_window``)."""
        return self.context_window

    @property
    def rerank_api(self) -> Literal["native", "compatible"] | None:
        """Rerank models: which API serves them; ``None`` for other kinds."""
        if self.kind != "rerank":
            return None
        return "compatible" if self.endpoint == "compatible" else "native"


# ------------------------------------------------------------------------------ the table
# Source tags (full addresses in docs/models.md). "(limits assumed)": the routing facts
# come from the page, the token numbers could not be re-checked against a stored copy.
_MODELS = "models (after 2025-12-19)"  # "Models" page / console catalogue (model_limits)
_MODELS26 = "models 2026-04"  # "Models" page as quoted with qwen3.5-plus limits
_VISION = "vision (after 2025-09-23)"  # "Image and video understanding" model table
_THINK = "deep-thinking (undated)"  # QwQ/QVQ/Qwen3 thinking, stream-only; Qwen3.5 multimodal API
_ACLI = "SDK 2.0.2 acli"  # official SDK: acli/providers/tongyi.py + acli/config.py
_OMNI = "qwen-omni 2025-11-20"  # "Qwen-Omni": OpenAI-compatible only, stream=True required
_EMB = "text-embedding-synchronous-api (undated)"
_RERANK = "text-rerank-api (undated)"
_LIMITS = " (limits assumed)"
_VL = ("text", "image", "video")
_ALL = ("text", "image", "video", "audio")
_V1_V2 = {"max_batch": 25, "dimensions": (1536,), "default_dimension": 1536}
_V3_DIMS = (1024, 768, 512, 256, 128, 64)


def _row(prefix: str, window: int, output: int, source: str, **more: Any) -> ModelInfo:
    return ModelInfo(prefix, context_window=window, max_output_tokens=output, source=source, **more)


def _qwen3_next(version: str, plus_window: int, source: str) -> tuple[ModelInfo, ...]:
    # Qwen3.5+ are native vision-language models served on the multimodal path; hosted
    # plus/flash have a 1M window, the open checkpoints 262,144. Thinking defaults on.
    family = {"endpoint": "multimodal", "thinking": "optional", "thinking_default": True}
    return (
        _row(f"qwen{version}-", 262_144, 65_536, source, inputs=_VL, **family),
        _row(f"qwen{version}-plus", plus_window, 65_536, source, inputs=_VL, **family),
        _row(f"qwen{version}-flash", plus_window, 65_536, source, inputs=_VL, **family),
    )


_HYBRID: dict[str, Any] = {"thinking": "optional"}
_OPEN3: dict[str, Any] = {"thinking": "optional", "thinking_default": True}
_QWQ: dict[str, Any] = {"thinking": "always", "stream_only": True}

BUILTIN_MODELS: tuple[ModelInfo, ...] = (
    # ---- text generation
    _row("qwen-max", 32_768, 8_192, _MODELS),
    _row("qwen-max-latest", 131_072, 8_192, "assumed"),
    _row("qwen-max-2025-01-25", 131_072, 8_192, "assumed"),
    _row("qwen3-max", 262_144, 65_536, _MODELS, **_HYBRID),
    _row("qwen-plus", 131_072, 16_384, f"qwen-structured-output 2025-12{_LIMITS}",
         json_schema=True, **_HYBRID),
    _row("qwen-plus-latest", 1_000_000, 32_768, "assumed", json_schema=True, **_HYBRID),
    _row("qwen-plus-2025-07-28", 1_000_000, 32_768, "assumed", json_schema=True, **_HYBRID),
    _row("qwen-plus-2025-09-11", 1_000_000, 32_768, "assumed", json_schema=True, **_HYBRID),
    _row("qwen-turbo", 1_000_000, 16_384, "assumed", **_HYBRID),
    _row("qwen-flash", 1_000_000, 32_768, _MODELS, **_HYBRID),
    _row("qwen-long", 10_000_000, 8_192, f"long-context-qwen-long (undated){_LIMITS}"),
    _row("qwen3-coder", 1_000_000, 65_536, "assumed"),
    _row("qwen-coder", 131_072, 8_192, "assumed"),
    _row("qwen-mt", 16_384, 8_192, "assumed", tool_calling=False),
    _row("qwen-math", 4_096, 3_072, "assumed", tool_calling=False),
    _row("qwen2.5-math", 4_096, 3_072, "assumed", tool_calling=False),
    _row("qwen2.5-", 131_072, 8_192, "assumed"),
    _row("qwq-", 131_072, 8_192, _THINK + _LIMITS, **_QWQ),
    # Qwen3 open-source checkpoints think by default (stream-only while thinking);
    # "-instruct" / "-thinking" variants are handled by name (see _variant).
    *(_row(f"qwen3-{size}", 131_072, 16_384, _THINK + _LIMITS, **_OPEN3)
      for size in ("0.6b", "1.7b", "4b", "8b", "14b", "32b", "30b-a3b", "235b-a22b")),
    _row("qwen3-next-80b-a3b", 131_072, 16_384, _THINK + _LIMITS, **_OPEN3),
    _row("deepseek-v3", 65_536, 8_192, "assumed"),
    _row("deepseek-r1", 65_536, 8_192, "assumed", thinking="always"),
    # ---- multimodal generation
    _row("qwen-vl", 131_072, 8_192, _MODELS, endpoint="multimodal", inputs=_VL,
         tool_calling=False),
    _row("qwen-vl-ocr", 32_768, 4_096, "assumed", endpoint="multimodal",
         inputs=("text", "image"), tool_calling=False),
    _row("qwen2.5-vl", 131_072, 8_192, _VISION + _LIMITS, endpoint="multimodal", inputs=_VL,
         tool_calling=False),
    _row("qwen3-vl-", 131_072, 32_768, _VISION + _LIMITS, endpoint="multimodal", inputs=_VL),
    _row("qwen3-vl-plus", 262_144, 32_768, _VISION, endpoint="multimodal", inputs=_VL,
         **_HYBRID),
    _row("qwen3-vl-flash", 262_144, 32_768, _MODELS, endpoint="multimodal", inputs=_VL,
         **_HYBRID),
    _row("qvq-", 131_072, 8_192, f"{_VISION}; {_THINK}{_LIMITS}", endpoint="multimodal", inputs=_VL,
         tool_calling=False, **_QWQ),
    _row("qwen-audio", 8_192, 2_048, "assumed", endpoint="multimodal",
         inputs=("text", "audio"), tool_calling=False),
    _row("qwen2-audio", 8_192, 2_048, "assumed", endpoint="multimodal",
         inputs=("text", "audio"), tool_calling=False),
    *_qwen3_next("3.5", 1_000_000, f"{_MODELS26}; {_THINK}"),
    *_qwen3_next("3.6", 1_000_000, f"Batch (undated){_LIMITS}"),
    *_qwen3_next("3.7", 1_000_000, f"{_ACLI}; Batch (undated){_LIMITS}"),
    _row("qwen3.8-", 262_144, 65_536, _ACLI + _LIMITS, endpoint="multimodal", inputs=_VL,
         thinking="optional", thinking_default=True),
    # ---- OpenAI-compatible mode only, streamed (text + audio output)
    _row("qwen-omni", 32_768, 2_048, _OMNI + _LIMITS, endpoint="compatible",
         stream_only=True, inputs=_ALL, tool_calling=False),
    _row("qwen3-omni", 65_536, 16_384, _OMNI + _LIMITS, endpoint="compatible",
         stream_only=True, inputs=_ALL, tool_calling=False),
    _row("qwen3.5-omni", 65_536, 16_384, _OMNI + _LIMITS, endpoint="compatible",
         stream_only=True, inputs=_ALL, tool_calling=False),
    _row("qwen2.5-omni", 32_768, 2_048, _OMNI + _LIMITS, endpoint="compatible",
         stream_only=True, inputs=_ALL, tool_calling=False),
    # ---- embeddings (context_window = tokens per text)
    _row("text-embedding-v1", 2_048, 0, _EMB, kind="embedding", tool_calling=False, **_V1_V2),
    _row("text-embedding-v2", 2_048, 0, _EMB, kind="embedding", tool_calling=False, **_V1_V2),
    _row("text-embedding-v3", 8_192, 0, _EMB, kind="embedding", tool_calling=False,
         max_batch=10, dimensions=_V3_DIMS, default_dimension=1024, sparse=True),
    _row("text-embedding-v4", 8_192, 0, _EMB, kind="embedding", tool_calling=False,
         max_batch=10, dimensions=(2048, 1536, *_V3_DIMS), default_dimension=1024,
         sparse=True, instruct=True),
    # ---- rerank (context_window = tokens per request)
    _row("gte-rerank", 30_000, 0, _RERANK, kind="rerank", tool_calling=False),
    _row("qwen3-rerank", 120_000, 0, _RERANK, kind="rerank", endpoint="compatible",
         tool_calling=False),
    _row("qwen3-vl-rerank", 120_000, 0, _RERANK, kind="rerank", inputs=_VL,
         tool_calling=False),
)  # fmt: skip

DEFAULT_MODEL = ModelInfo("")
"""Unknown names: text endpoint, a window every current Qwen chat model meets, tools on."""

"""The model registry: every fact this package knows about a DashScope model family.

One :class:`ModelInfo` per family, matched by the **longest prefix** of the (lower-cased)
model name, so snapshots (``qwen-plus-2025-07-28``) and ``-latest`` aliases land on their
family and a specific row (``qwen3.5-omni``) beats a general one (``qwen3.5-``). Routing
(:func:`generation_endpoint`), stream-only handling (:func:`requires_streaming`),
embedding batching, LlamaIndex ``metadata`` and LangChain ``profile`` all read it.

New families ship every month, so nothing here is final:

* :func:`register_model` adds or overrides a family at run time, e.g.
  ``register_model("qwen9-plus", endpoint="multimodal")``;
* ``generation_endpoint(model, override="multimodal")`` forces an endpoint per call;
* the safety net: a ``400 InvalidParameter "url error, please check url！"`` (the model is
  bound to the *other* generation path) is retried once on the other path before any
  output, and the path that worked is remembered for the process
  (:func:`with_endpoint_fallback`, :func:`remember_endpoint`).

Each row's ``source`` names the official page it comes from (see docs/models.md for the
full addresses) or says ``assumed``. Unknown names get :data:`DEFAULT_MODEL`: the text
endpoint and conservative limits.

Run ``python -m dashscope_ws.models`` to print the docs/models.md table.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Any, Literal, TypeVar

from .errors import APIStatusError

__all__ = [
    "BUILTIN_MODELS",
    "COMPATIBLE_CHAT_PATH",
    "DEFAULT_MODEL",
    "MULTIMODAL_GENERATION_PATH",
    "TEXT_GENERATION_PATH",
    "ModelInfo",
    "awith_endpoint_fallback",
    "forget_endpoints",
    "generation_endpoint",
    "is_wrong_endpoint_error",
    "lookup",
    "markdown_table",
    "other_generation_path",
    "register_model",
    "remember_endpoint",
    "requires_streaming",
    "unregister_model",
    "with_endpoint_fallback",
]

Kind = Literal["chat", "embedding", "rerank"]
Endpoint = Literal["text", "multimodal", "compatible"]
Thinking = Literal["none", "optional", "always"]

TEXT_GENERATION_PATH = "services/aigc/text-generation/generation"
MULTIMODAL_GENERATION_PATH = "services/aigc/multimodal-generation/generation"
COMPATIBLE_CHAT_PATH = "chat/completions"
"""Relative to the OpenAI-compatible base (``/compatible-mode/v1``); not spoken by this client."""
_PATHS: dict[str, str] = {
    "text": TEXT_GENERATION_PATH,
    "multimodal": MULTIMODAL_GENERATION_PATH,
    "compatible": COMPATIBLE_CHAT_PATH,
}
_MEDIA = ("text", "image", "video", "audio")
_log = logging.getLogger("dashscope_ws")


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
        >>> info = lookup("qwen3.6-plus-2026-04-02")
        >>> info.prefix, info.endpoint, "image" in info.inputs
        ('qwen3.6-plus', 'multimodal', True)
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
        if self.endpoint not in _PATHS:
            raise ValueError(f"endpoint must be one of {sorted(_PATHS)}, got {self.endpoint!r}")
        if not set(self.inputs) <= set(_MEDIA) or "text" not in self.inputs:
            raise ValueError(f"inputs must include 'text' and be among {_MEDIA}: {self.inputs}")

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

# ------------------------------------------------------------------------------ registry

_lock = threading.Lock()
_registry: dict[str, ModelInfo] = {info.prefix: info for info in BUILTIN_MODELS}
_generation = 0  # bumped on every change: part of the lookup cache key
_learned: dict[str, str] = {}  # model name -> generation path that answered


def register_model(model: ModelInfo | str, /, **fields: Any) -> ModelInfo:
    """Add or replace a family, effective immediately for the whole process.

    ``register_model("my-vl-tune", endpoint="multimodal")`` starts from what the prefix
    matches today (its family, else :data:`DEFAULT_MODEL`) and changes the given fields;
    ``register_model(ModelInfo("my-model", ...))`` registers a full record.

    Raises:
        ValueError: an unknown field or value (see :class:`ModelInfo`).
        TypeError: a record together with fields.

    Example:
        >>> info = register_model("acme-qwen-vl", endpoint="multimodal", inputs=("text", "image"))
        >>> lookup("acme-qwen-vl-7b").endpoint
        'multimodal'
        >>> unregister_model("acme-qwen-vl")
    """
    if isinstance(model, ModelInfo):
        if fields:
            raise TypeError("pass either a ModelInfo or a prefix with fields, not both")
        info = model
    else:
        unknown = set(fields) - {f.name for f in _FIELDS} - {"prefix"}
        if unknown:
            raise ValueError(f"unknown ModelInfo fields: {sorted(unknown)}")
        prefix = model.strip().lower()
        if not prefix:
            raise ValueError("prefix must be a non-empty model name or prefix")
        info = replace(lookup(prefix), **{**fields, "prefix": prefix})
    _update(lambda table: table.__setitem__(info.prefix, info))
    return info


def unregister_model(prefix: str) -> None:
    """Remove a registered prefix (built-in rows too); unknown prefixes are ignored."""
    _update(lambda table: table.pop(prefix.strip().lower(), None))


def _update(change: Callable[[dict[str, ModelInfo]], object]) -> None:
    global _registry, _generation
    with _lock:
        table = dict(_registry)  # copy-on-write: readers never see a half-built table
        change(table)
        _registry, _generation = table, _generation + 1


def lookup(model: str) -> ModelInfo:
    """The record for ``model``: its longest matching prefix, else :data:`DEFAULT_MODEL`.

    Example:
        >>> lookup("qwq-plus").stream_only, lookup("my-fine-tune") is DEFAULT_MODEL
        (True, True)
    """
    return _match(model.strip().lower(), _generation)


@lru_cache(maxsize=2048)
def _match(name: str, generation: int) -> ModelInfo:
    table = _registry
    best = max((p for p in table if name.startswith(p)), key=len, default=None)
    return _variant(name, table[best]) if best is not None else DEFAULT_MODEL


def _variant(name: str, info: ModelInfo) -> ModelInfo:
    # Qwen3 2507+ checkpoints split by name: "-instruct" never thinks, "-thinking" always
    # thinks and (open-source thinking) answers only as a stream [deep-thinking].
    if info.kind != "chat":
        return info
    if "-thinking" in name:
        return replace(info, thinking="always", thinking_default=False, stream_only=True)
    if "-instruct" in name and info.thinking == "optional":
        return replace(info, thinking="none", thinking_default=False)
    return info


_FIELDS = fields(ModelInfo)

# ------------------------------------------------------------------------------ routing


def generation_endpoint(model: str, override: str | None = None) -> str:
    """The generation path for ``model``: ``override``, else the path learned by the
    safety net, else the registry's.

    Args:
        model: model name.
        override: ``"text"``, ``"multimodal"`` or ``"compatible"`` to force one.

    Raises:
        ValueError: an unknown ``override``.

    Example:
        >>> generation_endpoint("qwen3.6-flash") == MULTIMODAL_GENERATION_PATH
        True
        >>> generation_endpoint("qwen-plus", "multimodal") == MULTIMODAL_GENERATION_PATH
        True
    """
    if override is not None:
        if override not in _PATHS:
            raise ValueError(f"endpoint must be one of {sorted(_PATHS)}, got {override!r}")
        return _PATHS[override]
    learned = _learned.get(model.strip().lower())
    return learned if learned is not None else _PATHS[lookup(model).endpoint]


def requires_streaming(model: str, parameters: Mapping[str, Any] | None = None) -> bool:
    """True when the service answers ``model`` with these ``parameters`` only as a stream.

    Example:
        >>> requires_streaming("qwen-plus", {"enable_thinking": True}), requires_streaming("qwen-plus")
        (True, False)
    """
    info = lookup(model)
    thinking = (parameters or {}).get("enable_thinking")
    if info.stream_only or thinking is True:
        return True
    return info.thinking == "optional" and info.thinking_default and thinking is not False


def is_wrong_endpoint_error(error: BaseException) -> bool:
    """Whether ``error`` is the service's "model lives on the other path" answer.

    ``400 InvalidParameter "url error, please check url！"`` [error-code page; SDK 2.0.2
    acli ``_is_url_error``]; it also arrives as an error event on a 200 stream, which the
    parser maps to the same status.
    """
    return (
        isinstance(error, APIStatusError)
        and error.status_code == 400
        and (error.code or "InvalidParameter") == "InvalidParameter"
        and "url error" in (error.message or "").lower()
    )


def other_generation_path(path: str) -> str:
    """The native generation path that ``path`` is not.

    Raises:
        ValueError: ``path`` is not a native generation path.
    """
    if path == TEXT_GENERATION_PATH:
        return MULTIMODAL_GENERATION_PATH
    if path == MULTIMODAL_GENERATION_PATH:
        return TEXT_GENERATION_PATH
    raise ValueError(f"not a native generation path: {path!r}")


def remember_endpoint(model: str, path: str) -> None:
    """Route ``model`` to ``path`` for the rest of the process (thread-safe)."""
    other_generation_path(path)  # validates
    with _lock:
        _learned[model.strip().lower()] = path


def forget_endpoints() -> None:
    """Drop every endpoint learned by :func:`remember_endpoint`."""
    with _lock:
        _learned.clear()


T = TypeVar("T")


def with_endpoint_fallback(
    model: str, send: Callable[[str], T], *, override: str | None = None
) -> T:
    """``send(path)`` on the model's path; on a wrong-endpoint error, once on the other.

    ``send`` must raise before producing any output (for a stream: while opening it
    and reading its first event), so nothing is ever retried after output. The path that
    worked is remembered and the switch logged. An explicit ``override`` is never
    second-guessed.
    """
    path = generation_endpoint(model, override)
    try:
        return send(path)
    except APIStatusError as error:
        other = _fallback_path(model, path, override, error)
    result = send(other)
    remember_endpoint(model, other)
    return result


async def awith_endpoint_fallback(
    model: str, send: Callable[[str], Awaitable[T]], *, override: str | None = None
) -> T:
    """Async :func:`with_endpoint_fallback`."""
    path = generation_endpoint(model, override)
    try:
        return await send(path)
    except APIStatusError as error:
        other = _fallback_path(model, path, override, error)
    result = await send(other)
    remember_endpoint(model, other)
    return result


def _fallback_path(model: str, path: str, override: str | None, error: APIStatusError) -> str:
    if override is not None or path not in (TEXT_GENERATION_PATH, MULTIMODAL_GENERATION_PATH):
        raise error
    if not is_wrong_endpoint_error(error):
        raise error
    other = other_generation_path(path)
    _log.warning(
        "model %r is not served on %s (url error, request %s); retrying once on %s",
        model, path, error.request_id, other,
    )  # fmt: skip
    return other


# ------------------------------------------------------------------------------ docs


def markdown_table(rows: Iterable[ModelInfo] = BUILTIN_MODELS) -> str:
    """The docs/models.md table (one line per family, built-in rows by default)."""
    head = (
        "| Prefix | Kind | Endpoint | Stream only | Thinking | Context | Max output "
        "| Tools | JSON schema | Inputs | Batch / dims | Source |"
    )
    lines = [head, "|" + "---|" * 12]
    for info in rows:
        thinking = info.thinking + (" (on)" if info.thinking_default else "")
        dims = "/".join(str(d) for d in info.dimensions)
        batch = f"{info.max_batch} rows, {dims} (default {info.default_dimension})"
        cells = (
            f"`{info.prefix}`", info.kind, _endpoint_name(info), _yes(info.stream_only), thinking,
            f"{info.context_window:,}", f"{info.max_output_tokens:,}" if info.max_output_tokens
            else "-", _yes(info.tool_calling), _yes(info.json_schema), ", ".join(info.inputs),
            batch if info.max_batch else "-", info.source,
        )  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _endpoint_name(info: ModelInfo) -> str:
    if info.kind == "chat" or info.endpoint == "compatible":
        return info.endpoint
    return "native"


def _yes(flag: bool) -> str:
    return "yes" if flag else "-"


if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess test
    print(markdown_table(), end="")

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
from dataclasses import fields, replace
from functools import lru_cache
from typing import Any, TypeVar

from ..errors import APIStatusError
from ._table import BUILTIN_MODELS, DEFAULT_MODEL, ENDPOINT_PATHS, ModelInfo

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

TEXT_GENERATION_PATH = ENDPOINT_PATHS["text"]
MULTIMODAL_GENERATION_PATH = ENDPOINT_PATHS["multimodal"]
COMPATIBLE_CHAT_PATH = ENDPOINT_PATHS["compatible"]
"""Relative to the OpenAI-compatible base (``/compatible-mode/v1``); not spoken by this client."""
_PATHS = ENDPOINT_PATHS
_log = logging.getLogger("dashscope_ws")


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
        override: ``"text"``, ``"multimodal"`` or ``"compatible"`` (or one of the paths)
            to force one.

    Raises:
        ValueError: an unknown ``override``.

    Example:
        >>> generation_endpoint("qwen3.6-flash") == MULTIMODAL_GENERATION_PATH
        True
        >>> generation_endpoint("qwen-plus", "multimodal") == MULTIMODAL_GENERATION_PATH
        True
    """
    if override is not None:
        if override in _PATHS.values():
            return override
        if override not in _PATHS:
            raise ValueError(f"endpoint must be one of {sorted(_PATHS)}, got {override!r}")
        return _PATHS[override]
    learned = _learned.get(model.strip().lower())
    return learned if learned is not None else _PATHS[lookup(model).endpoint]


def requires_streaming(model: str, parameters: Mapping[str, Any] | None = None) -> bool:
    """True when the service answers ``model`` with these ``parameters`` only as a stream.

    Example:
        >>> requires_streaming("qwq-plus"), requires_streaming("qwen-plus")
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

"""Who may call what: the emulator's keys, workspaces, model grants and model catalogue.

The default identities model the common real setup: a main-account key that may use every
workspace and model, and a sub-workspace key bound to one workspace whose models are granted
one by one (anything else answers ``403 Model.AccessDenied``).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .apps import AppSpec, IndexSpec, default_apps, default_indices, parse_apps, parse_indices

__all__ = [
    "DEFAULT_GRANTS",
    "MAIN_KEY",
    "MODELS",
    "OTHER_WORKSPACE",
    "SUB_KEY",
    "SUB_WORKSPACE",
    "EmulatorConfig",
    "ModelSpec",
]

MAIN_KEY = "sk-emu-main"
SUB_KEY = "sk-emu-sub"
SUB_WORKSPACE = "ws-emu-sub"
OTHER_WORKSPACE = "ws-emu-other"

DEFAULT_GRANTS: tuple[str, ...] = (
    "qwen-turbo",
    "qwen-plus",
    "qwen-max",
    "qwen3-max",
    "qwen-flash",
    "qwq-plus",
    "qwen3-32b",
    "qwen-vl-plus",
    "text-embedding-v3",
    "text-embedding-v4",
    "gte-rerank-v2",
    "qwen3-rerank",
)


@dataclass(frozen=True)
class ModelSpec:
    """What the emulator knows about one model.

    Attributes:
        kind: ``"text"``, ``"multimodal"``, ``"embedding"``, ``"rerank"`` (native endpoint) or
            ``"rerank-compatible"`` (``/compatible-api/v1/reranks``).
        thinking: ``"none"``, ``"hybrid"`` (``enable_thinking`` switch) or ``"always"`` (QwQ).
        message_default: ``result_format`` defaults to ``"message"`` (else ``"text"``).
        incremental_default: ``incremental_output`` defaults to true.

    Example:
        >>> ModelSpec("text", thinking="hybrid").thinking
        'hybrid'
    """

    kind: str
    thinking: str = "none"
    message_default: bool = False
    incremental_default: bool = False


_HYBRID = ModelSpec("text", thinking="hybrid")
_QWEN3_OPEN = ModelSpec("text", "hybrid", message_default=True, incremental_default=True)
_QWQ = ModelSpec("text", "always", message_default=True, incremental_default=True)

MODELS: dict[str, ModelSpec] = {
    "qwen-turbo": _HYBRID,
    "qwen-plus": _HYBRID,
    "qwen-plus-latest": _HYBRID,
    "qwen-flash": _HYBRID,
    "qwen-max": ModelSpec("text"),
    "qwen-max-latest": ModelSpec("text"),
    "qwen-long": ModelSpec("text", message_default=True),
    "qwen3-max": ModelSpec("text", "hybrid", message_default=True, incremental_default=True),
    "qwen3-coder-plus": ModelSpec("text"),
    "qwen3-32b": _QWEN3_OPEN,
    "qwen3-8b": _QWEN3_OPEN,
    "qwq-plus": _QWQ,
    "qwq-32b": _QWQ,
    "qwen-vl-plus": ModelSpec("multimodal", message_default=True),
    "qwen-vl-max": ModelSpec("multimodal", message_default=True),
    "qwen3-vl-plus": ModelSpec("multimodal", "hybrid", True, True),
    "qwen-audio-turbo": ModelSpec("multimodal", message_default=True),
    # Qwen3.5+ are multimodal-endpoint models (official API reference; issue 10).
    "qwen3.5-plus": ModelSpec("multimodal", "hybrid", True, True),
    "qwen3.6-plus": ModelSpec("multimodal", "hybrid", True, True),
    "qwen3.6-flash": ModelSpec("multimodal", "hybrid", True, True),
    "qwen3.7-plus": ModelSpec("multimodal", "hybrid", True, True),
    # Omni: OpenAI-compatible mode only; both native paths answer url error.
    "qwen-omni-turbo": ModelSpec("omni"),
    "qwen3-omni-flash": ModelSpec("omni"),
    "text-embedding-v1": ModelSpec("embedding"),
    "text-embedding-v2": ModelSpec("embedding"),
    "text-embedding-v3": ModelSpec("embedding"),
    "text-embedding-v4": ModelSpec("embedding"),
    "gte-rerank": ModelSpec("rerank"),
    "gte-rerank-v2": ModelSpec("rerank"),
    "qwen3-rerank": ModelSpec("rerank-compatible"),
}

KINDS = frozenset({"text", "multimodal", "omni", "embedding", "rerank", "rerank-compatible"})


def _default_keys() -> dict[str, str | None]:
    return {MAIN_KEY: None, SUB_KEY: SUB_WORKSPACE}


@dataclass(frozen=True)
class EmulatorConfig:
    """Keys, workspaces and model grants the emulator enforces.

    Attributes:
        keys: API key -> the workspace it is bound to, or ``None`` for a main-account key (every
            workspace, every model, workspace header optional).
        workspaces: workspaces that exist (a header naming another one answers 404).
        grants: workspace -> models granted to keys bound to it.
        models: extra models, name -> kind (``"text"``, ``"multimodal"``, ``"embedding"``,
            ``"rerank"``, ``"rerank-compatible"``), added to the built-in catalogue.
        limits: workspace (``"default"`` for calls without one) -> model -> ``{"rpm": n,
            "tpm": n}``, enforced with the service's 429s (see ``emulator/quotas.py``).
        apps: Bailian app id -> :class:`~dashscope_ws.emulator.apps.AppSpec` (docs/apps.md).
        indices: knowledge-base (pipeline) id -> :class:`~dashscope_ws.emulator.apps.IndexSpec`.

    Example:
        >>> config = EmulatorConfig.from_dict({"keys": {"sk-a": None}})
        >>> config.key_workspace("sk-a") is None
        True
    """

    keys: Mapping[str, str | None] = field(default_factory=_default_keys)
    workspaces: frozenset[str] = frozenset({SUB_WORKSPACE, OTHER_WORKSPACE})
    grants: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: {SUB_WORKSPACE: frozenset(DEFAULT_GRANTS)}
    )
    models: Mapping[str, str] = field(default_factory=dict)
    limits: Mapping[str, Mapping[str, Mapping[str, int]]] = field(default_factory=dict)
    apps: Mapping[str, AppSpec] = field(default_factory=default_apps)
    indices: Mapping[str, IndexSpec] = field(default_factory=default_indices)

    def __post_init__(self) -> None:
        # Normalise so that configs built from lists or loaded from files compare equal.
        object.__setattr__(self, "keys", dict(self.keys))
        object.__setattr__(self, "workspaces", frozenset(self.workspaces))
        grants = {ws: frozenset(models) for ws, models in self.grants.items()}
        object.__setattr__(self, "grants", grants)
        object.__setattr__(self, "models", dict(self.models))
        object.__setattr__(self, "limits", _checked_limits(self.limits))
        object.__setattr__(self, "apps", dict(self.apps))
        object.__setattr__(self, "indices", dict(self.indices))
        for name, kind in self.models.items():
            if kind not in KINDS:
                raise ValueError(f"model {name!r}: unknown kind {kind!r}")
        for key, workspace in self.keys.items():
            if workspace is not None and workspace not in self.workspaces:
                raise ValueError(f"a key is bound to unknown workspace {workspace!r}")
            if not key:
                raise ValueError("empty API key in emulator config")

    def __repr__(self) -> str:
        # Keys are secrets in spirit even here: users copy configs from real setups.
        return (
            f"EmulatorConfig(keys=<{len(self.keys)} keys>, workspaces={sorted(self.workspaces)}, "
            f"models={sorted(self.models)})"
        )

    def key_known(self, key: str) -> bool:
        """Whether ``key`` is one of the configured API keys."""
        return key in self.keys

    def key_workspace(self, key: str) -> str | None:
        """The workspace ``key`` is bound to (``None`` for a main-account key)."""
        return self.keys.get(key)

    def model(self, name: str) -> ModelSpec | None:
        """The catalogue entry for ``name`` (configured extras first), or ``None``."""
        if name in self.models:
            kind = self.models[name]
            return ModelSpec(kind, message_default=kind == "multimodal")
        return MODELS.get(name)

    def granted(self, workspace: str, model: str) -> bool:
        """Whether keys bound to ``workspace`` may call ``model``."""
        return model in self.grants.get(workspace, frozenset())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EmulatorConfig:
        """Build a config from the JSON document described in docs/emulator.md.

        Missing sections keep their defaults, so ``{"models": {...}}`` only adds models.
        """
        default = cls()
        keys = data.get("keys", default.keys)
        workspaces = data.get("workspaces")
        grants = data.get("grants")
        bound = {ws for ws in dict(keys).values() if ws is not None}
        known = frozenset(workspaces) if workspaces is not None else default.workspaces | bound
        apps, indices = _owned(data, "apps", known), _owned(data, "indices", known)
        return cls(
            keys=dict(keys),
            workspaces=frozenset(workspaces)
            if workspaces is not None
            else default.workspaces | bound,
            grants=(
                {ws: frozenset(models) for ws, models in grants.items()}
                if grants is not None
                else dict(default.grants)
            ),
            models=dict(data.get("models", {})),
            limits=dict(data.get("limits", {})),
            apps=apps,
            indices=indices,
        )

    @classmethod
    def load(cls, path: str | Path) -> EmulatorConfig:
        """Read a config file: JSON (documented), or TOML when ``tomllib`` exists (Python 3.11+)."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".toml":
            if sys.version_info < (3, 11):
                raise ValueError("TOML emulator configs need Python 3.11+; use JSON")
            # Imported by name: mypy checks this package against Python 3.10, which lacks it.
            tomllib = importlib.import_module("tomllib")
            data: Any = tomllib.loads(text)
            # TOML has no null: an empty string marks a main-account key.
            if isinstance(data.get("keys"), dict):
                data["keys"] = {k: (v or None) for k, v in data["keys"].items()}
        else:
            data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the emulator config must be a JSON object")
        return cls.from_dict(data)


def _checked_limits(
    limits: Mapping[str, Mapping[str, Mapping[str, int]]],
) -> dict[str, dict[str, dict[str, int]]]:
    """``limits`` as plain dicts; a misspelt or negative limit is an error, not ignored."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for workspace, models in limits.items():
        out[workspace] = {}
        for model, limit in models.items():
            if not isinstance(limit, Mapping) or set(limit) - {"rpm", "tpm"}:
                raise ValueError(f"limits[{workspace!r}][{model!r}]: use {{'rpm': n, 'tpm': n}}")
            for name, value in limit.items():
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(
                        f"limits[{workspace!r}][{model!r}][{name!r}] must be an int >= 0"
                    )
            out[workspace][model] = dict(limit)
    return out


def _owned(data: Mapping[str, Any], section: str, known: frozenset[str]) -> dict[str, Any]:
    """Configured apps / indices (each must live in a known workspace), or the defaults that do."""
    if section not in data:
        defaults: dict[str, Any] = default_apps() if section == "apps" else default_indices()
        return {k: v for k, v in defaults.items() if v.workspace is None or v.workspace in known}
    parsed: dict[str, Any] = (parse_apps if section == "apps" else parse_indices)(data[section])
    for name, spec in parsed.items():
        if spec.workspace is not None and spec.workspace not in known:
            raise ValueError(f"{section} {name!r}: unknown workspace {spec.workspace!r}")
    return parsed

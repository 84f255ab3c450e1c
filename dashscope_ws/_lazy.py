"""Lazy package exports (PEP 562), shared by the adapter packages' ``__init__`` modules.

Classes are imported on first use so that importing a package stays cheap and one class's
optional dependencies never break another's import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` for ``exports`` (name -> defining module).

    Example:
        >>> getattr_, dir_ = lazy_exports("pkg", {"dumps": "json"})
        >>> getattr_("dumps").__name__, dir_()
        ('dumps', ['dumps'])
    """

    def module_getattr(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def module_dir() -> list[str]:
        return sorted(exports)

    return module_getattr, module_dir

"""Every ``Example:`` block of the three packages runs: documentation that must not lie.

Modules are discovered, not listed: a new module's examples are checked from the day it
lands (pytest does not collect doctests by itself here).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("dashscope_ws", "langchain_dashscope_ws", "llamaindex_dashscope_ws")


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package)
        path = importlib.import_module(package).__path__
        names += [m.name for m in pkgutil.walk_packages(path, package + ".")]
    return [name for name in names if not name.endswith("__main__")]


MODULES = _modules()


def test_discovery_finds_every_package_and_subpackage() -> None:
    assert {"dashscope_ws.sse", "dashscope_ws.emulator.server", "dashscope_ws.scale.ray"} <= set(
        MODULES
    )
    assert {"langchain_dashscope_ws.usage", "llamaindex_dashscope_ws._stream"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_most_modules_have_examples() -> None:
    # A docstring whose examples doctest cannot parse fails test_examples_run; this guards
    # against the discovery silently running nothing.
    attempted = sum(
        doctest.testmod(importlib.import_module(name), report=False).attempted > 0
        for name in MODULES
    )
    assert attempted >= 90

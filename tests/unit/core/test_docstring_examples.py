"""The ``Example:`` blocks of the client's modules run: documentation that must not lie."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "dashscope_ws._adapter_settings",
    "dashscope_ws._closeable",
    "dashscope_ws._deadlines",
    "dashscope_ws._secret",
    "dashscope_ws.client",
    "dashscope_ws.config",
    "dashscope_ws.errors",
    "dashscope_ws.http",
    "dashscope_ws.rerank",
    "dashscope_ws.retrieval",
    "dashscope_ws.retry",
    "dashscope_ws.settings",
    "dashscope_ws.streams",
    "dashscope_ws.transports",
    "dashscope_ws.wire",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0

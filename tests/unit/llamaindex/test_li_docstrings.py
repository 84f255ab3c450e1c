"""Docstring examples of the LlamaIndex package run as written (pytest does not collect them)."""

from __future__ import annotations

import doctest
import importlib
import inspect
from enum import Enum

import pytest

import llamaindex_dashscope_ws

MODULES = [
    "llamaindex_dashscope_ws",
    "llamaindex_dashscope_ws._convert",
    "llamaindex_dashscope_ws.apps",
    "llamaindex_dashscope_ws._settings",
    "llamaindex_dashscope_ws.embeddings",
    "llamaindex_dashscope_ws.llms",
    "llamaindex_dashscope_ws.models",
    "llamaindex_dashscope_ws.postprocessor",
    "llamaindex_dashscope_ws._stream",
    "llamaindex_dashscope_ws.tokenizer",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("name", llamaindex_dashscope_ws.__all__)
def test_public_classes_document_an_example(name: str) -> None:
    obj = getattr(llamaindex_dashscope_ws, name)
    doc = inspect.getdoc(obj) or ""
    assert "\nExample:\n" in doc
    # Name constants (llamaindex_dashscope_ws.models) take no arguments to document.
    constants = isinstance(obj, type) and (issubclass(obj, Enum) or obj.__init__ is object.__init__)
    if not constants:
        assert "\nArgs:\n" in doc

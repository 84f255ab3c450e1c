"""Public LlamaIndex classes document an example and their arguments (the examples themselves
run in tests/unit/core/test_docstring_examples.py, with every module's)."""

from __future__ import annotations

import inspect
from enum import Enum

import pytest

import llamaindex_dashscope_ws


@pytest.mark.parametrize("name", llamaindex_dashscope_ws.__all__)
def test_public_classes_document_an_example(name: str) -> None:
    obj = getattr(llamaindex_dashscope_ws, name)
    doc = inspect.getdoc(obj) or ""
    assert "\nExample:\n" in doc
    # Name constants (llamaindex_dashscope_ws.models) take no arguments to document.
    constants = isinstance(obj, type) and (issubclass(obj, Enum) or obj.__init__ is object.__init__)
    if not constants:
        assert "\nArgs:\n" in doc

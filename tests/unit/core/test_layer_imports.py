"""Issue 9 "tidy the layers": the wire/stream/retrieval modules never reach up into chat.

``test_sse.py::test_stream_layer_does_not_import_the_chat_module`` looks only for
``from .protocol import``; this resolves every import form (relative, absolute,
``from . import protocol``, ``import dashscope_ws.protocol``), also covers ``retrieval.py``
and ``rerank.py`` (which the issue names: they depended on the chat module), and checks the
check itself on each form.
"""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

CHAT = {"dashscope_ws.protocol", "dashscope_ws._chat", "dashscope_ws._chat_client"}
LOWER = ["events", "sse", "wire", "retrieval", "rerank"]


def imported(source: str, package: str = "dashscope_ws") -> set[str]:
    """Every module an import statement in ``source`` names, resolved to a dotted path."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = f"{package}.{base}" if base else package
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize(
    "source",
    [
        "from .protocol import x",
        "from . import protocol",
        "from dashscope_ws.protocol import x",
        "from dashscope_ws import _chat",
        "import dashscope_ws._chat_client",
        "def f():\n    from .protocol import x",
    ],
)
def test_the_check_sees_every_import_form(source: str) -> None:
    assert imported(source) & CHAT


@pytest.mark.parametrize("name", LOWER)
def test_lower_layers_never_import_the_chat_modules(name: str) -> None:
    module = importlib.import_module(f"dashscope_ws.{name}")
    assert imported(inspect.getsource(module)) & CHAT == set(), name

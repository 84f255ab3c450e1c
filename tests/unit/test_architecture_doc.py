"""docs/architecture.md stays true: every module is listed, modules stay small, and the
one-line "add a parameter" example really is one line that reaches both adapters."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text("utf-8")
PACKAGES = ("dashscope_ws", "langchain_dashscope_ws", "llamaindex_dashscope_ws")
MAX_LINES = 420  # "no module over ~400 lines" (issue 9), with a little slack


def _modules() -> list[Path]:
    return sorted(
        path.relative_to(ROOT)
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def _layout_sections() -> dict[str, str]:
    block = DOC.split("## Layout", 1)[1].split("\n## ", 1)[0]
    sections: dict[str, str] = {}
    current = ""
    for line in block.splitlines():
        if line.rstrip("/") in PACKAGES:
            current = line.rstrip("/")
        elif current:
            sections[current] = sections.get(current, "") + line + "\n"
    return sections


@pytest.mark.parametrize("module", _modules(), ids=str)
def test_every_module_is_in_the_layout(module: Path) -> None:
    section = _layout_sections()[module.parts[0]]
    names = [module.name] + [f"{part}/" for part in module.parts[1:-1]]
    missing = [name for name in names if not re.search(rf"(?<![\w/]){re.escape(name)}", section)]
    assert not missing, f"docs/architecture.md ## Layout does not list {module}: add a line for it"


@pytest.mark.parametrize("module", _modules(), ids=str)
def test_no_module_is_over_about_400_lines(module: Path) -> None:
    lines = len((ROOT / module).read_text("utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines: split it by responsibility"


def test_the_layers_are_drawn_in_order() -> None:
    block = DOC.split("## Layers", 1)[1].split("\n## ", 1)[0]
    positions = [
        block.find(layer) for layer in ("config", "wire", "transports", "client", "adapters")
    ]
    assert -1 not in positions
    assert positions == sorted(positions)
    for change in ("a generation parameter", "an error code", "an endpoint", "a transport"):
        assert f"| {change}" in DOC


def test_adding_a_parameter_is_one_line(tmp_path: Path) -> None:
    """Paste the doc's example line into a copy of settings.py; both adapters take it."""
    example = DOC.split("Adding a parameter", 1)[1].split("```python\n", 1)[1].split("\n```", 1)[0]
    assert example.count("\n") == 0, "the example is one line"
    line = example.strip().removeprefix("(").removesuffix(",)")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    settings = tmp_path / "dashscope_ws" / "settings.py"
    source = settings.read_text("utf-8")
    declaration = source.index("GENERATION_PARAMETERS: tuple[Parameter, ...] = (")
    end = source.index("\n)", declaration)
    settings.write_text(source[:end] + f"\n    {line}," + source[end:], "utf-8")

    script = textwrap.dedent(
        """
        import asyncio, dashscope_ws, pydantic
        from pathlib import Path
        from dashscope_ws.transports import MockTransport
        assert Path(dashscope_ws.__file__).parent.parent == Path.cwd(), dashscope_ws.__file__
        REPLY = {"output": {"choices": [{"message": {"role": "assistant", "content": "ok"},
                                         "finish_reason": "stop"}]}, "request_id": "r"}
        from langchain_dashscope_ws import ChatDashScope
        from llamaindex_dashscope_ws import DashScope
        from llama_index.core.llms import ChatMessage
        for cls in (ChatDashScope, DashScope):
            seen = []
            llm = cls(api_key="sk-test", frequency_penalty=0.5,
                      transport=MockTransport(lambda r: seen.append(r) or REPLY))
            if cls is ChatDashScope:
                llm.invoke("hi")
            else:
                llm.chat([ChatMessage(role="user", content="hi")])
            assert seen[0].json["parameters"]["frequency_penalty"] == 0.5, seen[0].json
            try:
                cls(api_key="sk-test", frequency_penalty=3.0)
            except (pydantic.ValidationError, ValueError):
                pass
            else:
                raise AssertionError(f"{cls.__name__} accepted frequency_penalty=3.0")
        print("both adapters")
        """
    )
    done = subprocess.run(  # noqa: S603 (our own interpreter, a fixed script)
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "both adapters" in done.stdout

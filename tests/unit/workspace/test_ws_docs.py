"""Every Python example in docs/workspace.md runs against the emulator, as the sub-account."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator

DOC = Path(__file__).resolve().parents[3] / "docs" / "workspace.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_page_has_examples() -> None:
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_example_runs(
    index: int, dashscope_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In-process: a subprocess would import the installed copy, not this checkout.
    monkeypatch.setenv("DASHSCOPE_API_KEY", SUB_KEY)
    monkeypatch.setenv("DASHSCOPE_BASE_URL", dashscope_emulator.base_url)
    source = EXAMPLES[index].replace("ws-abc123", SUB_WORKSPACE)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, f"{DOC.name}[{index}]", "exec"), {"__name__": "__example__"})  # noqa: S102
    printed = out.getvalue()
    assert printed.strip(), "every example prints something"
    if "Emulator(config)" in source:
        assert "refused: rpm" in printed
    else:
        assert dashscope_emulator.requests, "every example talks to the service"

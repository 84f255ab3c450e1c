"""The notebooks are committed without outputs, so diffs stay readable and nothing leaks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted(Path(__file__).parent.glob("*.ipynb"))


def test_the_notebooks_exist() -> None:
    prefixes = {p.name[:3] for p in NOTEBOOKS}
    assert {"01_", "02_", "03_", "06_", "07_"} <= prefixes


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_outputs(path: Path) -> None:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code
    assert all(c.get("outputs") == [] and c.get("execution_count") is None for c in code)

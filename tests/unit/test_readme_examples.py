"""Every Python example in the README runs, against the emulator, as the sub-account.

The README addresses a made-up workspace ``ws-abc123`` with the key from the environment;
here the key is the emulator's sub-account key and the workspace its ``ws-emu-sub``, so an
example that forgot the workspace, used a wrong name, or stopped working fails this test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_readme_example_runs(index: int, dashscope_emulator: Emulator, tmp_path: Path) -> None:
    source = EXAMPLES[index].replace("ws-abc123", SUB_WORKSPACE).replace("ws-other", SUB_WORKSPACE)
    script = tmp_path / f"example_{index}.py"
    script.write_text(source, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
    env |= {"DASHSCOPE_API_KEY": SUB_KEY, "DASHSCOPE_BASE_URL": dashscope_emulator.base_url}
    done = subprocess.run(  # noqa: S603  (our own interpreter and a README example)
        [sys.executable, "-W", "error", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip(), "every example prints something"
    if "Emulator()" not in source:  # the emulator example starts its own server
        assert dashscope_emulator.requests, "every example talks to the service"
        assert {r.status for r in dashscope_emulator.requests} == {200}

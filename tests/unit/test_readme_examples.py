"""Every Python example in the README runs, against the emulator, as the sub-account.

The README addresses a made-up workspace ``ws-abc123`` with the key from the environment;
here the key is the emulator's sub-account key and the workspace its ``ws-emu-sub``, so an
example that forgot the workspace, used a wrong name, or stopped working fails this test.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from dashscope_ws.cli import build_parser
from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_readme_example_runs(index: int, dashscope_emulator: Emulator, tmp_path: Path) -> None:
    source = EXAMPLES[index].replace("ws-abc123", SUB_WORKSPACE).replace("ws-other", SUB_WORKSPACE)
    # An example that is a test file (it starts "# test_...") runs under pytest, in a folder of
    # its own so that only the installed plugin, not this project's conftest, supplies fixtures.
    is_test_file = source.startswith("# test_")
    script = tmp_path / (f"test_example_{index}.py" if is_test_file else f"example_{index}.py")
    script.write_text(source, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
    env |= {"DASHSCOPE_API_KEY": SUB_KEY, "DASHSCOPE_BASE_URL": dashscope_emulator.base_url}
    # pytest-asyncio (unused there) would warn that its loop scope is unset: not the point.
    runner = ["-m", "pytest", "-p", "no:cacheprovider", "-p", "no:asyncio"] if is_test_file else []
    done = subprocess.run(  # noqa: S603  (our own interpreter and a README example)
        [sys.executable, *runner, "-W", "error", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    assert done.stdout.strip(), "every example prints something"
    if is_test_file:
        assert re.search(r"\b[1-9]\d* passed\b", done.stdout), done.stdout[-2000:]
    elif "Emulator()" not in source:  # the emulator example starts its own server
        assert dashscope_emulator.requests, "every example talks to the service"
        assert {r.status for r in dashscope_emulator.requests} == {200}


DOCS = [README, README.parent / "docs" / "cli.md"]


def _command_lines() -> list[list[str]]:
    """Every ``dashscope-ws ...`` invocation in the bash blocks of the README and docs/cli.md."""
    commands = []
    for doc in DOCS:
        for block in re.findall(r"```bash\n(.*?)```", doc.read_text(encoding="utf-8"), re.S):
            for line in block.splitlines():
                words = shlex.split(line, comments=True)
                while "dashscope-ws" in words:
                    words = words[words.index("dashscope-ws") + 1 :]
                    end = next((i for i, w in enumerate(words) if w in {"&&", "|", ";"}), None)
                    commands.append(words[:end])
    return commands


COMMAND_LINES = _command_lines()


def test_the_docs_show_every_command() -> None:
    shown = {argv[0] for argv in COMMAND_LINES if argv}
    assert shown == {"demo", "chat", "doctor", "emulator", "batch"}


@pytest.mark.parametrize("argv", COMMAND_LINES, ids=" ".join)
def test_documented_command_lines_parse(argv: list[str]) -> None:
    build_parser().parse_args(argv)  # exits (a failure) on an unknown command or option

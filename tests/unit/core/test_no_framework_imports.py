"""The core never imports a framework: importing it leaves LangChain and LlamaIndex unloaded."""

from __future__ import annotations

import json
import subprocess
import sys

CHECK = """
import json, sys
import dashscope_ws, dashscope_ws.client, dashscope_ws.emulator, dashscope_ws.cli
loaded = sorted(m for m in sys.modules if m.split(".")[0].startswith(("langchain", "llama_index")))
# The demo (which imports both adapters when it runs) is loaded only by the `demo` command.
loaded += [m for m in sys.modules if m == "dashscope_ws.demo"]
print(json.dumps(loaded))
"""


def test_core_imports_no_framework() -> None:
    out = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [sys.executable, "-c", CHECK], check=True, capture_output=True, text=True, timeout=60
    )
    assert json.loads(out.stdout) == []


def test_the_check_would_notice_a_framework_import() -> None:
    # Guards against a vacuous check (e.g. a prefix that can never match).
    probe = CHECK.replace("import dashscope_ws,", "import langchain_core, dashscope_ws,")
    out = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=60
    )
    assert "langchain_core" in json.loads(out.stdout)

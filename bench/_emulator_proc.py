"""An emulator in a child process, steered over its stdin (shared by the integration benchmarks).

The server runs in its own process so its work does not share the benchmark's GIL. The parent
writes one command per line and reads one JSON line back:

* ``reset`` — clear scripted replies and the request log;
* ``pace <words> <seconds>`` — every chat reply from now on is ``<words>`` words streamed with
  ``<seconds>`` between chunks (to measure time to first token);
* ``latency <seconds>`` — every chat reply waits ``<seconds>`` before its first byte (a model's
  think time, so concurrency limits show);
* ``memory <kib>`` — the next chat reply is a short warm-up, the one after ``<kib>`` KiB long;
* ``two-tools`` — the next chat reply is two parallel ``get_weather`` calls;
* ``log`` — the request log: path, status, workspace header, parameters, number of input texts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"]


def _text(words: int) -> str:
    return " ".join(WORDS[i % len(WORDS)] for i in range(words))


def _summary(record: Any) -> dict[str, Any]:
    body = record.json if isinstance(record.json, dict) else {}
    inputs = body.get("input") or {}
    texts = inputs.get("texts") if isinstance(inputs, dict) else None
    return {
        "path": record.path,
        "status": record.status,
        "workspace": record.headers.get("x-dashscope-workspace"),
        "parameters": body.get("parameters"),
        "texts": len(texts) if isinstance(texts, list) else None,
    }


def serve() -> None:
    """Child process: run the emulator and answer commands until stdin closes."""
    from dashscope_ws.emulator import Emulator, ScriptedReply

    with Emulator() as emulator:
        print(json.dumps(emulator.base_url), flush=True)
        for line in sys.stdin:
            command, *args = line.split()
            answer: Any = "ok"
            if command == "reset":
                emulator.reset()
            elif command == "pace":
                reply = ScriptedReply(
                    text=_text(int(args[0])), delay_between_chunks=float(args[1]),
                    kind="chat", times=10**6,
                )  # fmt: skip
                emulator.enqueue(reply)
            elif command == "latency":
                delay = float(args[0])
                reply = ScriptedReply(
                    text="ok", delay_before_first_byte=delay, kind="chat", times=10**6
                )
                emulator.enqueue(reply)
            elif command == "memory":
                emulator.enqueue(
                    ScriptedReply(text="warm-up reply", kind="chat"),
                    ScriptedReply(text=_text(int(args[0]) * 1024 // 6), kind="chat"),
                )
            elif command == "two-tools":
                calls = [{"name": "get_weather", "arguments": {"city": city}}
                         for city in ("Hangzhou", "Beijing")]  # fmt: skip
                emulator.enqueue(
                    ScriptedReply(tool_calls=calls, finish_reason="tool_calls", kind="chat")
                )
            elif command == "log":
                answer = [_summary(r) for r in emulator.requests]
            else:
                answer = f"unknown command {command!r}"
            print(json.dumps(answer), flush=True)


class EmulatorProcess:
    """Parent side: start the child, send commands, stop it.

    Example:
        >>> with EmulatorProcess() as emu:  # doctest: +SKIP
        ...     emu.command("pace", 40, 0.005)
        ...     print(emu.base_url)
    """

    def __init__(self) -> None:
        self._proc = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.base_url: str = self._read()

    def _read(self) -> Any:
        assert self._proc.stdout is not None
        return json.loads(self._proc.stdout.readline())

    def command(self, *words: object) -> Any:
        assert self._proc.stdin is not None
        self._proc.stdin.write(" ".join(str(w) for w in words) + "\n")
        self._proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=30)

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    serve()

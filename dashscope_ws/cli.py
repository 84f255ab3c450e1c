"""The ``dashscope-ws`` command line.

Each command is a pair of small functions: ``_add_<name>(subparsers)`` declares its
arguments and ``_run_<name>(args) -> exit code`` does the work. To add a command, write
the pair and append the adder to ``COMMANDS``.

``demo`` without ``DASHSCOPE_API_KEY`` runs against the built-in emulator (and says so on
stderr), so it works out of the box. ``chat`` needs the key, or ``--emulator`` to talk to
the emulator: a script whose secret is missing must fail, not get canned text and exit 0.
Frameworks (LangChain, LlamaIndex) are imported only when ``demo`` runs: importing this
module, or running any other command, never loads them.

Every failure ends with one line on stderr (``dashscope-ws: error: ...``) and exit code 1,
or 130 after Ctrl-C; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from .cli_batch import add_batch
from .client import DashScopeClient
from .config import validate_workspace
from .errors import DashScopeError

__all__ = ["COMMANDS", "build_parser", "main"]

DEFAULT_CHAT_MODEL = "qwen-plus"
Adder = Callable[[Any], None]  # argparse's subparsers action type is private
Messages = list[dict[str, Any]]


_NO_KEY = (
    "DASHSCOPE_API_KEY is not set: export your Model Studio API key "
    "(https://bailian.console.aliyun.com/?tab=model#/api-key), "
    "or pass --emulator to chat with the local emulator"
)


@contextmanager
def connection(
    err: TextIO, workspace: str | None = None, *, emulator: bool | None = None
) -> Iterator[dict[str, Any]]:
    """Connection settings for a client or an adapter: the real service, or the emulator.

    With ``DASHSCOPE_API_KEY`` set, only an explicit ``workspace`` is passed on; the key and
    every other setting come from the environment as usual. Without it, the embedded
    emulator serves for the duration of the ``with`` block, and ``err`` is told so.
    ``emulator=True`` always uses the emulator; ``emulator=False`` requires the key
    (``ValueError`` naming the fix otherwise).
    """
    if emulator is None:
        emulator = not os.environ.get("DASHSCOPE_API_KEY")
    if not emulator:
        if not os.environ.get("DASHSCOPE_API_KEY"):
            raise ValueError(_NO_KEY)
        yield {"workspace": workspace} if workspace else {}
        return
    from .emulator import SUB_KEY, SUB_WORKSPACE, Emulator

    ws = validate_workspace(workspace or SUB_WORKSPACE)  # before starting a server for nothing
    # `chat --emulator` with a key set must not claim the key is missing.
    why = "--emulator" if os.environ.get("DASHSCOPE_API_KEY") else "DASHSCOPE_API_KEY is not set"
    with Emulator() as emu:
        print(
            f"{why}: running against the local emulator at "
            f"{emu.base_url} as the sub-account in workspace {ws}.",
            file=err,
        )
        yield {"api_key": SUB_KEY, "workspace": ws, "base_url": emu.base_url}


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS keeps `dashscope-ws --debug chat ...` from being reset by the subcommand.
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show full tracebacks instead of one-line errors",
    )
    return common


def _add_model_and_workspace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_CHAT_MODEL, help="model (default %(default)s)")
    parser.add_argument("--workspace", help="workspace id (default: DASHSCOPE_WORKSPACE)")


def _error_line(error: BaseException) -> str:
    """One line for any failure; unexpected ones name their type."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    if isinstance(error, (DashScopeError, ValueError, ImportError)):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text} (--debug shows the traceback)"


@contextmanager
def _client(workspace: str | None, *, emulator: bool) -> Iterator[DashScopeClient]:
    """A client for the configured service (the key is required), or for the emulator."""
    with (
        connection(sys.stderr, workspace, emulator=emulator) as settings,
        DashScopeClient(**settings) as client,
    ):
        yield client


# ---------------------------------------------------------------------------- chat


def _add_chat(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "chat",
        parents=[_common_options()],
        help="send a prompt, or chat interactively",
        description=(
            "Send one prompt (argument or stdin) and stream the reply to stdout. Without a "
            "prompt on a terminal, or with --interactive, start a session that keeps the "
            "history: /reset clears it, /exit or Ctrl-D ends it."
        ),
    )
    parser.add_argument("prompt", nargs="?", help="the user message (default: read stdin)")
    _add_model_and_workspace(parser)
    parser.add_argument("--system", help="system message")
    parser.add_argument(
        "-i", "--interactive", action="store_true", help="chat turn after turn, keeping history"
    )
    parser.add_argument(
        "--thinking",
        action="store_true",
        help="enable thinking (enable_thinking=true); reasoning goes to stderr",
    )
    parser.add_argument(
        "--no-stream", action="store_true", help="wait for the whole reply instead of streaming"
    )
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="talk to the built-in emulator (without it, DASHSCOPE_API_KEY is required)",
    )
    parser.set_defaults(handler=_run_chat)


class _TurnPrinter:
    """Answer text to ``out``; reasoning to ``err``, prefixed ``[thinking]`` (dim on a TTY)."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err
        self.parts: list[str] = []
        self._dim = err.isatty()
        self._in_reasoning = False

    def write(self, reasoning: str, text: str) -> None:
        if reasoning:
            if not self._in_reasoning:
                self.err.write(("\x1b[2m" if self._dim else "") + "[thinking] ")
                self._in_reasoning = True
            self.err.write(reasoning)
            self.err.flush()
        if text:
            self.end_reasoning()
            self.parts.append(text)
            self.out.write(text)
            self.out.flush()

    def end_reasoning(self) -> None:
        # Always reached (even on Ctrl-C) so a dimmed terminal is restored.
        if self._in_reasoning:
            self.err.write(("\x1b[0m" if self._dim else "") + "\n")
            self.err.flush()
            self._in_reasoning = False


def _reply(client: DashScopeClient, messages: Messages, args: argparse.Namespace) -> str:
    """Send one turn, print it as it arrives, and return the answer text."""
    parameters: dict[str, Any] = {"enable_thinking": True} if args.thinking else {}
    printer = _TurnPrinter(sys.stdout, sys.stderr)
    try:
        if args.no_stream:
            result = client.chat(messages, model=args.model, **parameters)
            printer.write(result.reasoning, result.text)
        else:
            for chunk in client.stream_chat(messages, model=args.model, **parameters):
                printer.write(chunk.reasoning, chunk.text)
    finally:
        printer.end_reasoning()
    sys.stdout.write("\n")
    sys.stdout.flush()
    return "".join(printer.parts)


def _system(args: argparse.Namespace) -> Messages:
    return [{"role": "system", "content": args.system}] if args.system else []


def _read_line(tty: bool) -> str | None:
    """The next user line, or None at end of input."""
    if tty:
        try:
            return input("> ")
        except EOFError:
            print(file=sys.stderr)
            return None
    line = sys.stdin.readline()
    return line if line else None


def _interactive(client: DashScopeClient, args: argparse.Namespace) -> int:
    tty = sys.stdin.isatty()
    err = sys.stderr
    if tty:
        print(
            f"Chatting with {args.model}. /reset clears the history; /exit or Ctrl-D ends.",
            file=err,
        )
    history = _system(args)
    queued = [args.prompt] if args.prompt else []
    while True:
        line = queued.pop() if queued else _read_line(tty)
        if line is None:
            return 0
        line = line.strip()
        if not line:
            continue
        if line in ("/exit", "/quit"):
            return 0
        if line == "/reset":
            history = _system(args)
            print("(history cleared)", file=err)
            continue
        if line.startswith("/"):
            print(f"unknown command {line}; try /reset or /exit", file=err)
            continue
        turn = [*history, {"role": "user", "content": line}]
        try:
            answer = _reply(client, turn, args)
        except KeyboardInterrupt:
            # Ctrl-C abandons this answer, not the session (Ctrl-C at the prompt ends it).
            print("\n(interrupted; the turn was dropped)", file=err)
            continue
        except DashScopeError as error:
            # A throttled or refused turn is dropped; the conversation so far survives.
            if getattr(args, "debug", False):
                raise
            print(f"dashscope-ws: error: {_error_line(error)}", file=err)
            continue
        history = [*turn, {"role": "assistant", "content": answer}]


def _run_chat(args: argparse.Namespace) -> int:
    interactive = args.interactive or (args.prompt is None and sys.stdin.isatty())
    if not args.emulator and not os.environ.get("DASHSCOPE_API_KEY"):
        raise ValueError(_NO_KEY)  # before reading stdin or starting anything
    if interactive:
        with _client(args.workspace, emulator=args.emulator) as client:
            return _interactive(client, args)
    prompt = args.prompt if args.prompt is not None else sys.stdin.read()
    if not prompt.strip():
        raise ValueError("no prompt: pass one as an argument, pipe it on stdin, or use -i")
    with _client(args.workspace, emulator=args.emulator) as client:
        _reply(client, [*_system(args), {"role": "user", "content": prompt}], args)
    return 0


# ---------------------------------------------------------------------------- demo


def _add_demo(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        parents=[_common_options()],
        help="run a LangChain chain and a LlamaIndex RAG query in your workspace",
        description=(
            "Run one streamed LangChain chain and one LlamaIndex RAG query over the bundled "
            "sample documents. Without DASHSCOPE_API_KEY both run against the built-in "
            "emulator as a sub-account in its workspace."
        ),
    )
    _add_model_and_workspace(parser)
    parser.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(model=args.model, workspace=args.workspace, out=sys.stdout, err=sys.stderr)


# ---------------------------------------------------------------------------- doctor


def _add_doctor(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor",
        parents=[_common_options()],
        help="diagnose your key, region, workspace and model access",
        description=(
            "Check the DashScope set-up (DASHSCOPE_* variables, overridden by the options) "
            "with a few one-token requests and explain every problem with its fix. "
            "Exit code 0 when healthy, 1 otherwise."
        ),
    )
    parser.add_argument(
        "--model",
        action="append",
        dest="models",
        metavar="MODEL",
        help=f"a model your application needs; repeat for several (default {DEFAULT_CHAT_MODEL})",
    )
    parser.add_argument("--workspace", help="workspace id (default: DASHSCOPE_WORKSPACE)")
    parser.add_argument("--region", help="region, e.g. cn-beijing (default: DASHSCOPE_REGION)")
    parser.add_argument("--base-url", help="API root (default: DASHSCOPE_BASE_URL)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=_run_doctor)


def _run_doctor(args: argparse.Namespace) -> int:
    import json

    from .doctor import diagnose

    print("Checking your DashScope set-up...", file=sys.stderr, flush=True)
    report = diagnose(
        workspace=args.workspace,
        region=args.region,
        base_url=args.base_url,
        models=args.models or [DEFAULT_CHAT_MODEL],
    )
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.render())
    return report.exit_code


# ---------------------------------------------------------------------------- emulator


def _add_emulator(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "emulator",
        parents=[_common_options()],
        help="run the local DashScope emulator",
        description="Run the local DashScope emulator until interrupted.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")
    parser.add_argument("--config", help="emulator config file (keys, workspaces, grants)")
    parser.set_defaults(handler=_run_emulator)


def _run_emulator(args: argparse.Namespace) -> int:
    from .emulator import run_server

    run_server(args.host, args.port, args.config)
    return 0


# ---------------------------------------------------------------------------- entry point

COMMANDS: list[Adder] = [_add_demo, _add_chat, _add_doctor, _add_emulator, add_batch]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every command in ``COMMANDS``)."""
    parser = argparse.ArgumentParser(
        prog="dashscope-ws",
        parents=[_common_options()],
        description="Workspace-aware DashScope (Model Studio / Qwen) client and local emulator.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (``console_scripts`` passes it to exit)."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    debug = getattr(args, "debug", False)
    try:
        return handler(args)
    except KeyboardInterrupt:
        if debug:
            raise
        print("\ndashscope-ws: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`dashscope-ws chat ... | head -1`): stop quietly, like other
        # Unix tools, and keep Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:
        if debug:
            raise
        print(f"dashscope-ws: error: {_error_line(error)}", file=sys.stderr)
        return 1

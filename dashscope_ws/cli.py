"""The ``dashscope-ws`` command line.

Each command is a pair of small functions: ``_add_<name>(subparsers)`` declares its
arguments and ``_run_<name>(args) -> exit code`` does the work. To add a command, write
the pair and append the adder to ``COMMANDS``.

Without ``DASHSCOPE_API_KEY`` the ``chat`` command talks to the built-in emulator (and says
so on stderr), so the tool works out of the box and never needs a real key to try.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .client import DashScopeClient
from .errors import DashScopeError

__all__ = ["COMMANDS", "build_parser", "main"]

DEFAULT_CHAT_MODEL = "qwen-plus"
Adder = Callable[[Any], None]  # argparse's subparsers action type is private


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


@contextmanager
def _client(workspace: str | None) -> Iterator[DashScopeClient]:
    """A client for the configured service, or for the built-in emulator without a key."""
    if os.environ.get("DASHSCOPE_API_KEY"):
        with DashScopeClient(workspace=workspace) as client:
            yield client
        return
    from .emulator import SUB_KEY, SUB_WORKSPACE, Emulator

    with Emulator() as emulator:
        ws = workspace or SUB_WORKSPACE
        print(
            f"dashscope-ws: DASHSCOPE_API_KEY is not set; using the built-in emulator at "
            f"{emulator.base_url} (workspace {ws})",
            file=sys.stderr,
        )
        with DashScopeClient(api_key=SUB_KEY, base_url=emulator.base_url, workspace=ws) as client:
            yield client


# ---------------------------------------------------------------------------- chat


def _add_chat(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "chat",
        parents=[_common_options()],
        help="send one prompt and print the reply",
        description="Send one prompt and stream the reply to stdout.",
    )
    parser.add_argument("prompt", help="the user message")
    parser.add_argument("--model", default=DEFAULT_CHAT_MODEL, help="model (default %(default)s)")
    parser.add_argument("--workspace", help="workspace id (default: DASHSCOPE_WORKSPACE)")
    parser.add_argument("--system", help="system message")
    parser.add_argument(
        "--no-stream", action="store_true", help="wait for the whole reply instead of streaming"
    )
    parser.set_defaults(handler=_run_chat)


def _chat_messages(args: argparse.Namespace) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": args.prompt})
    return messages


def _run_chat(args: argparse.Namespace) -> int:
    messages = _chat_messages(args)
    out = sys.stdout
    with _client(args.workspace) as client:
        if args.no_stream:
            out.write(client.chat(messages, model=args.model).text)
        else:
            for chunk in client.stream_chat(messages, model=args.model):
                out.write(chunk.text)
                out.flush()
    out.write("\n")
    return 0


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

COMMANDS: list[Adder] = [_add_chat, _add_emulator]


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
    try:
        return handler(args)
    except (DashScopeError, ValueError) as exc:
        if getattr(args, "debug", False):
            raise
        print(f"dashscope-ws: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130

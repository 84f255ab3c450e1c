"""A local, protocol-faithful DashScope emulator (aiohttp.web).

It speaks the native DashScope HTTP protocol (text and multimodal generation with SSE,
embeddings, rerank, application completion, the temporary-file upload policy and its OSS upload
target), enforces keys, workspaces and model grants the way the service does, answers every
malformed request in the service's error shape, answers deterministically, and can be scripted
to fail in precise ways.
See docs/emulator.md.

Example:
    >>> from dashscope_ws.emulator import Emulator, ScriptedReply
    >>> with Emulator() as emu:
    ...     emu.enqueue(ScriptedReply(text="Hi!"))
    ...     emu.base_url.endswith("/api/v1")
    True
"""

from __future__ import annotations

from .identities import (
    DEFAULT_GRANTS,
    MAIN_KEY,
    OTHER_WORKSPACE,
    SUB_KEY,
    SUB_WORKSPACE,
    EmulatorConfig,
)
from .script import RecordedRequest, ScriptedReply
from .server import Emulator, run_server

__all__ = [
    "DEFAULT_GRANTS",
    "MAIN_KEY",
    "OTHER_WORKSPACE",
    "SUB_KEY",
    "SUB_WORKSPACE",
    "Emulator",
    "EmulatorConfig",
    "RecordedRequest",
    "ScriptedReply",
    "run_server",
]

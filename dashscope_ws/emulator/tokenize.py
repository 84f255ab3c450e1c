"""The emulator's ``POST /api/v1/tokenizer`` (the SDK's ``dashscope.Tokenization``).

Request and answer shapes: ``dashscope/tokenizers/tokenization.py`` sends
``{"model", "input": {"messages": [...]}|{"prompt": ...}, "parameters": {}}``; a published
SDK answer is ``{"output": {"token_ids": [...], "tokens": [...]}, "usage":
{"input_tokens": N}}``. Tokens are the emulator's own (one CJK character, word or
punctuation mark each, as in its chat ``usage``) with stable fake ids, so an offline
Qwen count and this "exact" count differ on purpose: tests can tell them apart.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from .behaviour import message_text
from .tokenizer import tokens
from .validate import MISSING_MESSAGES
from .wire import invalid

__all__ = ["tokenize"]

_VOCAB = 151643  # Qwen's BPE vocabulary size: fake ids stay in the real id range


def _text(payload: Mapping[str, Any]) -> str:
    messages = payload.get("messages")
    if isinstance(messages, list) and messages:
        # Read as chat reads them for its usage, so the two counts agree.
        return "\n".join(message_text(m.get("content")) for m in messages if isinstance(m, Mapping))
    if isinstance(payload.get("prompt"), str) and payload["prompt"]:
        return str(payload["prompt"])
    raise invalid(MISSING_MESSAGES)


def tokenize(body: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """The answer to a tokenization request (the caller has checked key, workspace and model)."""
    payload = body.get("input")
    pieces = tokens(_text(payload if isinstance(payload, Mapping) else {}))
    return {
        "output": {
            "token_ids": [zlib.crc32(p.encode("utf-8")) % _VOCAB for p in pieces],
            "tokens": pieces,
        },
        "usage": {"input_tokens": len(pieces)},
        "request_id": request_id,
    }

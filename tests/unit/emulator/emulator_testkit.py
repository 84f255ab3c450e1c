"""Helpers for the emulator tests (a uniquely named module, imported by the test files)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

TEXT_PATH = "/services/aigc/text-generation/generation"
MM_PATH = "/services/aigc/multimodal-generation/generation"
EMBED_PATH = "/services/embeddings/text-embedding/text-embedding"
RERANK_PATH = "/services/rerank/text-rerank/text-rerank"

Call = Callable[..., requests.Response]


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    """Split a native SSE body into events: {"id", "event", "comment", "status", "data"}."""
    events = []
    for block in raw.decode("utf-8").split("\n\n"):
        if not block:
            continue
        event: dict[str, Any] = {}
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            if field == "":
                event["comment"] = value
            elif field == "data":
                event["data"] = json.loads(value)
            else:
                event[field] = value
        events.append(event)
    return events


def chat_body(content: str = "Hello there", model: str = "qwen-plus", **parameters: Any) -> Any:
    parameters.setdefault("result_format", "message")
    return {
        "model": model,
        "input": {"messages": [{"role": "user", "content": content}]},
        "parameters": parameters,
    }

"""Executing a batch input file in the emulator: validation, one answer per line, uploads.

Split from :mod:`dashscope_ws.emulator.batch` (which keeps jobs, files and time): this module
answers lines with the emulator's own chat and embedding generators, exactly as the online
endpoints would, and writes OpenAI-format output/error lines.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from .behaviour import message_text, plan_reply
from .gate import authorize_model
from .identities import EmulatorConfig
from .retrieval import embed
from .tokenizer import count_tokens
from .uploads import OssError
from .uploads import parse_form as read_form
from .wire import ServiceError, invalid, new_request_id

__all__ = ["ENDPOINTS", "MAX_FILE_BYTES", "error_line", "execute", "parse_form"]

# The service's limits (DashScope "OpenAI兼容-Batch"), kept apart from the client's copy on
# purpose: the emulator is an independent oracle, so a wrong client constant fails a test.
MAX_LINES = 50_000
MAX_FILE_BYTES = 500 * 1024**2
MAX_LINE_BYTES = 6 * 1024**2
ENDPOINTS = {"/v1/chat/completions": "text", "/v1/embeddings": "embedding"}
Rows = list[tuple[str, dict[str, Any]]]


def execute(
    config: EmulatorConfig, key: str, endpoint: str, content: bytes
) -> tuple[Rows, list[dict[str, Any]]]:
    """Validate the file as the service does at ``validating``, then answer every line."""
    lines = content.splitlines()
    if len(lines) > MAX_LINES:
        return [], [_invalid_file(f"The file has more than {MAX_LINES} lines.", None)]
    parsed: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    models: set[str] = set()
    for number, raw in enumerate(lines, 1):
        if len(raw) > MAX_LINE_BYTES:
            return [], [_invalid_file(f"Line exceeds {MAX_LINE_BYTES} bytes.", number)]
        try:
            line = json.loads(raw)
        except ValueError:
            return [], [_invalid_file("Line is not valid JSON.", number)]
        if not isinstance(line, Mapping) or not isinstance(line.get("body"), Mapping):
            return [], [_invalid_file("Line needs custom_id, method, url and body.", number)]
        custom_id = str(line.get("custom_id", ""))
        if not custom_id or custom_id in seen:
            return [], [_invalid_file("custom_id missing or not unique.", number)]
        if line.get("url") != endpoint:
            return [], [_invalid_file(f"url must equal the batch endpoint {endpoint}.", number)]
        seen.add(custom_id)
        models.add(str(line["body"].get("model")))
        parsed.append(line)
    if not parsed:
        return [], [_invalid_file("The input file is empty.", None)]
    if len(models) > 1:
        return [], [_invalid_file("All lines of a file must use the same model.", None)]
    return [(str(p["custom_id"]), _answer(config, key, endpoint, p)) for p in parsed], []


def _answer(
    config: EmulatorConfig, key: str, endpoint: str, line: Mapping[str, Any]
) -> dict[str, Any]:
    custom_id, body, request_id = str(line["custom_id"]), line["body"], new_request_id()
    try:
        kind = ENDPOINTS[endpoint]
        spec = config.model(str(body.get("model")))
        if kind == "text" and spec is not None and spec.kind == "multimodal":
            kind = "multimodal"  # one chat endpoint serves both in compatible mode
        authorize_model(config, key, body.get("model"), kind)
        answer = _chat(body) if endpoint == "/v1/chat/completions" else _embeddings(body)
    except ServiceError as error:
        return error_line(custom_id, error.status, error.code, error.message, request_id)
    return {
        "id": f"batch_req_{uuid.uuid4().hex[:20]}", "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": request_id, "body": answer},
        "error": None,
    }  # fmt: skip


def _invalid_file(message: str, line: int | None) -> dict[str, Any]:
    return {"code": "invalid_input_file", "message": message, "param": None, "line": line}


def error_line(
    custom_id: str, status: int, code: str, message: str, request_id: str | None = None
) -> dict[str, Any]:
    rid = request_id or new_request_id()
    error = {"code": code, "message": message}
    return {
        "id": f"batch_req_{uuid.uuid4().hex[:20]}", "custom_id": custom_id,
        "response": {"status_code": status, "request_id": rid, "body": {"error": error}},
        "error": error,
    }  # fmt: skip


def _chat(body: Mapping[str, Any]) -> dict[str, Any]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid('"messages" must be a non-empty list')
    model = str(body["model"])
    reply = plan_reply(model, messages, body, thinking=False)
    prompt = sum(
        count_tokens(message_text(m.get("content"))) for m in messages if isinstance(m, Mapping)
    )
    completion = count_tokens(reply.content)
    return {
        "id": f"chatcmpl-{uuid.uuid4()}", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": reply.finish_reason,
                     "message": {"role": "assistant", "content": reply.content}}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion},
    }  # fmt: skip


def _embeddings(body: Mapping[str, Any]) -> dict[str, Any]:
    texts = body.get("input")
    parameters = {"dimension": body["dimensions"]} if "dimensions" in body else {}
    native = embed(str(body["model"]), {"input": {"texts": texts}, "parameters": parameters}, "")
    rows = native["output"]["embeddings"]
    tokens = native["usage"]["total_tokens"]
    return {
        "object": "list", "model": body["model"],
        "data": [
            {"object": "embedding", "index": r["text_index"], "embedding": r["embedding"]}
            for r in rows
        ],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }  # fmt: skip


def parse_form(
    content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """A ``multipart/form-data`` body as (fields, files), read by the emulator's one form reader.

    Raises:
        ServiceError: 400 ``InvalidParameter`` for a body that is not a well-formed form.
    """
    try:
        form = read_form(content_type, body)
    except OssError as error:
        raise invalid(error.message) from None
    fields = {
        name: value.decode("utf-8", "replace") for name, (f, value) in form.items() if f is None
    }
    files = {name: (f, value) for name, (f, value) in form.items() if f is not None}
    return fields, files

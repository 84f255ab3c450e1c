"""Token counting for Qwen: offline with the Qwen BPE vocabulary, exact through the service.

Offline counting uses the Qwen vocabulary (151,643 byte-level BPE ranks plus the ChatML
special tokens) with ``tiktoken``. The vocabulary file is the one the official
``dashscope`` SDK ships as package data (``dashscope/resources/qwen.tiktoken``, read by
``dashscope/tokenizers/qwen_tokenizer.py``); it is located without importing the SDK and
nothing is ever downloaded. Install both with ``pip install "dashscope-ws[tokens]"``.

Accuracy (``docs/tokens.md``): on the published service answers we
could find, the offline count is exact — ``Tokenization.call`` for ``"你好？"`` returned
ids ``[108386, 11319]`` (same ids here), and ``Generation`` usage of 17 and 106 output
tokens and 23 input tokens for a system + user turn are reproduced exactly (input counted
with the ChatML template, :func:`count_message_tokens`). Qwen2, Qwen2.5 and Qwen3 keep the
same BPE ranks and pre-tokenizer pattern; images, audio and the tools preamble the service
adds are not counted, so treat message counts with tools or media as estimates. For the
service's own count use :func:`tokenize` (``POST /api/v1/tokenizer``).

Example:
    >>> from dashscope_ws.tokens import count_tokens, encode
    >>> encode("你好？")  # doctest: +SKIP
    [108386, 11319]
    >>> count_tokens("通义千问具有强大的能力。")  # doctest: +SKIP
    8
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .protocol import HTTPRequest, content_text, header_value, load_success_body, parse_usage
from .wire import invalid_response

if TYPE_CHECKING:
    import tiktoken

    from .client import DashScopeClient

__all__ = [
    "TOKENIZER_PATH",
    "TokenizeResult",
    "atokenize",
    "count_message_tokens",
    "count_tokens",
    "decode",
    "encode",
    "qwen_encoding",
    "tokenize",
]

TOKENIZER_PATH = "tokenizer"
"""The tokenization endpoint under ``/api/v1`` (``dashscope/tokenizers/tokenization.py``:
``FUNCTION = "tokenizer"``, no task group, not a service path: ``{base}/api/v1/tokenizer``)."""

# From dashscope/tokenizers/qwen_tokenizer.py (PAT_STR, SPECIAL_TOKENS).
_PAT_STR = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
_SPECIAL_START_ID = 151643
_EXTRAS = tuple(f"<|extra_{i}|>" for i in range(205))
_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", *_EXTRAS)
_VOCAB_ENV = "DASHSCOPE_WS_QWEN_VOCAB"
_MISSING = (
    "Qwen token counting needs tiktoken and the Qwen vocabulary shipped with the "
    'dashscope SDK: pip install "dashscope-ws[tokens]"'
)


def _vocab_path() -> Path:
    override = os.environ.get(_VOCAB_ENV)
    if override:
        return Path(override)
    # find_spec locates the SDK without importing it (its import pulls in much more).
    spec = importlib.util.find_spec("dashscope")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / "resources" / "qwen.tiktoken"
        if path.is_file():
            return path
    raise ImportError(_MISSING)


@cache
def qwen_encoding() -> tiktoken.Encoding:
    """The Qwen ``tiktoken.Encoding`` (loaded once, ~0.2 s).

    Raises:
        ImportError: ``tiktoken`` or the vocabulary file is missing.
    """
    try:
        import tiktoken
    except ImportError as error:
        raise ImportError(_MISSING) from error
    ranks: dict[bytes, int] = {}
    for line in _vocab_path().read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    specials = {token: _SPECIAL_START_ID + i for i, token in enumerate(_SPECIALS)}
    return tiktoken.Encoding(
        "qwen", pat_str=_PAT_STR, mergeable_ranks=ranks, special_tokens=specials
    )


def encode(text: str) -> list[int]:
    """Qwen token ids of ``text`` (NFC-normalised; special-token text is plain text).

    Raises:
        ImportError: the ``tokens`` extra is not installed.
    """
    return qwen_encoding().encode_ordinary(unicodedata.normalize("NFC", text))


def decode(ids: Iterable[int]) -> str:
    """Text of Qwen token ids."""
    return qwen_encoding().decode(list(ids))


def count_tokens(text: str, *, model: str = "qwen-plus") -> int:
    """Number of Qwen tokens in ``text`` (offline).

    ``model`` is accepted for forward compatibility: every Qwen family so far (Qwen,
    Qwen2, Qwen2.5, Qwen3) shares this vocabulary.
    """
    del model
    return len(encode(text))


def _message_text(message: Mapping[str, Any]) -> str:
    text = content_text(message.get("content"))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        text += f"{function.get('name') or ''}{function.get('arguments') or ''}"
    return text


def count_message_tokens(
    messages: Sequence[Mapping[str, Any]],
    *,
    model: str = "qwen-plus",
    tools: Sequence[Mapping[str, Any]] | None = None,
    add_generation_prompt: bool = True,
) -> int:
    """Input tokens of a conversation (wire dicts), counted with Qwen's ChatML template.

    Each message is ``<|im_start|>{role}\\n{content}<|im_end|>\\n`` and the reply opens
    with ``<|im_start|>assistant\\n`` (``add_generation_prompt``). Text parts of
    multimodal content and tool-call names/arguments are counted; media is not, and
    ``tools`` add the size of their JSON (the service's tool preamble is not public).
    """
    del model
    rendered = "".join(
        f"<|im_start|>{message.get('role', 'user')}\n{_message_text(message)}<|im_end|>\n"
        for message in messages
    )
    if add_generation_prompt:
        rendered += "<|im_start|>assistant\n"
    enc = qwen_encoding()
    total = len(enc.encode(unicodedata.normalize("NFC", rendered), allowed_special="all"))
    if tools:
        total += len(encode(json.dumps(list(tools), ensure_ascii=False)))
    return total


# --------------------------------------------------------------------------- the service


@dataclass(frozen=True)
class TokenizeResult:
    """The service's tokenization of a text or conversation.

    Example:
        >>> TokenizeResult(token_ids=(108386, 11319), tokens=("你好", "？"), input_tokens=2).count
        2
    """

    token_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    input_tokens: int | None
    request_id: str | None = None

    @property
    def count(self) -> int:
        """``usage.input_tokens`` when the service sent it, else the number of ids."""
        return self.input_tokens if self.input_tokens is not None else len(self.token_ids)


def _request(
    client: DashScopeClient,
    text_or_messages: str | Sequence[Mapping[str, Any]],
    model: str,
    workspace: str | None,
) -> HTTPRequest:
    # Body as the SDK's Tokenization.call sends it: {"model", "input": {"messages"|"prompt"}}.
    if isinstance(text_or_messages, str):
        payload: dict[str, Any] = {"prompt": text_or_messages}
    else:
        payload = {"messages": [dict(message) for message in text_or_messages]}
    config = client.config
    return HTTPRequest(
        method="POST",
        url=config.url(TOKENIZER_PATH, workspace=workspace),
        headers=config.headers(workspace=workspace, stream=False),
        json={"model": model, "input": payload, "parameters": {}},
    )


def _parse(status: int, headers: Mapping[str, str], body: bytes) -> TokenizeResult:
    # Answer shape from a published SDK response: {"output": {"token_ids": [...],
    # "tokens": [...]}, "usage": {"input_tokens": N}, "request_id": ...}.
    payload = load_success_body(status, headers, body)
    output = payload.get("output")
    ids = output.get("token_ids") if isinstance(output, Mapping) else None
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        # A typed error, never an empty count or a bare AttributeError/ValueError.
        raise invalid_response(
            "output.token_ids is not a list of integers", body,
            request_id=payload.get("request_id") or header_value(headers, "x-request-id"),
        )  # fmt: skip
    tokens = output.get("tokens") if isinstance(output, Mapping) else None
    return TokenizeResult(
        token_ids=tuple(ids),
        tokens=tuple(str(t) for t in tokens) if isinstance(tokens, list) else (),
        input_tokens=parse_usage(payload.get("usage")).input_tokens,
        request_id=payload.get("request_id"),
    )


def tokenize(
    client: DashScopeClient,
    text_or_messages: str | Sequence[Mapping[str, Any]],
    *,
    model: str = "qwen-plus",
    workspace: str | None = None,
) -> TokenizeResult:
    """The service's own tokenization (exact, costs a request; retried like any call).

    Raises:
        DashScopeError: the mapped API error.
    """
    request = _request(client, text_or_messages, model, workspace)
    return client._call(request, lambda r: _parse(r.status, r.headers, r.body))


async def atokenize(
    client: DashScopeClient,
    text_or_messages: str | Sequence[Mapping[str, Any]],
    *,
    model: str = "qwen-plus",
    workspace: str | None = None,
) -> TokenizeResult:
    """Async :func:`tokenize`."""
    request = _request(client, text_or_messages, model, workspace)
    return await client._acall(request, lambda r: _parse(r.status, r.headers, r.body))

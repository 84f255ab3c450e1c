"""The parsers and decoder factories ``DashScopeClient`` hands its driver loops.

Each binds the per-call facts a pure parser needs (the model, the batch size, the documents)
into a ``Callable[[RawResponse], T]`` (or a decoder factory for streams).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TypeVar

from .http import RawResponse
from .protocol import parse_chat_response
from .rerank import parse_rerank_response
from .retrieval import EmbeddingBatch, parse_embedding_response
from .sse import ChatStreamDecoder, Pulled
from .types import ChatResult, RerankResult

__all__ = ["chat_decoder", "chat_parser", "embedding_parser", "rerank_parser"]

T = TypeVar("T")
Parser = Callable[[RawResponse], T]


def chat_decoder(model: str) -> Callable[[], Pulled]:
    return lambda: Pulled(ChatStreamDecoder(model=model))


@functools.lru_cache(maxsize=64)
def chat_parser(model: str) -> Parser[ChatResult]:
    """The parser of ``model``'s answers: pure, so one per model, not one per call."""
    return _ChatParser(model)


class _ChatParser:
    """``chat_parser``'s result: one object per call where a closure is three (function,
    cell, tuple), which the garbage collector tracks while hundreds of calls are in flight."""

    __slots__ = ("model",)

    def __init__(self, model: str) -> None:
        self.model = model

    def __call__(self, r: RawResponse) -> ChatResult:
        return parse_chat_response(r.status, r.headers, r.body, model=self.model)


def embedding_parser(count: int, dimension: int | None = None) -> Parser[EmbeddingBatch]:
    """``dimension`` is the vector length asked for (``None``: the model's default, unchecked)."""
    return lambda r: parse_embedding_response(
        r.status, r.headers, r.body, count=count, dimension=dimension
    )


def rerank_parser(
    model: str, documents: Sequence[str], top_n: int | None = None
) -> Parser[RerankResult]:
    """``top_n`` is the one sent: an answer with more results than that is malformed."""
    docs = list(documents)
    return lambda r: parse_rerank_response(
        r.status, r.headers, r.body, model=model, documents=docs, top_n=top_n
    )

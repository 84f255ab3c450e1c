"""Typed results returned by the core client.

Requests go out as plain wire-format dicts (see ``protocol``); what comes back is
parsed into these small dataclasses so that adapters never index raw JSON.
Every result keeps the raw wire object in ``raw`` for fields we do not model yet.

``Usage``, ``ChatChunk`` and ``ChatResult`` are built once per stream event, so they are
``__slots__`` dataclasses and not frozen (a frozen dataclass costs about 0.8 µs more
per object on CPython 3.11). Treat them as read-only all the same: ``raw`` is the wire
object itself, shared, not a copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "USAGE_COUNTS",
    "ChatChunk",
    "ChatResult",
    "EmbeddingResult",
    "RerankItem",
    "RerankResult",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]


@dataclass(slots=True)
class Usage:
    """Token usage as DashScope reports it (native names, not OpenAI names).

    ``input_tokens``/``output_tokens``/``total_tokens`` are ``None`` only when the
    service omitted them. In a stream every chunk carries the *cumulative* usage so
    far; never add chunk usages together.

    Example:
        >>> Usage(input_tokens=10, output_tokens=2, total_tokens=12).total_tokens
        12
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cached_tokens: int | None = None
    """``prompt_tokens_details.cached_tokens`` (context-cache hits)."""
    reasoning_tokens: int | None = None
    """``output_tokens_details.reasoning_tokens`` (thinking mode)."""
    raw: dict[str, Any] = field(default_factory=dict)


# Usage's token counts: every field but ``raw``, in declaration order.
USAGE_COUNTS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
)


@dataclass(frozen=True)
class ToolCall:
    """One complete tool call requested by the model.

    ``arguments`` is the raw JSON string exactly as the model produced it; it is
    never parsed here because models sometimes emit invalid JSON and adapters must
    be able to report that (LangChain's ``invalid_tool_calls``).

    Example:
        >>> ToolCall(id="call_1", name="get_weather", arguments='{"city": "Hangzhou"}').name
        'get_weather'
    """

    id: str
    name: str
    arguments: str
    index: int = 0
    type: str = "function"


@dataclass(frozen=True)
class ToolCallDelta:
    """A fragment of a streamed tool call, addressed by ``index``.

    ``name`` and ``arguments`` are *deltas* to append; ``id`` is set on the
    fragment that introduces the call (later fragments may repeat it or leave it
    empty).

    Example:
        >>> ToolCallDelta(index=0, arguments='{"ci').arguments
        '{"ci'
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str | None = None


@dataclass(slots=True)
class ChatChunk:
    """One decoded stream event: *deltas* since the previous chunk.

    Example:
        >>> ChatChunk(text="Hel", request_id="r1").text
        'Hel'
    """

    text: str = ""
    reasoning: str = ""
    tool_calls: tuple[ToolCallDelta, ...] = ()
    finish_reason: str | None = None
    """``None`` while generating (the wire's string ``"null"`` is normalised)."""
    usage: Usage | None = None
    """Cumulative usage so far, as sent in this chunk."""
    request_id: str | None = None
    model: str | None = None
    """The model actually called (the requested one; DashScope does not echo it)."""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ChatResult:
    """A complete assistant turn (non-streamed, or folded from a stream).

    Example:
        >>> r = ChatResult(text="hi", finish_reason="stop", model="qwen-plus")
        >>> (r.text, r.finish_reason)
        ('hi', 'stop')
    """

    text: str = ""
    reasoning: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    request_id: str | None = None
    model: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EmbeddingResult:
    """Vectors in the order of the input texts (never ``None``).

    ``sparse`` holds ``{"indices": [...], "values": [...]}`` per text when a sparse
    ``output_type`` was requested, else it is empty. ``request_ids`` lists every
    request made (one per batch).

    Example:
        >>> EmbeddingResult(embeddings=[[0.1, 0.2]], model="text-embedding-v4").dimension
        2
    """

    embeddings: list[list[float]]
    model: str
    sparse: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    request_ids: tuple[str, ...] = ()

    @property
    def dimension(self) -> int:
        """Length of each dense vector (0 when there are none)."""
        return len(self.embeddings[0]) if self.embeddings else 0


@dataclass(frozen=True)
class RerankItem:
    """One ranked document: its position in the input and its score.

    Example:
        >>> RerankItem(index=1, relevance_score=0.9).index
        1
    """

    index: int
    relevance_score: float
    document: str | None = None


@dataclass(frozen=True)
class RerankResult:
    """Results sorted by ``relevance_score`` descending.

    Example:
        >>> RerankResult(results=[RerankItem(0, 0.5)], model="gte-rerank-v2").results[0].index
        0
    """

    results: list[RerankItem]
    model: str
    usage: Usage = field(default_factory=Usage)
    request_id: str | None = None

"""The emulator's documented tokenizer: one CJK character, word or punctuation mark = one token.

Real Qwen tokenizers are BPE; this one is only meant to give stable, plausible counts and a
natural place to cut text into stream chunks or at ``max_tokens``.
"""

from __future__ import annotations

import re

__all__ = ["count_tokens", "pieces", "tokens", "words"]

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
# Order matters: a CJK character is a token of its own even when glued to Latin letters.
_TOKEN = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])\w)+|[^\w\s]")
_PIECE = re.compile(rf"\s*(?:[{_CJK}]|(?:(?![{_CJK}])\w)+|[^\w\s])")
_CJK_CHAR = re.compile(rf"[{_CJK}]")

# Function words carry no topic, so they must not make unrelated texts look alike.
STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "the",
        "this",
        "that",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    }
)


def tokens(text: str) -> list[str]:
    """Split ``text`` into tokens (CJK characters, words, punctuation marks)."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    """Number of tokens in ``text``."""
    return len(_TOKEN.findall(text))


def pieces(text: str) -> list[str]:
    """Split ``text`` into one piece per token, each keeping its leading whitespace.

    ``"".join(pieces(text))`` equals ``text`` (trailing whitespace joins the last piece), so
    pieces can be streamed or truncated without changing the spacing.
    """
    found = _PIECE.findall(text)
    consumed = sum(len(piece) for piece in found)
    if consumed < len(text):
        if found:
            found[-1] += text[consumed:]
        else:
            found = [text]
    return found


def words(text: str) -> set[str]:
    """Topic-bearing units of ``text`` for overlap scoring: lower-cased words and CJK chars."""
    out: set[str] = set()
    for token in tokens(text.lower()):
        if _CJK_CHAR.fullmatch(token) or (token[0].isalnum() and token not in STOP_WORDS):
            out.add(token)
    return out


def is_cjk(token: str) -> bool:
    """Whether ``token`` is a single CJK character."""
    return bool(_CJK_CHAR.fullmatch(token))

"""Deterministic text vectors for the emulated embedding and rerank models.

Feature hashing with signed buckets: lower-cased words, word bigrams, CJK characters and CJK
bigrams are hashed with BLAKE2b (stable across processes, unlike ``hash()``) into ``dimension``
buckets, then L2-normalised. Texts sharing words or Chinese characters get a high cosine, and
unrelated texts land near zero, which is enough for retrieval tests to mean something.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter

from .tokenizer import STOP_WORDS, is_cjk, tokens

__all__ = ["cosine", "dense_vector", "features", "sparse_vector"]

_SPARSE_SPACE = 250_000  # sparse "vocabulary" size; indices are hash buckets in [0, 250000)


def features(text: str) -> Counter[str]:
    """Weighted hashing features of ``text`` (namespaced so a word never collides with a bigram)."""
    out: Counter[str] = Counter()
    previous_word: str | None = None
    previous_cjk: str | None = None
    for token in tokens(text.lower()):
        if is_cjk(token):
            out["c:" + token] += 1
            if previous_cjk is not None:
                out["cb:" + previous_cjk + token] += 1
            previous_cjk, previous_word = token, None
        elif token[0].isalnum():
            if token not in STOP_WORDS:
                out["w:" + token] += 2
            if previous_word is not None:
                out["wb:" + previous_word + " " + token] += 1
            previous_word, previous_cjk = token, None
        else:
            previous_word = previous_cjk = None
    if not out:
        # Punctuation-only text still needs a direction of its own.
        out["t:" + text] = 1
    return out


def _hash(feature: str) -> int:
    return int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "big")


def dense_vector(text: str, dimension: int) -> list[float]:
    """An L2-normalised vector of ``dimension`` floats for ``text``."""
    vector = [0.0] * dimension
    for feature, weight in features(text).items():
        digest = _hash(feature)
        sign = 1.0 if digest & 1 else -1.0
        vector[(digest >> 1) % dimension] += sign * weight
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return [value / norm for value in vector]


def sparse_vector(text: str) -> dict[str, list[float] | list[int]]:
    """A sparse vector ``{"indices": [...], "values": [...]}`` over word and CJK features."""
    weights: Counter[int] = Counter()
    for feature, weight in features(text).items():
        if feature.startswith(("w:", "c:", "t:")):
            weights[(_hash(feature) >> 1) % _SPARSE_SPACE] += weight
    norm = math.sqrt(sum(value * value for value in weights.values())) or 1.0
    indices = sorted(weights)
    return {"indices": indices, "values": [weights[index] / norm for index in indices]}


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity of two vectors (0.0 when either is all zeros)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0

"""``stream_usage``: a stream event's usage parsed when first read, indistinguishable after."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable
from typing import Any

import pytest

from dashscope_ws._stream_usage import stream_usage
from dashscope_ws.sse import ChatStreamDecoder
from dashscope_ws.types import USAGE_COUNTS, Usage
from dashscope_ws.wire import parse_usage

WIRE = {
    "input_tokens": 5,
    "output_tokens": 3,
    "prompt_tokens_details": {"cached_tokens": 2},
    "output_tokens_details": {"reasoning_tokens": 1},
}
EAGER = parse_usage(WIRE)

READS: list[Callable[[Usage], Any]] = [
    lambda u: u.input_tokens,
    lambda u: u.total_tokens,  # computed: absent on the wire
    lambda u: u.cached_tokens,
    lambda u: u.reasoning_tokens,
    repr,
    lambda u: u == EAGER,
    lambda u: u == EAGER,
    lambda u: u != Usage(),
    dataclasses.asdict,
    lambda u: dataclasses.replace(u, output_tokens=9),
    lambda u: type(u.input_tokens),
    copy.copy,
    copy.deepcopy,
    lambda u: pickle.loads(pickle.dumps(u)),  # noqa: S301
]


def _unread(usage: Usage) -> set[str]:
    """The slots set so far, read without triggering the parse."""
    set_slots = set()
    for name in Usage.__slots__:
        try:
            object.__getattribute__(usage, name)
        except AttributeError:
            continue
        set_slots.add(name)
    return set_slots


@pytest.mark.parametrize("read", READS)
def test_every_read_sees_the_parsed_usage(read: Callable[[Usage], Any]) -> None:
    usage = stream_usage(WIRE)
    assert isinstance(usage, Usage)
    assert set(_unread(usage)) == {"raw"}  # nothing parsed before the first read
    assert read(usage) == read(EAGER)
    assert type(usage) is Usage  # a plain Usage from then on
    assert usage == EAGER


def test_reading_raw_needs_no_parse() -> None:
    usage = stream_usage(WIRE)
    assert usage.raw is WIRE
    assert _unread(usage) == {"raw"}
    assert usage == EAGER


def test_copies_and_pickles_of_an_unread_usage_parse_alike() -> None:
    for clone in (copy.copy, copy.deepcopy, lambda u: pickle.loads(pickle.dumps(u))):  # noqa: S301
        usage = stream_usage(WIRE)
        assert clone(usage) == EAGER
        assert usage == EAGER


def test_unhashable_like_usage_and_a_value_set_before_reading_is_kept() -> None:
    usage = stream_usage(WIRE)
    with pytest.raises(TypeError):
        hash(usage)
    usage = stream_usage(WIRE)
    usage.output_tokens = 7
    assert (usage.output_tokens, usage.input_tokens) == (7, 5)


def test_not_an_object_is_parsed_at_once() -> None:
    assert type(stream_usage(None)) is Usage
    assert stream_usage([1]) == Usage()


def test_decoded_chunks_carry_usage_equal_to_the_eager_parse() -> None:
    events = b"".join(
        b'data:{"output":{"choices":[{"message":{"content":"a"},"finish_reason":"%s"}]},'
        b'"usage":{"input_tokens":5,"output_tokens":%d}}\n\n' % (finish, n)
        for n, finish in ((1, b"null"), (2, b"stop"))
    )
    chunks = ChatStreamDecoder(model="m").feed(events)
    assert [c.usage for c in chunks] == [
        Usage(5, 1, 6, raw={"input_tokens": 5, "output_tokens": 1}),
        Usage(5, 2, 7, raw={"input_tokens": 5, "output_tokens": 2}),
    ]


def test_two_unread_usages_compare_by_value() -> None:
    same = stream_usage(dict(WIRE)), stream_usage(dict(WIRE))
    assert same[0] == same[1]
    assert stream_usage(WIRE) != stream_usage({"input_tokens": 5})


def test_usage_counts_name_every_field_but_raw() -> None:
    # Both the lazy parse and LlamaIndex's usage dict walk USAGE_COUNTS: a new Usage field
    # must be added there too.
    assert (*USAGE_COUNTS, "raw") == tuple(f.name for f in dataclasses.fields(Usage))

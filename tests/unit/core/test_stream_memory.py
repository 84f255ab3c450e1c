"""Memory stays flat while a long reply streams: bounded by the reply's own text, not its chunks.

A 32 KiB and a 1 MiB reply stream through the real client, SSE decoder, ``ChatStream`` and
accumulator (a mock transport hands out the SSE bytes one event at a time, generated lazily,
so the input is never held whole). ``tracemalloc`` measures the peak of what was allocated
during the stream: the folded reply text must be in there once (``result()`` keeps it), so
the bound is a small multiple of the reply size plus a constant, and the same reply cut into
8x more chunks must not need more memory.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator

import pytest

from dashscope_ws import DashScopeClient
from dashscope_ws.transports import MockResponse, MockTransport

KIB = 1024
CONSTANT = 256 * KIB  # decoder buffers, one read's events, interpreter noise


def _events(size: int, piece: int) -> Iterator[bytes]:
    """``size`` bytes of reply text in ``piece``-byte deltas, framed like the service."""
    count = size // piece
    for n in range(1, count + 1):
        final = n == count
        payload = {
            "output": {
                "choices": [
                    {
                        "message": {"role": "assistant", "content": "x" * piece},
                        "finish_reason": "stop" if final else "null",
                    }
                ]
            },
            "usage": {"input_tokens": 5, "output_tokens": n, "total_tokens": n + 5},
            "request_id": "req-memory",
        }
        yield f"id:{n}\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(payload)}\n\n".encode()


def _peak_while_streaming(size: int, piece: int) -> int:
    client = DashScopeClient(
        api_key="sk-test",
        transport=MockTransport(
            lambda request: MockResponse(
                headers={"content-type": "text/event-stream"}, chunks=_events(size, piece)
            )
        ),
    )
    messages = [{"role": "user", "content": "Write a long story."}]
    with client.stream_chat(messages, model="qwen-plus") as warm_up:  # imports, caches settle
        warm_up.result()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        with client.stream_chat(messages, model="qwen-plus") as stream:
            seen = sum(len(chunk.text) for chunk in stream)
            text = stream.result().text
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        client.close()
    assert seen == len(text) == size // piece * piece  # the whole reply went through
    return peak - start


@pytest.mark.parametrize("size", [32 * KIB, 1024 * KIB])
def test_peak_is_bounded_by_the_reply_not_the_stream(size: int) -> None:
    peak = _peak_while_streaming(size, piece=128)
    # The folded text (1x, held by result()) plus its pieces before the join (1x plus a
    # str header per piece) is the floor; 4x leaves room, a per-chunk leak does not fit.
    assert peak < 4 * size + CONSTANT, f"peak {peak} for a {size}-byte reply"


def test_more_chunks_for_the_same_reply_need_no_more_memory() -> None:
    size = 1024 * KIB
    coarse = _peak_while_streaming(size, piece=1024)  # 1,024 chunks
    fine = _peak_while_streaming(size, piece=128)  # 8,192 chunks
    # Per-piece string headers (~50 bytes per 128-byte piece) are the only per-chunk cost.
    assert fine < 2.5 * coarse + CONSTANT, (coarse, fine)

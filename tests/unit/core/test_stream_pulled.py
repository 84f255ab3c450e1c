"""Chat streams decode each event when the consumer pulls it, not a whole read at once.

A fast server puts hundreds of events in one 64 KiB read; decoding them all before the
first is yielded kept them alive together, which made the cyclic GC promote them and run
full collections more often (bench (b), "of which GC"). These tests pin the behaviour, not
a time: how many decoded chunks are alive while the consumer holds the first one.
"""

from __future__ import annotations

import asyncio
import gc

import pytest

from dashscope_ws import DashScopeClient
from dashscope_ws.errors import APIResponseValidationError
from dashscope_ws.sse import ChatStreamDecoder, Pulled
from dashscope_ws.transports import AsyncMockTransport, MockResponse, MockTransport
from dashscope_ws.types import ChatChunk

USER = [{"role": "user", "content": "hi"}]
EVENTS = 300


def _payload(n: int, last: bool = False) -> dict[str, object]:
    choice = {"message": {"role": "assistant", "content": f"t{n} "}, "finish_reason": None}
    if last:
        choice["finish_reason"] = "stop"
    usage = {"input_tokens": 3, "output_tokens": n + 1, "total_tokens": n + 4}
    return {"output": {"choices": [choice]}, "usage": usage, "request_id": "r1"}


def _one_read() -> MockResponse:
    """Every event in a single body read, as a fast server delivers them."""
    events = [_payload(n, last=n == EVENTS - 1) for n in range(EVENTS)]
    return MockResponse(chunks=[b"".join(MockResponse.sse(events).pieces())])


def _alive_chunks() -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is ChatChunk)


def _baseline() -> int:
    """Chunks other tests left alive (the count below is relative to it)."""
    gc.collect()
    return _alive_chunks()


def test_sync_stream_holds_one_decoded_chunk_at_a_time() -> None:
    client = DashScopeClient(api_key="sk-test", transport=MockTransport(lambda r: _one_read()))
    before = _baseline()
    with client.stream_chat(USER, model="qwen-plus") as stream:
        iterator = iter(stream)
        first = next(iterator)
        alive = _alive_chunks() - before
        rest = list(iterator)
        result = stream.result()
    assert first.text == "t0 "
    assert alive <= 3  # decoding the whole read first kept all 300 alive
    assert len(rest) == EVENTS - 1
    assert result.text == "".join(f"t{n} " for n in range(EVENTS))
    assert result.usage.output_tokens == EVENTS


def test_async_stream_holds_one_decoded_chunk_at_a_time() -> None:
    transport = AsyncMockTransport(lambda r: _one_read())
    client = DashScopeClient(api_key="sk-test", async_transport=transport)

    async def run() -> tuple[int, int, str]:
        before = _baseline()
        async with client.astream_chat(USER, model="qwen-plus") as stream:
            iterator = aiter(stream)
            await anext(iterator)
            alive = _alive_chunks() - before
            count = 1 + len([chunk async for chunk in iterator])
            return alive, count, (await stream.aresult()).text

    alive, count, text = asyncio.run(run())
    assert alive <= 3
    assert count == EVENTS
    assert text.startswith("t0 t1 ")
    assert text.endswith(f"t{EVENTS - 1} ")


def test_pulled_decoder_yields_what_precedes_an_error_then_stays_failed() -> None:
    good = b"".join(MockResponse.sse([_payload(0), _payload(1)]).pieces())
    bad = b'data:{"output": {"choices": "not a list"}}\n\n'
    decoder = Pulled(ChatStreamDecoder(model="qwen-plus"))
    items = iter(decoder.feed(good + bad))
    assert [next(items).text, next(items).text] == ["t0 ", "t1 "]
    with pytest.raises(APIResponseValidationError):
        next(items)
    with pytest.raises(APIResponseValidationError):  # every later call raises it again
        decoder.feed(good)
    with pytest.raises(APIResponseValidationError):
        decoder.close()


def test_eager_feed_is_unchanged() -> None:
    # The sans-I/O decoder's own feed still returns every chunk of the read as a list.
    data = b"".join(MockResponse.sse([_payload(0), _payload(1, last=True)]).pieces())
    decoder = ChatStreamDecoder(model="qwen-plus")
    chunks = decoder.feed(data)
    assert isinstance(chunks, list)
    assert [c.text for c in chunks] == ["t0 ", "t1 "]
    assert decoder.close() == []

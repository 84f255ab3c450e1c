"""Streaming through both adapters is linear in the number of chunks, and exact.

Growth is checked as a ratio of CPU time for 8,000 and 32,000 chunks in the same run
(linear: ~4x, re-joining the reply per chunk: ~16x); no absolute time is asserted.
The reply is fed through the real client and its :class:`~dashscope_ws.streams.ChatStream`
(deadlines, accumulator) by a fake transport and decoder that replay ready-made chunks, so the
core's per-chunk stream path is measured with the adapter and framework work, but no SSE parsing.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

import dashscope_ws._chat_client
from dashscope_ws import DashScopeClient
from dashscope_ws.http import HTTPRequest, RawResponse
from dashscope_ws.types import ChatChunk, ToolCallDelta, Usage

SMALL, LARGE = 8_000, 32_000
LINEAR_BOUND = 8.0  # 4 is linear; quadratic is 16 (and the old code measured 13)


def _chunks(n: int) -> list[ChatChunk]:
    body = [
        ChatChunk(text="字" if i % 2 else "ab", request_id="r", model="qwen-plus") for i in range(n)
    ]
    body[0] = ChatChunk(reasoning="think", request_id="r")
    body.append(ChatChunk(tool_calls=(ToolCallDelta(0, id="c1", name="add", arguments='{"a": '),)))
    body.append(ChatChunk(tool_calls=(ToolCallDelta(0, arguments="1}"),)))
    usage = Usage(input_tokens=5, output_tokens=n, total_tokens=n + 5)
    body.append(ChatChunk(finish_reason="tool_calls", usage=usage, request_id="r"))
    return body


def _expected_text(n: int) -> str:
    return "".join("字" if i % 2 else "ab" for i in range(1, n))


class _Replay:
    """A decoder that hands out the next ready-made chunk for each read."""

    def __init__(self, chunks: list[ChatChunk]) -> None:
        self._chunks = iter(chunks)

    def feed(self, data: bytes) -> list[ChatChunk]:
        return [next(self._chunks)]

    def close(self) -> list[ChatChunk]:
        return list(self._chunks)


class _ReplayTransport:
    """One body read per chunk; never touches the network."""

    def __init__(self) -> None:
        self.chunks: list[ChatChunk] = []

    def send(self, request: HTTPRequest) -> RawResponse:
        raise AssertionError("only streams are sent here")

    @contextmanager
    def stream(self, request: HTTPRequest) -> Iterator[Iterator[bytes]]:
        yield (b"." for _ in self.chunks)

    def close(self) -> None:
        pass


@pytest.fixture
def replay(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[DashScopeClient, _ReplayTransport]]:
    """The real client (so the adapters get a real ChatStream), fed by a replay transport."""
    transport = _ReplayTransport()
    monkeypatch.setattr(
        dashscope_ws._chat_client, "chat_decoder", lambda model: lambda: _Replay(transport.chunks)
    )
    with DashScopeClient(api_key="sk-emu-main", transport=transport) as client:
        yield client, transport


def _cpu(run: Callable[[], object], repeat: int) -> float:
    # The cyclic GC is paused while measuring: its full collections scan the whole heap
    # (pytest's included), which is not work the adapters do per chunk.
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.process_time()
            run()
            best = min(best, time.process_time() - start)
        finally:
            gc.enable()
    return best


def _growth(make_run: Callable[[int], Callable[[], object]]) -> float:
    small, large = make_run(SMALL), make_run(LARGE)
    small()  # warm caches and imports
    return _cpu(large, 2) / max(_cpu(small, 3), 1e-9)


def test_langchain_stream_is_linear_and_exact(
    monkeypatch: pytest.MonkeyPatch, replay: tuple[DashScopeClient, _ReplayTransport]
) -> None:
    from langchain_core.messages import AIMessageChunk

    from langchain_dashscope_ws import ChatDashScope

    llm = ChatDashScope(api_key="sk-emu-main")
    client, transport = replay
    monkeypatch.setattr(ChatDashScope, "_get_client", lambda self: client)

    def make_run(n: int) -> Callable[[], AIMessageChunk]:
        chunks = _chunks(n)

        def run() -> AIMessageChunk:
            transport.chunks = chunks
            total: AIMessageChunk | None = None
            parts = list(llm.stream("hi"))
            total = parts[0] + parts[1:]  # type: ignore[assignment]
            assert total is not None
            return total

        return run

    total = make_run(100)()
    assert total.content == _expected_text(100)
    assert total.additional_kwargs["reasoning_content"] == "think"
    assert total.tool_calls == [{"name": "add", "args": {"a": 1}, "id": "c1", "type": "tool_call"}]
    assert total.usage_metadata == {"input_tokens": 5, "output_tokens": 100, "total_tokens": 105}
    assert total.response_metadata["finish_reason"] == "tool_calls"
    growth = _growth(make_run)
    assert growth < LINEAR_BOUND, growth


def test_llamaindex_stream_is_linear_and_exact(
    monkeypatch: pytest.MonkeyPatch, replay: tuple[DashScopeClient, _ReplayTransport]
) -> None:
    from llama_index.core.base.llms.types import ChatMessage, ChatResponse

    from llamaindex_dashscope_ws import DashScope

    llm = DashScope(api_key="sk-emu-main")
    client, transport = replay
    monkeypatch.setattr(DashScope, "_get_client", lambda self: client)

    def make_run(n: int) -> Callable[[], list[ChatResponse]]:
        chunks = _chunks(n)

        def run() -> list[ChatResponse]:
            transport.chunks = chunks
            return list(llm.stream_chat([ChatMessage(role="user", content="hi")]))

        return run

    responses = make_run(100)()
    last = responses[-1]
    assert "".join(r.delta or "" for r in responses) == _expected_text(100)
    assert last.message.content == _expected_text(100)
    assert responses[50].message.content == _expected_text(51)  # an older snapshot, read late
    assert last.message.additional_kwargs["reasoning_content"] == "think"
    assert last.message.additional_kwargs["tool_calls"][0]["function"] == {
        "name": "add",
        "arguments": '{"a": 1}',
    }
    assert llm.get_tool_calls_from_response(last)[0].tool_kwargs == {"a": 1}
    assert last.additional_kwargs["usage"]["total_tokens"] == 105
    growth = _growth(make_run)
    assert growth < LINEAR_BOUND, growth

"""ChatAccumulator: folding deltas into one ChatResult."""

from __future__ import annotations

import pytest

from dashscope_ws import accumulate
from dashscope_ws.accumulate import ChatAccumulator
from dashscope_ws.types import ChatChunk, ToolCallDelta, Usage


def fold(*chunks: ChatChunk) -> ChatAccumulator:
    accumulator = ChatAccumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    return accumulator


def test_empty_accumulator() -> None:
    result = ChatAccumulator().result()
    assert (result.text, result.tool_calls, result.finish_reason) == ("", (), None)
    assert result.usage == Usage()


def test_text_reasoning_and_metadata() -> None:
    result = fold(
        ChatChunk(reasoning="think ", request_id="r1", model="qwen3-max"),
        ChatChunk(reasoning="hard", usage=Usage(1, 1, 2)),
        ChatChunk(text="你好", usage=Usage(1, 2, 3)),
        ChatChunk(text="！", finish_reason="stop", usage=Usage(1, 3, 4), raw={"last": True}),
    ).result()
    assert (result.text, result.reasoning) == ("你好！", "think hard")
    assert result.finish_reason == "stop"
    assert result.usage == Usage(1, 3, 4)  # the last cumulative usage, not a sum
    assert (result.request_id, result.model) == ("r1", "qwen3-max")
    assert result.raw == {"last": True}


def test_usage_and_finish_reason_kept_when_later_chunks_lack_them() -> None:
    result = fold(
        ChatChunk(text="a", usage=Usage(5, 1, 6), finish_reason="length"),
        ChatChunk(text=""),
    ).result()
    assert result.usage.total_tokens == 6
    assert result.finish_reason == "length"


def test_tool_calls_merged_by_index_and_sorted() -> None:
    result = fold(
        ChatChunk(tool_calls=(ToolCallDelta(1, id="call_b", name="get_", arguments='{"t'),)),
        ChatChunk(tool_calls=(ToolCallDelta(0, id="call_a", name="weather", arguments=""),)),
        ChatChunk(
            tool_calls=(
                ToolCallDelta(1, id="", name="time", arguments='z": 1}'),
                ToolCallDelta(0, arguments='{"city": "杭州"}'),
            )
        ),
        ChatChunk(tool_calls=(ToolCallDelta(0, id="call_a2"),), finish_reason="tool_calls"),
    ).result()
    assert [(c.index, c.id, c.name, c.arguments) for c in result.tool_calls] == [
        (0, "call_a2", "weather", '{"city": "杭州"}'),
        (1, "call_b", "get_time", '{"tz": 1}'),
    ]
    assert result.finish_reason == "tool_calls"


def test_result_is_a_snapshot_mid_stream() -> None:
    accumulator = fold(ChatChunk(text="a"))
    assert accumulator.result().text == "a"
    accumulator.add(ChatChunk(text="b"))
    assert accumulator.result().text == "ab"


def test_repeated_result_without_new_chunks_is_cached() -> None:
    accumulator = fold(ChatChunk(text="a"), ChatChunk(tool_calls=(ToolCallDelta(0, name="f"),)))
    first = accumulator.result()
    assert accumulator.result() is first  # no rebuild while nothing new arrived
    accumulator.add(ChatChunk(text="b"))
    second = accumulator.result()
    assert second is not first
    assert (first.text, second.text) == ("a", "ab")  # earlier snapshots stay as they were
    assert second.tool_calls == first.tool_calls


def _pieces_joined(monkeypatch: pytest.MonkeyPatch, chunks: int) -> int:
    """Fold ``chunks`` text and tool-argument deltas, reading result() after every chunk;
    return how many pieces the accumulator joined in total (its work, in string pieces)."""
    joined = 0

    def counting_join(pieces: list[str]) -> str:
        nonlocal joined
        joined += len(pieces)
        return "".join(pieces)

    monkeypatch.setattr(accumulate, "_join", counting_join)
    accumulator = ChatAccumulator()
    for i in range(chunks):
        accumulator.add(
            ChatChunk(
                text="x",
                tool_calls=(ToolCallDelta(i % 2, name="f" if i < 2 else None, arguments="y"),),
            )
        )
        accumulator.result()
    result = accumulator.result()
    assert len(result.text) == chunks
    assert sum(len(call.arguments) for call in result.tool_calls) == chunks
    return joined


def test_folding_is_linear_in_the_number_of_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    small = _pieces_joined(monkeypatch, 8_000)
    large = _pieces_joined(monkeypatch, 32_000)
    # Re-joining everything on each result() would make 4x the chunks cost 16x.
    assert large / small < 6
    assert large <= 4 * 32_000  # each text/argument/name piece is joined about once


def test_extend_folds_like_add_one_by_one() -> None:
    chunks = [
        ChatChunk(reasoning="r", request_id="r1", model="m", raw={"n": 1}),
        ChatChunk(tool_calls=(ToolCallDelta(0, id="c1", name="f", arguments='{"a'),)),
        ChatChunk(text="x", usage=Usage(1, 1, 2), tool_calls=(ToolCallDelta(0, arguments="}"),)),
        ChatChunk(text="y", finish_reason="stop", usage=Usage(1, 2, 3), raw={"n": 2}),
    ]
    extended = ChatAccumulator()
    extended.extend(chunks[:1])
    extended.extend(chunks[1:])
    assert extended.result() == fold(*chunks).result()
    before = extended.result()
    extended.extend([])  # nothing new: the cached result stays
    assert extended.result() is before

"""ChatAccumulator: folding deltas into one ChatResult."""

from __future__ import annotations

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

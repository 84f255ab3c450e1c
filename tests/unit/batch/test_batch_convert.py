"""Pure conversions between the native shapes and batch lines' compatible shapes."""

from __future__ import annotations

from dashscope_ws.batch import (
    BatchHandle,
    BatchLineError,
    BatchResult,
    BatchRowError,
    chat_result,
    compatible_message,
    compatible_usage,
)


def test_native_parts_become_compatible_parts_and_other_fields_stay() -> None:
    native = {
        "role": "user",
        "content": [{"text": "look"}, {"image": "https://x/cat.png"}, {"audio": "a.wav"}],
    }
    out = compatible_message(native)
    assert out["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "https://x/cat.png"}},
        {"audio": "a.wav"},  # passed as it is; the service reports the row if it refuses it
    ]
    assert native["content"][0] == {"text": "look"}  # the input is not mutated
    tool = {"role": "tool", "content": "42", "tool_call_id": "call_1"}
    assert compatible_message(tool) == tool


def test_compatible_usage_maps_names_and_keeps_the_wire_object() -> None:
    raw = {
        "prompt_tokens": 7,
        "completion_tokens": 5,
        "total_tokens": 12,
        "prompt_tokens_details": {"cached_tokens": 3},
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    usage = compatible_usage(raw)
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (7, 5, 12)
    assert (usage.cached_tokens, usage.reasoning_tokens) == (3, 2)
    assert usage.raw is raw
    assert compatible_usage(None).total_tokens is None


def test_chat_result_of_a_row_with_tool_calls() -> None:
    body = {
        "id": "chatcmpl-1",
        "model": "qwen-max",
        "choices": [
            {
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }
    result = chat_result(BatchResult(0, "0", body), "qwen-plus")
    assert result.model == "qwen-max"  # the row's model wins over the caller's default
    assert result.request_id == "chatcmpl-1"
    assert result.finish_reason == "tool_calls"
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("weather", '{"city": "Paris"}')]
    assert result.usage.total_tokens == 7


class _NoJobs:
    """Stands in for BatchJobs: ``results`` returns canned rows."""

    def __init__(self, rows: list[BatchResult]) -> None:
        self.rows = rows

    def results(self, run: object) -> list[BatchResult]:
        return self.rows


def test_a_malformed_answer_is_reported_in_place_not_raised_or_dropped() -> None:
    rows = [
        BatchResult(0, "0", {"choices": []}),  # 200 but no choices
        BatchResult(1, "1", None, BatchLineError("Pending", "batch b is in_progress")),
        BatchResult(2, "2", {"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}),
    ]
    handle = BatchHandle(_NoJobs(rows), object(), lambda row: chat_result(row, "m").text)  # type: ignore[arg-type]
    out = handle.results()
    assert isinstance(out[0], BatchRowError)
    assert out[0].code == "InvalidResponse"
    assert isinstance(out[1], BatchRowError)
    assert (out[1].index, out[1].code) == (1, "Pending")
    assert out[2] == "hi"

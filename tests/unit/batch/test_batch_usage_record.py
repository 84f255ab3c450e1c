"""``BatchJobs.results`` books each answered row's usage once, and none for a row without it."""

from __future__ import annotations

from types import SimpleNamespace

from dashscope_ws.batch import BatchJobs, BatchResult, BatchRun
from dashscope_ws.batch.lines import BatchState
from dashscope_ws.config import ClientConfig
from dashscope_ws.usage import UsageTracker


def test_rows_book_their_usage_once_and_rows_without_usage_book_nothing() -> None:
    tracker = UsageTracker()
    client = SimpleNamespace(
        config=ClientConfig.resolve(api_key="sk-x", base_url="http://127.0.0.1:1"),
        usage_tracker=tracker,
    )
    jobs = BatchJobs(client)  # type: ignore[arg-type]
    run = BatchRun(BatchState(endpoint="/v1/chat/completions", workspace="ws-b"))
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    rows = [
        BatchResult(0, "a", {"model": "qwen-plus", "usage": usage}),
        BatchResult(1, "b", {"model": "qwen-plus"}),  # answered, but no usage reported
        BatchResult(2, "c"),  # no answer at all
    ]
    jobs._record(run, rows)
    jobs._record(run, rows)  # results read again: nothing is booked twice
    report = tracker.to_dict()["rows"]
    assert [(r["workspace"], r["model"]) for r in report] == [("ws-b", "qwen-plus")]
    assert report[0]["by_kind"] == {"batch": 1}
    assert (report[0]["input_tokens"], report[0]["output_tokens"]) == (5, 2)

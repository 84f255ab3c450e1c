"""Pure batch-file logic: lines, splitting, result mapping, state files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashscope_ws.batch import (
    BatchPart,
    BatchState,
    RequestLine,
    chat_lines,
    embedding_lines,
    map_results,
    split_lines,
)


def test_chat_lines_carry_parameters_and_converted_messages() -> None:
    class Msg:
        def __init__(self, text: str) -> None:
            self.text = text

    lines = list(
        chat_lines(
            [[Msg("a")], [Msg("b")]],
            model="qwen-plus",
            convert=lambda m: {"role": "user", "content": m.text},
            temperature=0.2,
            max_tokens=None,
        )
    )
    assert [line.custom_id for line in lines] == ["0", "1"]
    assert lines[1].body == {
        "model": "qwen-plus",
        "messages": [{"role": "user", "content": "b"}],
        "temperature": 0.2,
    }
    assert lines[0].url == "/v1/chat/completions"
    with pytest.raises(TypeError, match="convert="):
        list(chat_lines([[Msg("a")]], model="qwen-plus"))


def test_embedding_lines_reject_non_text() -> None:
    with pytest.raises(TypeError):
        list(embedding_lines(["a", 3]))  # type: ignore[list-item]


def test_split_respects_line_count_bytes_and_model() -> None:
    lines = [
        RequestLine(str(i), "/v1/embeddings", {"model": "m", "input": "x" * 10}) for i in range(5)
    ]
    size = len(lines[0].encode())
    assert [ids for ids, _ in split_lines(lines, max_lines=2)] == [["0", "1"], ["2", "3"], ["4"]]
    assert [ids for ids, _ in split_lines(lines, max_bytes=size * 3)] == [
        ["0", "1", "2"],
        ["3", "4"],
    ]
    mixed = [*lines[:2], RequestLine("9", "/v1/embeddings", {"model": "other", "input": "y"})]
    files = list(split_lines(mixed))
    assert [ids for ids, _ in files] == [["0", "1"], ["9"]]
    assert [json.loads(x)["custom_id"] for x in files[0][1].splitlines()] == ["0", "1"]
    with pytest.raises(ValueError, match="'0'"):
        list(split_lines(lines, max_line_bytes=size - 1))


def test_map_results_keeps_order_and_reports_every_failure() -> None:
    output = (
        b'{"custom_id":"2","response":{"status_code":200,"body":{"data":[{"embedding":[1.0]}]}}}\n'
        b'{"custom_id":"0","response":{"status_code":200,"body":{"choices":[{"message":{"content":"hi"}}]}},"error":null}\n'
    )
    errors = (
        b'{"custom_id":"1","response":{"status_code":403,"request_id":"r1","body":{}},'
        b'"error":{"code":"Model.AccessDenied","message":"no"}}\n'
    )
    rows = map_results(["0", "1", "2", "3"], [output, errors])
    assert [r.index for r in rows] == [0, 1, 2, 3]
    assert rows[0].text == "hi"
    assert rows[2].embedding == [1.0]
    assert rows[1].error is not None
    assert (rows[1].error.code, rows[1].error.status, rows[1].error.request_id) == (
        "Model.AccessDenied", 403, "r1",
    )  # fmt: skip
    assert rows[3].error is not None
    assert rows[3].error.code == "MissingResult"
    assert rows[1].text is None
    assert not rows[3].ok


def test_status_code_alone_marks_a_failure() -> None:
    line = b'{"custom_id":"0","response":{"status_code":500,"body":{"error":{"message":"boom"}}}}\n'
    (row,) = map_results(["0"], [line])
    assert row.error is not None
    assert row.error.message == "boom"
    assert row.error.status == 500


def test_state_round_trips_through_an_atomic_file(tmp_path: Path) -> None:
    path = tmp_path / "job.json"
    state = BatchState("/v1/embeddings", [BatchPart("f1", "b1", ["0", "1"])], "ws", str(path))
    state.save()
    assert BatchState.load(path) == state
    assert [p.name for p in tmp_path.iterdir()] == ["job.json"]  # no temporary left behind
    BatchState("/v1/embeddings", []).save()  # no path: nothing written, no error

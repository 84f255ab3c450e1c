"""Shape-mutation fuzz (issue 16 item 2): mutate valid answers, require a correct result
or a typed ``DashScopeError``, never ``AttributeError``/``TypeError``/``KeyError``/...

Each valid answer is a real wire shape (protocol reference §1.4, §2, §7, §8). A mutation
deletes a key, replaces a value (null, string, number, bool, list, object, NaN,
infinity), wraps a value in a list, and/or truncates the serialised body. A parse that
succeeds must return a well-typed, self-consistent result.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashscope_ws.errors import DashScopeError
from dashscope_ws.protocol import parse_chat_response
from dashscope_ws.retrieval import parse_embedding_response, parse_rerank_response
from dashscope_ws.sse import ChatStreamDecoder
from dashscope_ws.types import ChatChunk, ChatResult, ToolCall, ToolCallDelta, Usage

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CHAT_ANSWERS: list[dict[str, Any]] = [
    {  # tool call with content (real, protocol reference §1.4)
        "output": {
            "choices": [
                {
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": "首先",
                        "reasoning_content": "think",
                        "tool_calls": [
                            {
                                "function": {"name": "generate_key", "arguments": "{}"},
                                "index": 0,
                                "id": "call_f938",
                                "type": "function",
                            }
                        ],
                    },
                }
            ]
        },
        "usage": {
            "input_tokens": 1726,
            "output_tokens": 57,
            "prompt_tokens_details": {"cached_tokens": 0},
            "total_tokens": 1783,
        },
        "request_id": "1044d256",
    },
    {  # multimodal content list (real, [ERDA])
        "output": {
            "choices": [
                {
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": [{"text": "Hi"}]},
                }
            ]
        },
        "usage": {"output_tokens": 10, "input_tokens": 92},
        "request_id": "cc7bcb16",
    },
    {"output": {"text": "我是", "finish_reason": "stop"}, "usage": {}, "request_id": "r-text"},
    {  # legacy function_call
        "output": {
            "choices": [
                {
                    "finish_reason": "function_call",
                    "message": {"content": "", "function_call": {"name": "f", "arguments": "{}"}},
                }
            ]
        },
        "request_id": "r-legacy",
    },
]

STREAM_EVENTS: list[dict[str, Any]] = [
    {
        "output": {
            "choices": [
                {"message": {"content": "I am", "role": "assistant"}, "finish_reason": "null"}
            ]
        },
        "usage": {"total_tokens": 27, "output_tokens": 1, "input_tokens": 26},
        "request_id": "d30a9914",
    },
    {
        "output": {
            "choices": [
                {
                    "message": {
                        "content": "",
                        "reasoning_content": "hm",
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_a",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": '{"c'},
                            }
                        ],
                    },
                    "finish_reason": "null",
                }
            ]
        },
        "request_id": "d30a9914",
    },
    {
        "output": {
            "choices": [
                {
                    "message": {"content": [{"text": "!"}], "role": "assistant"},
                    "finish_reason": "stop",
                }
            ]
        },
        "usage": {"total_tokens": 30, "output_tokens": 4, "input_tokens": 26},
        "request_id": "d30a9914",
    },
]

EMBEDDING_ANSWER: dict[str, Any] = {
    "output": {
        "embeddings": [
            {"text_index": 0, "embedding": [0.1, -0.2, 0.3]},
            {"text_index": 1, "embedding": [0.4, 0.5, -0.6]},
        ]
    },
    "usage": {"total_tokens": 4},
    "request_id": "r-emb",
}

RERANK_ANSWER: dict[str, Any] = {
    "output": {
        "results": [
            {"index": 1, "relevance_score": 0.98, "document": {"text": "b"}},
            {"index": 0, "relevance_score": 0.87, "document": {"text": "a"}},
        ]
    },
    "usage": {"input_tokens": 1279},
    "request_id": "r-rerank",
}

REPLACEMENTS = [
    None, "", "x", "null", 0, 1, -1, 2**70, 1.5, True, False, [], [None], ["x"], [1, 2],
    {}, {"text": "x"}, {"name": 1}, float("nan"), float("inf"), -float("inf"),
]  # fmt: skip


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _mutate(draw: st.DrawFn, document: Any) -> Any:
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(list(_paths(document))))
        operation = draw(st.sampled_from(["delete", "replace", "wrap"]))
        if not path:
            replacement = copy.deepcopy(draw(st.sampled_from(REPLACEMENTS)))
            document = [document] if operation == "wrap" else replacement
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        if operation == "delete":
            del parent[key]
        elif operation == "wrap":
            parent[key] = [parent[key]]
        else:
            parent[key] = copy.deepcopy(draw(st.sampled_from(REPLACEMENTS)))
    return document


@st.composite
def mutated_body(draw: st.DrawFn, answers: list[dict[str, Any]]) -> bytes:
    document = _mutate(draw, copy.deepcopy(draw(st.sampled_from(answers))))
    body = json.dumps(document, ensure_ascii=False).encode()
    if draw(st.integers(min_value=0, max_value=9)) == 0:  # sometimes cut the body short
        body = body[: draw(st.integers(min_value=0, max_value=len(body)))]
    return body


def _check_usage(usage: Usage) -> None:
    for value in (usage.input_tokens, usage.output_tokens, usage.total_tokens):
        assert value is None or type(value) is int
    assert isinstance(usage.raw, dict)


def _check_chat(result: ChatResult) -> None:
    assert isinstance(result.text, str)
    assert isinstance(result.reasoning, str)
    assert result.finish_reason is None or isinstance(result.finish_reason, str)
    assert result.request_id is None or isinstance(result.request_id, str)
    for call in result.tool_calls:
        assert isinstance(call, ToolCall)
        assert isinstance(call.id, str)
        assert isinstance(call.name, str)
        assert call.name
        assert isinstance(call.arguments, str)
        assert type(call.index) is int
    assert result.text or result.reasoning or result.tool_calls or result.finish_reason
    _check_usage(result.usage)


def _check_chunk(chunk: ChatChunk) -> None:
    assert isinstance(chunk.text, str)
    assert isinstance(chunk.reasoning, str)
    assert chunk.request_id is None or isinstance(chunk.request_id, str)
    for delta in chunk.tool_calls:
        assert isinstance(delta, ToolCallDelta)
        assert type(delta.index) is int
        for value in (delta.id, delta.name, delta.arguments):
            assert value is None or isinstance(value, str)
    if chunk.usage is not None:
        _check_usage(chunk.usage)


@FUZZ
@given(body=mutated_body(CHAT_ANSWERS))
def test_chat_parser_returns_a_valid_result_or_a_typed_error(body: bytes) -> None:
    try:
        result = parse_chat_response(200, {}, body, model="qwen-plus")
    except DashScopeError:
        return
    _check_chat(result)


@FUZZ
@given(data=st.data())
def test_stream_decoder_returns_valid_chunks_or_a_typed_error(data: st.DataObject) -> None:
    events = [copy.deepcopy(event) for event in STREAM_EVENTS]
    bad = data.draw(st.integers(min_value=0, max_value=len(events) - 1))
    events[bad] = _mutate(data.draw, events[bad])
    stream = b"".join(
        b"id:%d\nevent:result\n:HTTP_STATUS/200\ndata:" % i
        + json.dumps(event, ensure_ascii=False).encode()
        + b"\n\n"
        for i, event in enumerate(events, 1)
    )
    if data.draw(st.integers(min_value=0, max_value=9)) == 0:
        stream = stream[: data.draw(st.integers(min_value=0, max_value=len(stream)))]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    decoder = ChatStreamDecoder(model="qwen-plus")
    chunks: list[ChatChunk] = []
    try:
        for piece in pieces:
            chunks.extend(decoder.feed(piece))
        chunks.extend(decoder.close())
    except DashScopeError:
        pass
    for chunk in chunks:
        _check_chunk(chunk)


@FUZZ
@given(body=mutated_body([EMBEDDING_ANSWER]), dimension=st.sampled_from([None, 3]))
def test_embedding_parser_returns_valid_vectors_or_a_typed_error(
    body: bytes, dimension: int | None
) -> None:
    try:
        batch = parse_embedding_response(200, {}, body, count=2, dimension=dimension)
    except DashScopeError:
        return
    assert len(batch.embeddings) == 2 or (not batch.embeddings and len(batch.sparse) == 2)
    lengths = {len(vector) for vector in batch.embeddings}
    assert len(lengths) <= 1
    assert 0 not in lengths
    for vector in batch.embeddings:
        assert all(type(x) is float and math.isfinite(x) for x in vector)
    if dimension is not None and batch.embeddings:
        assert lengths == {dimension}


@FUZZ
@given(body=mutated_body([RERANK_ANSWER]), top_n=st.sampled_from([None, 1, 2]))
def test_rerank_parser_returns_valid_results_or_a_typed_error(
    body: bytes, top_n: int | None
) -> None:
    documents = ["a", "b"]
    try:
        result = parse_rerank_response(
            200, {}, body, model="gte-rerank-v2", documents=documents, top_n=top_n
        )
    except DashScopeError:
        return
    indices = [item.index for item in result.results]
    assert indices
    assert len(set(indices)) == len(indices)
    assert all(type(i) is int and 0 <= i < len(documents) for i in indices)
    assert len(indices) <= (top_n or len(documents))
    scores = [item.relevance_score for item in result.results]
    assert all(type(s) is float and math.isfinite(s) for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(item.document, str) for item in result.results)

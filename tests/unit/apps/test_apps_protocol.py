"""Pure app and knowledge-base wire code: requests built, answers parsed, streams decoded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dashscope_ws.apps import (
    AppAccumulator,
    AppStreamDecoder,
    build_app_request,
    parse_app_response,
)
from dashscope_ws.config import ClientConfig
from dashscope_ws.errors import (
    APIStatusError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    StreamProtocolError,
)
from dashscope_ws.knowledge import (
    build_pipeline_lookup_request,
    build_retrieve_request,
    parse_pipeline_lookup,
    parse_retrieve_response,
)

BASE = "https://dashscope.aliyuncs.com/api/v1"


def config(**kwargs: Any) -> ClientConfig:
    return ClientConfig.resolve(api_key="sk-test", base_url=BASE, **kwargs)


def dump(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def event(payload: Any, number: int = 1) -> bytes:
    return f"id:{number}\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(payload)}\n\n".encode()


# ------------------------------------------------------------------ requests


def test_app_request_carries_every_parameter_where_the_sdk_puts_it() -> None:
    request = build_app_request(
        config(),
        "0123abcd",
        prompt="Hi",
        session_id="s1",
        memory_id="m1",
        biz_params={"user_defined_params": {"p": {"city": "Hangzhou"}}},
        rag_options={"pipeline_ids": ["idx1"]},
        has_thoughts=True,
        image_list=["https://img/1.png"],
        file_list=["https://f/1.pdf"],
        doc_tag_codes=["t1"],
        doc_reference_type="indexed",
        incremental_output=True,
        parameters={"temperature": 0.3, "flow_stream_mode": "message_format"},
        workspace="ws-team",
    )
    assert request.method == "POST"
    assert request.url == BASE + "/apps/0123abcd/completion"
    assert request.headers["X-DashScope-WorkSpace"] == "ws-team"
    # The key is not a header of the built request: the client fills ``api_key`` in and the
    # transport writes ``Authorization`` (checked end to end by the emulator in test_apps_client).
    assert "Authorization" not in request.headers
    assert request.api_key is None
    assert request.json == {
        "model": "",
        "input": {
            "prompt": "Hi",
            "session_id": "s1",
            "memory_id": "m1",
            "biz_params": {"user_defined_params": {"p": {"city": "Hangzhou"}}},
            "image_list": ["https://img/1.png"],
            "file_list": ["https://f/1.pdf"],
            "doc_tag_codes": ["t1"],
            "doc_reference_type": "indexed",
        },
        "parameters": {
            "temperature": 0.3,
            "flow_stream_mode": "message_format",
            "has_thoughts": True,
            "rag_options": {"pipeline_ids": ["idx1"]},
            "incremental_output": True,
        },
    }


def test_app_request_messages_plus_prompt_and_streaming_headers() -> None:
    request = build_app_request(
        config(), "app1", messages=[{"role": "user", "content": "a"}], prompt="b", stream=True
    )
    assert request.json is not None
    assert request.json["input"] == {
        "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    }
    assert request.json["parameters"] == {}
    assert request.headers["X-DashScope-SSE"] == "enable"
    assert request.headers["Accept"] == "text/event-stream"
    assert "X-DashScope-WorkSpace" not in request.headers


def test_app_request_workspace_host_mode() -> None:
    request = build_app_request(
        ClientConfig.resolve(
            api_key="sk-test", workspace="ws-a", workspace_in_host=True, region="cn-beijing"
        ),
        "app1",
        prompt="x",
        workspace="ws-b",
    )
    assert request.url == "https://ws-b.cn-beijing.maas.aliyuncs.com/api/v1/apps/app1/completion"


@pytest.mark.parametrize("app_id", ["", "../models", "a/b", "a?b=1", "a b", "-x"])
def test_app_ids_that_could_change_the_url_are_refused(app_id: str) -> None:
    with pytest.raises(ValueError, match="app_id"):
        build_app_request(config(), app_id, prompt="x")


def test_app_request_needs_a_prompt_or_messages() -> None:
    with pytest.raises(ValueError, match="prompt"):
        build_app_request(config(), "app1")


# ------------------------------------------------------------------ answers

FULL = {
    "output": {
        "finish_reason": "stop",
        "session_id": "s9",
        "text": "The X1 costs 2999 yuan.",
        "reject_status": False,
        "thoughts": [
            {
                "thought": "search",
                "action_type": "api",
                "action_name": "searchDocument",
                "action": "searchDocument",
                "action_input_stream": "price",
                "action_input": {"query": "price"},
                "observation": "[...]",
            },
            {"action_type": "response", "response": "The X1 costs 2999 yuan."},
        ],
        "doc_references": [
            {
                "index_id": "1",
                "title": "Bailian Phone",
                "doc_id": "file_7c0e",
                "doc_name": "Bailian Phone Product Introduction",
                "doc_url": None,
                "text": "[Document Name]:Bailian Phone",
                "biz_id": None,
                "images": ["https://img/x1.png"],
                "page_number": [0, "3"],
            }
        ],
        "workflow_message": {
            "node_status": "executing",
            "node_type": "End",
            "node_msg_seq_id": 1,
            "node_name": "结束",
            "message": {"content": "我是通义千问", "role": "assistant"},
            "node_is_completed": "false",
            "node_id": "End_7w1V",
        },
    },
    "usage": {
        "models": [
            {"output_tokens": 36, "model_id": "qwen-plus", "input_tokens": 74},
            {"output_tokens": 2, "model_id": "qwen-turbo", "input_tokens": 5},
        ]
    },
    "request_id": "f97ee37d",
}


def test_full_answer_is_typed() -> None:
    result = parse_app_response(200, {}, dump(FULL))
    assert result.text == "The X1 costs 2999 yuan."
    assert result.session_id == "s9"
    assert result.finish_reason == "stop"
    assert result.request_id == "f97ee37d"
    assert [t.action_type for t in result.thoughts] == ["api", "response"]
    assert result.thoughts[0].action_input == {"query": "price"}
    assert result.thoughts[1].response == "The X1 costs 2999 yuan."
    [ref] = result.doc_references
    assert (ref.index_id, ref.title, ref.doc_id, ref.doc_url) == (
        "1",
        "Bailian Phone",
        "file_7c0e",
        None,
    )
    assert ref.doc_name == "Bailian Phone Product Introduction"
    assert ref.images == ("https://img/x1.png",)
    assert ref.page_number == (0, 3)
    assert ref.reference_index == 1
    flow = result.workflow_message
    assert flow is not None
    assert (flow.node_id, flow.node_name, flow.node_type) == ("End_7w1V", "结束", "End")
    assert flow.node_is_completed is False
    assert (flow.role, flow.content, flow.node_msg_seq_id) == ("assistant", "我是通义千问", 1)
    assert [(u.model_id, u.input_tokens, u.output_tokens) for u in result.usage] == [
        ("qwen-plus", 74, 36),
        ("qwen-turbo", 5, 2),
    ]
    assert result.raw["output"]["reject_status"] is False


def test_minimal_answer_is_tolerated() -> None:
    result = parse_app_response(200, {}, dump({"output": {"text": None}, "request_id": "r"}))
    assert (result.text, result.thoughts, result.doc_references, result.usage) == ("", (), (), ())
    assert result.workflow_message is None
    assert result.finish_reason is None


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "InvalidAppId", BadRequestError),
        (403, "App.AccessDenied", PermissionDeniedError),
        (400, "FlowNotPublished", BadRequestError),
    ],
)
def test_app_errors_are_typed_with_a_hint(status: int, code: str, cls: type[Exception]) -> None:
    body = dump({"code": code, "message": "nope", "request_id": "r1"})
    with pytest.raises(cls) as caught:
        parse_app_response(status, {}, body)
    error = caught.value
    assert isinstance(error, APIStatusError)
    assert error.code == code
    assert error.request_id == "r1"
    assert error.hint
    assert "Hint:" in str(error)


# ------------------------------------------------------------------ streams


def _chunk_payload(text: str, finish: str = "null", **output: Any) -> dict[str, Any]:
    return {"output": {"session_id": "s1", "finish_reason": finish, "text": text, **output}}


def test_cumulative_stream_becomes_deltas_across_arbitrary_byte_splits() -> None:
    raw = b"".join(
        event(p, i)
        for i, p in enumerate(
            [
                _chunk_payload("Hel"),
                _chunk_payload("Hello wo"),
                _chunk_payload("Hello world", "stop"),
            ],
            start=1,
        )
    )
    for size in (1, 7, len(raw)):
        decoder = AppStreamDecoder(incremental=False)
        chunks = []
        for start in range(0, len(raw), size):
            chunks.extend(decoder.feed(raw[start : start + size]))
        chunks.extend(decoder.close())
        assert [c.text for c in chunks] == ["Hel", "lo wo", "rld"]
        assert chunks[-1].finish_reason == "stop"
        assert chunks[0].finish_reason is None


def test_incremental_stream_passes_deltas_through_and_folds() -> None:
    payloads = [
        _chunk_payload("Hel"),
        _chunk_payload("lo", workflow_message={"node_id": "n", "node_is_completed": False}),
        _chunk_payload(
            "",
            "stop",
            doc_references=[{"doc_id": "d1", "text": "t"}],
            thoughts=[{"action_type": "response"}],
        )
        | {
            "usage": {"models": [{"model_id": "qwen-plus", "input_tokens": 1, "output_tokens": 2}]},
            "request_id": "r",
        },
    ]
    decoder = AppStreamDecoder(incremental=True)
    chunks = decoder.feed(b"".join(event(p) for p in payloads)) + decoder.close()
    assert [c.text for c in chunks] == ["Hel", "lo", ""]
    accumulator = AppAccumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    result = accumulator.result()
    assert result.text == "Hello"
    assert result.session_id == "s1"
    assert result.finish_reason == "stop"
    assert [r.doc_id for r in result.doc_references] == ["d1"]
    assert result.workflow_message is not None
    assert result.workflow_message.node_id == "n"
    assert result.usage[0].output_tokens == 2
    assert result.request_id == "r"


def test_cumulative_snapshot_that_restarts_is_a_whole_delta() -> None:
    decoder = AppStreamDecoder()
    chunks = decoder.feed(event(_chunk_payload("abc")) + event(_chunk_payload("xyz", "stop")))
    assert [c.text for c in chunks] == ["abc", "xyz"]


def test_stream_without_final_event_raises_at_close() -> None:
    decoder = AppStreamDecoder()
    assert [c.text for c in decoder.feed(event(_chunk_payload("partial")))] == ["partial"]
    with pytest.raises(StreamProtocolError):
        decoder.close()


def test_error_event_raises_typed_error_after_earlier_chunks() -> None:
    detail = {"code": "App.AccessDenied", "message": "App access denied.", "request_id": "r2"}
    error = f"event:error\n:HTTP_STATUS/403\ndata:{json.dumps(detail)}\n\n".encode()
    decoder = AppStreamDecoder()
    chunks = decoder.feed(event(_chunk_payload("a")) + error)
    assert [c.text for c in chunks] == ["a"]
    with pytest.raises(PermissionDeniedError) as caught:
        decoder.close()
    assert caught.value.status_code == 403
    assert caught.value.request_id == "r2"


def test_invalid_json_in_stream_is_a_protocol_error() -> None:
    with pytest.raises(StreamProtocolError):
        AppStreamDecoder().feed(b"data:{not json\n\n")


# ------------------------------------------------------------------ knowledge bases


def test_retrieve_request_shape_and_top_k_shorthand() -> None:
    request = build_retrieve_request(
        config(),
        "pipe 1",
        "phone price",
        top_k=3,
        rerank_model="gte-rerank-hybrid",
        rerank_min_score=0.2,
        enable_rewrite=True,
        rewrite_model="conv-rewrite-qwen-1.8b",
        workspace="ws-kb",
    )
    assert request.url == BASE + "/indices/pipeline/pipe%201/retrieve"
    assert request.headers["X-DashScope-WorkSpace"] == "ws-kb"
    assert request.json == {
        "query": "phone price",
        "dense_similarity_top_k": 3,
        "sparse_similarity_top_k": 3,
        "enable_rewrite": True,
        "rewrite": [{"model_name": "conv-rewrite-qwen-1.8b", "class_name": "DashScopeTextRewrite"}],
        "rerank": [{"model_name": "gte-rerank-hybrid"}],
        "rerank_min_score": 0.2,
        "rerank_top_n": 3,
    }
    plain = build_retrieve_request(
        config(),
        "p",
        "q",
        dense_similarity_top_k=7,
        sparse_similarity_top_k=2,
        enable_reranking=False,
    )
    assert plain.json == {
        "query": "q",
        "dense_similarity_top_k": 7,
        "sparse_similarity_top_k": 2,
        "enable_reranking": False,
    }


@pytest.mark.parametrize("kwargs", [{"query": ""}, {"top_k": 0}, {"rerank_top_n": -1}])
def test_retrieve_request_rejects_bad_input(kwargs: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"query": "q"} | kwargs
    with pytest.raises(ValueError, match="must be"):
        build_retrieve_request(config(), "p", **arguments)


def test_retrieve_answer_is_typed_and_tolerant() -> None:
    body = {
        "code": "Success",
        "nodes": [
            {
                "node": {"id_": "n1", "text": "X1 costs 2999", "metadata": {"doc_name": "X1"}},
                "score": 0.9,
            },
            {"text": "flat node", "score": "bad"},
            "junk",
        ],
    }
    nodes = parse_retrieve_response(200, {}, dump(body))
    assert [(n.text, n.score, n.node_id) for n in nodes] == [
        ("X1 costs 2999", 0.9, "n1"),
        ("flat node", None, None),
    ]
    assert nodes[0].metadata == {"doc_name": "X1"}


def test_business_failure_under_http_200_raises() -> None:
    body = dump({"code": "Index.NotExist", "message": "no index", "request_id": "r5"})
    with pytest.raises(BadRequestError) as caught:
        parse_retrieve_response(200, {}, body)
    assert caught.value.code == "Index.NotExist"
    assert caught.value.request_id == "r5"


def test_pipeline_lookup_round_trip() -> None:
    request = build_pipeline_lookup_request(config(), "my kb&x", workspace="ws-kb")
    assert request.method == "GET"
    assert request.json is None
    assert request.url == BASE + "/indices/pipeline_simple?pipeline_name=my+kb%26x"
    assert parse_pipeline_lookup(200, {}, dump({"code": "Success", "id": "pid-1"})) == "pid-1"
    with pytest.raises(NotFoundError):
        parse_pipeline_lookup(200, {}, dump({"code": "Success"}))

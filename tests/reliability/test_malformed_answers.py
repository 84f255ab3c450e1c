"""Issue 16 items 1-2: a 200 answer of the wrong shape raises ``APIResponseValidationError``.

Every shape below used to come back as an empty/wrong result or crash with an untyped
``AttributeError``/``TypeError``. Parsers are checked directly, then once end to end
through ``DashScopeClient`` (sync, async, stream) against a loopback server that sends the
canned answer, which also proves the error is never retried.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from dashscope_ws import DashScopeClient
from dashscope_ws.errors import APIResponseValidationError, StreamProtocolError
from dashscope_ws.protocol import parse_chat_response
from dashscope_ws.retrieval import parse_embedding_response, parse_rerank_response
from dashscope_ws.sse import ChatStreamDecoder

RID = "rid-malformed-1"


def _body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def _choice(message: Any, finish: Any = "stop") -> dict[str, Any]:
    return {
        "output": {"choices": [{"message": message, "finish_reason": finish}]},
        "request_id": RID,
    }


# --------------------------------------------------------------------------- chat

MALFORMED_CHAT: dict[str, Any] = {
    "empty-object": {},
    "only-request-id": {"request_id": RID},
    "output-null": {"output": None, "request_id": RID},
    "output-list": {"output": [], "request_id": RID},
    "output-without-choices-or-text": {"output": {"finish_reason": "stop"}, "request_id": RID},
    "choices-empty": {"output": {"choices": []}, "request_id": RID},
    "choices-empty-object": {"output": {"choices": [{}]}, "request_id": RID},
    "choices-null-entry": {"output": {"choices": [None]}, "request_id": RID},
    "choices-a-dict": {"output": {"choices": {"message": {"content": "x"}}}, "request_id": RID},
    "message-a-string": _choice("hi"),
    "content-an-int": _choice({"role": "assistant", "content": 5}),
    "reasoning-a-dict": _choice({"content": "x", "reasoning_content": {"a": 1}}),
    "tool-calls-a-dict": _choice({"content": "", "tool_calls": {"id": "c"}}, "tool_calls"),
    "tool-calls-an-int": _choice({"content": "", "tool_calls": 3}, "tool_calls"),
    "tool-call-null": _choice({"content": "", "tool_calls": [None]}, "tool_calls"),
    "function-a-string": _choice(
        {"content": "", "tool_calls": [{"id": "c", "function": "get_weather"}]}, "tool_calls"
    ),
    "function-without-name": _choice(
        {"content": "", "tool_calls": [{"id": "c", "function": {"arguments": "{}"}}]}, "tool_calls"
    ),
    "legacy-function-call-a-string": _choice({"content": "", "function_call": "f"}, "null"),
    "empty-reply-without-finish": _choice({"role": "assistant", "content": ""}, "null"),
    "text-format-text-an-int": {"output": {"text": 3, "finish_reason": "stop"}, "request_id": RID},
}


@pytest.mark.parametrize("payload", MALFORMED_CHAT.values(), ids=MALFORMED_CHAT.keys())
def test_malformed_chat_answer_raises_typed_error(payload: Any) -> None:
    body = _body(payload)
    with pytest.raises(APIResponseValidationError) as info:
        parse_chat_response(200, {"X-Request-Id": "hdr-1"}, body, model="qwen-plus")
    error = info.value
    assert error.status_code == 200
    assert error.request_id == (RID if "request_id" in payload else "hdr-1")
    assert error.body == body.decode()[:200]
    assert len(error.body) <= 200
    assert error.message
    assert error.message in str(error)


def test_error_message_names_the_field() -> None:
    with pytest.raises(APIResponseValidationError, match=r"tool_calls is a int, not a list"):
        parse_chat_response(200, {}, _body(MALFORMED_CHAT["tool-calls-an-int"]), model="m")
    with pytest.raises(APIResponseValidationError, match=r"choices\[0\]\.message"):
        parse_chat_response(200, {}, _body(MALFORMED_CHAT["message-a-string"]), model="m")


def test_excerpt_of_a_long_body_is_short() -> None:
    payload = {"output": None, "request_id": RID, "padding": "é" * 5000}
    with pytest.raises(APIResponseValidationError) as info:
        parse_chat_response(200, {}, _body(payload), model="m")
    assert 0 < len(info.value.body) <= 200


LEGITIMATE_EMPTY: dict[str, Any] = {
    # A stop with nothing to say (or a filtered reply): finish_reason tells why it is empty.
    "empty-content-stop": _choice({"role": "assistant", "content": ""}),
    "null-content-length": _choice({"role": "assistant", "content": None}, "length"),
    "content-list-without-text": _choice({"role": "assistant", "content": [{"image": "u"}]}),
    "tool-calls-only": _choice(
        {"content": "", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]}
    ),
    "legacy-function-call": _choice(
        {"content": "", "function_call": {"name": "f", "arguments": "{}"}}, "null"
    ),
    "text-format-empty": {"output": {"text": "", "finish_reason": "stop"}, "request_id": RID},
    "reasoning-only": _choice({"content": "", "reasoning_content": "hmm"}, "length"),
}


@pytest.mark.parametrize("payload", LEGITIMATE_EMPTY.values(), ids=LEGITIMATE_EMPTY.keys())
def test_legitimately_empty_replies_are_returned(payload: Any) -> None:
    result = parse_chat_response(200, {}, _body(payload), model="qwen-plus")
    assert result.text == ""
    assert result.finish_reason or result.tool_calls
    assert result.request_id == RID


# --------------------------------------------------------------------------- streams


def _event(payload: Any) -> bytes:
    return b"event:result\n:HTTP_STATUS/200\ndata:" + json.dumps(payload).encode() + b"\n\n"


GOOD_EVENT = _event(_choice({"role": "assistant", "content": "Hel"}, "null"))

MALFORMED_EVENTS: dict[str, Any] = {
    "output-missing": {"request_id": RID},
    "output-null": {"output": None, "request_id": RID},
    "choices-null-entry": {"output": {"choices": [None]}, "request_id": RID},
    "message-a-string": _choice("hi", "null"),
    "tool-calls-a-dict": _choice({"tool_calls": {"index": 0}}, "null"),
    "tool-calls-an-int": _choice({"tool_calls": 1}, "null"),
    "function-a-string": _choice({"tool_calls": [{"index": 0, "function": "f"}]}, "null"),
    "content-a-dict": _choice({"content": {"text": "x"}}, "null"),
    "event-not-an-object": [1, 2],
}


@pytest.mark.parametrize("payload", MALFORMED_EVENTS.values(), ids=MALFORMED_EVENTS.keys())
def test_malformed_stream_event_raises_after_the_good_chunks(payload: Any) -> None:
    decoder = ChatStreamDecoder(model="qwen-plus")
    chunks = decoder.feed(GOOD_EVENT + _event(payload))
    assert [c.text for c in chunks] == ["Hel"]  # nothing before the bad event is lost
    with pytest.raises(APIResponseValidationError) as info:
        decoder.close()
    assert info.value.status_code == 200
    assert info.value.body
    assert len(info.value.body) <= 200
    if isinstance(payload, dict) and "request_id" in payload:
        assert info.value.request_id == RID


def test_usage_only_stream_event_is_not_an_error() -> None:
    decoder = ChatStreamDecoder(model="qwen-plus")
    chunks = decoder.feed(
        _event({"output": {"choices": []}, "usage": {"input_tokens": 1}, "request_id": RID})
    )
    assert chunks[0].text == ""
    assert chunks[0].usage is not None
    with pytest.raises(StreamProtocolError, match="final event"):
        decoder.close()


# --------------------------------------------------------------------------- embeddings


def _rows(*vectors: Any) -> dict[str, Any]:
    return {
        "output": {
            "embeddings": [{"text_index": i, "embedding": v} for i, v in enumerate(vectors)]
        },
        "request_id": RID,
    }


MALFORMED_EMBEDDINGS: dict[str, Any] = {
    "empty-object": {},
    "no-rows": _rows(),
    "one-row-for-two": _rows([0.1, 0.2]),
    "three-rows-for-two": _rows([0.1, 0.2], [0.3, 0.4], [0.5, 0.6]),
    "inconsistent-dimension": _rows([0.1, 0.2], [0.3]),
    "empty-vector": _rows([0.1, 0.2], []),
    "null-in-vector": _rows([0.1, None], [0.3, 0.4]),
    "string-in-vector": _rows([0.1, "0.2"], [0.3, 0.4]),
    "nan": _rows([0.1, float("nan")], [0.3, 0.4]),
    "infinity": _rows([0.1, 0.2], [float("inf"), 0.4]),
    "vector-a-string": _rows("0.1,0.2", [0.3, 0.4]),
    "missing-text-index": {
        "output": {"embeddings": [{"embedding": [0.1, 0.2]}, {"embedding": [0.3, 0.4]}]},
        "request_id": RID,
    },
    "row-a-list": {"output": {"embeddings": [[0.1, 0.2], [0.3, 0.4]]}, "request_id": RID},
}


@pytest.mark.parametrize("payload", MALFORMED_EMBEDDINGS.values(), ids=MALFORMED_EMBEDDINGS.keys())
def test_malformed_embedding_answer_raises_typed_error(payload: Any) -> None:
    with pytest.raises(APIResponseValidationError) as info:
        parse_embedding_response(200, {}, _body(payload), count=2)
    assert info.value.request_id == (RID if "request_id" in payload else None)


def test_embedding_dimension_is_checked_when_one_was_asked() -> None:
    body = _body(_rows([0.1, 0.2], [0.3, 0.4]))
    assert parse_embedding_response(200, {}, body, count=2, dimension=2).embeddings[1] == [0.3, 0.4]
    with pytest.raises(APIResponseValidationError, match="2 dimensions, 4 were asked"):
        parse_embedding_response(200, {}, body, count=2, dimension=4)


# --------------------------------------------------------------------------- rerank


def _ranked(*entries: Any) -> dict[str, Any]:
    return {"output": {"results": list(entries)}, "request_id": RID}


MALFORMED_RERANK: dict[str, Any] = {
    "empty-results-for-two-documents": _ranked(),
    "duplicate-index": _ranked(
        {"index": 0, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.8}
    ),
    "index-out-of-range": _ranked({"index": 2, "relevance_score": 0.9}),
    "negative-index": _ranked({"index": -1, "relevance_score": 0.9}),
    "nan-score": _ranked({"index": 0, "relevance_score": float("nan")}),
    "string-score": _ranked({"index": 0, "relevance_score": "0.9"}),
    "bool-index": _ranked({"index": True, "relevance_score": 0.9}),
    "entry-null": _ranked(None),
    "more-than-top-n": _ranked(
        {"index": 0, "relevance_score": 0.9}, {"index": 1, "relevance_score": 0.8}
    ),
}


@pytest.mark.parametrize("payload", MALFORMED_RERANK.values(), ids=MALFORMED_RERANK.keys())
def test_malformed_rerank_answer_raises_typed_error(payload: Any) -> None:
    with pytest.raises(APIResponseValidationError) as info:
        parse_rerank_response(
            200, {}, _body(payload), model="gte-rerank-v2", documents=["a", "b"], top_n=1
        )
    assert info.value.request_id == RID


def test_rerank_top_n_is_optional_and_no_documents_means_no_results() -> None:
    two = _body(MALFORMED_RERANK["more-than-top-n"])
    result = parse_rerank_response(200, {}, two, model="gte-rerank-v2", documents=["a", "b"])
    assert [item.index for item in result.results] == [0, 1]
    empty = parse_rerank_response(200, {}, _body(_ranked()), model="gte-rerank-v2", documents=[])
    assert empty.results == []


# --------------------------------------------------------------------------- end to end


class _Canned(BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[str, bytes]]] = []  # (content type, body) by request order
    requests = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        content_type, body = self.answers[min(type(self).requests, len(self.answers) - 1)]
        type(self).requests += 1
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def canned() -> Iterator[type[_Canned]]:
    handler = type("Handler", (_Canned,), {"answers": [], "requests": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.base_url = f"http://127.0.0.1:{server.server_port}/api/v1"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


USER = [{"role": "user", "content": "hi"}]


def _client(canned: type[_Canned]) -> DashScopeClient:
    return DashScopeClient(api_key="sk-malformed-test", base_url=canned.base_url)  # type: ignore[attr-defined]


@pytest.mark.parametrize("shape", ["empty-object", "choices-empty", "choices-null-entry"])
def test_client_chat_raises_and_does_not_retry(canned: type[_Canned], shape: str) -> None:
    canned.answers = [("application/json", _body(MALFORMED_CHAT[shape]))]
    with _client(canned) as client, pytest.raises(APIResponseValidationError):
        client.chat(USER, model="qwen-plus")
    assert canned.requests == 1


async def test_client_achat_raises(canned: type[_Canned]) -> None:
    canned.answers = [("application/json", _body(MALFORMED_CHAT["message-a-string"]))]
    client = _client(canned)
    try:
        with pytest.raises(APIResponseValidationError):
            await client.achat(USER, model="qwen-plus")
    finally:
        await client.aclose()
    assert canned.requests == 1


def test_client_stream_raises_after_the_good_chunk(canned: type[_Canned]) -> None:
    stream = GOOD_EVENT + _event(MALFORMED_EVENTS["function-a-string"])
    canned.answers = [("text/event-stream", stream)]
    texts: list[str] = []

    def consume(client: DashScopeClient) -> None:
        texts.extend(chunk.text for chunk in client.stream_chat(USER, model="qwen-plus"))

    with _client(canned) as client, pytest.raises(APIResponseValidationError):
        consume(client)
    assert texts == ["Hel"]
    assert canned.requests == 1


def test_client_embed_and_rerank_raise(canned: type[_Canned]) -> None:
    canned.answers = [("application/json", _body(MALFORMED_EMBEDDINGS["nan"]))]
    with _client(canned) as client, pytest.raises(APIResponseValidationError):
        client.embed(["a", "b"], model="text-embedding-v4")
    canned.answers = [("application/json", _body(MALFORMED_RERANK["duplicate-index"]))]
    with _client(canned) as client, pytest.raises(APIResponseValidationError):
        client.rerank("q", ["a", "b"], model="gte-rerank-v2")
    assert canned.requests == 2

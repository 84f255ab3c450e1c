"""One rule for a 200 answer whose body is not a JSON object, whatever the endpoint.

Chat, embeddings and rerank all raise ``APIStatusError`` with code ``InvalidResponse``, the
real status, the request id from the headers and a snippet of the body: the request was
answered, just not with something usable (typically a proxy's or gateway's HTML page).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dashscope_ws.errors import APIStatusError, RateLimitError
from dashscope_ws.protocol import parse_chat_response
from dashscope_ws.retrieval import parse_embedding_response, parse_rerank_response

Parser = Callable[[int, dict[str, str], bytes], object]

PARSERS: dict[str, Parser] = {
    "chat": lambda s, h, b: parse_chat_response(s, h, b, model="qwen-plus"),
    "embeddings": lambda s, h, b: parse_embedding_response(s, h, b, count=1),
    "rerank": lambda s, h, b: parse_rerank_response(
        s, h, b, model="gte-rerank-v2", documents=["a"]
    ),
}
BODIES = {
    "html": b"<html><body>502 gateway page</body></html>",
    "json-array": b'["not", "an", "object"]',
    "invalid-utf8": b"\xff\xfe gateway",
    "empty": b"",
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
@pytest.mark.parametrize("endpoint", PARSERS)
def test_body_that_is_not_a_json_object_is_invalid_response(endpoint: str, body: bytes) -> None:
    with pytest.raises(APIStatusError) as info:
        PARSERS[endpoint](200, {"X-Request-Id": "hdr-7"}, body)
    error = info.value
    assert type(error) is APIStatusError  # not a 4xx/5xx subclass: nothing to retry or fix
    assert (error.status_code, error.code, error.request_id) == (200, "InvalidResponse", "hdr-7")
    assert "not a JSON object" in error.message
    if body.startswith(b"<html>"):
        assert "gateway page" in error.message


@pytest.mark.parametrize("endpoint", PARSERS)
def test_business_error_in_a_200_body_is_mapped_the_same_everywhere(endpoint: str) -> None:
    body = b'{"code":"Throttling.RateQuota","message":"slow down","request_id":"r-1"}'
    with pytest.raises(RateLimitError) as info:
        PARSERS[endpoint](200, {}, body)
    assert info.value.request_id == "r-1"

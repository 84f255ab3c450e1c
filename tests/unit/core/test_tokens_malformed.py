"""A malformed tokenization answer is a typed error, never a bare crash or an empty count."""

from __future__ import annotations

import json

import pytest

from dashscope_ws import tokens
from dashscope_ws.errors import APIResponseValidationError


@pytest.mark.parametrize(
    "payload",
    [
        {"output": ["not", "a", "mapping"]},
        {"output": {"token_ids": ["1", "2"]}},
        {"output": {"tokens": ["a"]}},
    ],
)
def test_malformed_answer_is_a_validation_error(payload: dict[str, object]) -> None:
    body = json.dumps({**payload, "request_id": "r-9"}).encode()
    with pytest.raises(APIResponseValidationError, match="token_ids") as caught:
        tokens._parse(200, {"X-Request-Id": "r-9"}, body)
    assert caught.value.request_id == "r-9"


def test_well_formed_answer_parses() -> None:
    body = json.dumps(
        {"output": {"token_ids": [1, 2], "tokens": ["a", "b"]}, "usage": {"input_tokens": 2}}
    ).encode()
    result = tokens._parse(200, {}, body)
    assert (result.token_ids, result.tokens, result.input_tokens) == ((1, 2), ("a", "b"), 2)

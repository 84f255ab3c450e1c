"""A client pickles (settings only); input that cannot be JSON is refused before sending."""

from __future__ import annotations

import asyncio
import math
import pickle
from typing import Any

import pytest

from dashscope_ws import DashScopeClient, InvalidRequestError
from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.transports import AsyncMockTransport, MockTransport

USER = [{"role": "user", "content": "Hi"}]


def test_pickled_client_round_trips_and_works(dashscope_emulator: Emulator) -> None:
    client = DashScopeClient(
        api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=dashscope_emulator.base_url, timeout=30
    )
    client.chat(USER, model="qwen-plus")  # pools built: they must not travel
    copy = pickle.loads(pickle.dumps(client))  # noqa: S301
    assert copy.config == client.config
    assert copy.chat(USER, model="qwen-plus").finish_reason == "stop"
    assert asyncio.run(copy.achat(USER, model="qwen-plus")).finish_reason == "stop"
    keys = {r.headers["Authorization"] for r in dashscope_emulator.requests}
    assert keys == {f"Bearer {SUB_KEY}"}  # the copy talks to the same account
    client.close()
    copy.close()


def test_a_pickle_holds_the_settings_and_the_key_but_no_pool() -> None:
    client = DashScopeClient(api_key=MAIN_KEY, base_url="http://127.0.0.1:9")
    data = pickle.dumps(client)
    assert MAIN_KEY.encode() in data  # documented: like the adapters, the key travels
    assert b"Session" not in data
    assert b"aiohttp" not in data


@pytest.mark.parametrize(
    "parameters",
    [
        {"temperature": math.nan},
        {"top_p": math.inf},
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"x": math.nan}}}]},
        {"stop": {"a", "b"}},
        {"seed": object()},
        {"stop": b"bytes"},
    ],
    ids=["nan", "inf", "nan-in-tool-schema", "set", "object", "bytes"],
)
@pytest.mark.parametrize("mode", ["sync", "async", "stream"])
def test_input_that_cannot_be_json_is_refused_before_sending(
    mode: str, parameters: dict[str, Any]
) -> None:
    sent: list[Any] = []
    client = DashScopeClient(
        api_key="sk-test",
        transport=MockTransport(sent.append),
        async_transport=AsyncMockTransport(sent.append),
    )

    def call() -> object:
        if mode == "sync":
            return client.chat(USER, model="qwen-plus", **parameters)
        if mode == "stream":
            return list(client.stream_chat(USER, model="qwen-plus", **parameters))
        return asyncio.run(client.achat(USER, model="qwen-plus", **parameters))

    with pytest.raises(InvalidRequestError) as info:
        call()
    assert isinstance(info.value, ValueError)
    assert sent == []  # nothing sent, nothing retried


def test_a_copied_request_keeps_its_key_while_a_pickled_one_drops_it() -> None:
    import copy
    import pickle

    from dashscope_ws.config import SecretStr
    from dashscope_ws.http import HTTPRequest

    request = HTTPRequest(
        "POST", "https://h/api/v1/x", {"A": "b"}, {"m": [1]}, api_key=SecretStr("sk-copy")
    )
    for twin in (copy.copy(request), copy.deepcopy(request)):
        assert twin == request
        assert twin.wire_headers()["Authorization"] == "Bearer sk-copy"
    assert copy.deepcopy(request).json is not request.json
    assert pickle.loads(pickle.dumps(request)).api_key is None  # noqa: S301 (our own bytes)


def test_signing_a_request_copies_it_with_the_key_and_its_encoded_body() -> None:
    from dashscope_ws.config import SecretStr
    from dashscope_ws.http import HTTPRequest

    request = HTTPRequest("POST", "https://h/api/v1/x", {"A": "b"}, {"m": [1]})
    body = request.content
    signed = request.signed(SecretStr("sk-sign"))
    assert request.api_key is None  # the original is untouched
    assert signed == request
    assert type(signed) is HTTPRequest
    assert signed.content is body  # encoded once, not again
    assert signed.wire_headers()["Authorization"] == "Bearer sk-sign"
    assert "sk-sign" not in repr(signed)
    with pytest.raises(AttributeError):
        signed.url = "https://elsewhere"  # type: ignore[misc]  # still frozen

"""Declared transports, mock transports, stream objects, the generic driver and usage."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dashscope_ws import (
    AsyncChatStream,
    AuthenticationError,
    ChatStream,
    DashScopeClient,
    RetryPolicy,
    Usage,
)
from dashscope_ws._sync import RequestsTransport
from dashscope_ws.emulator import MAIN_KEY, Emulator
from dashscope_ws.http import HTTPRequest, RawResponse, TransportOptions
from dashscope_ws.transports import (
    AsyncMockTransport,
    AsyncTransport,
    MockRequest,
    MockResponse,
    MockTransport,
    Transport,
)

USER = [{"role": "user", "content": "Hi"}]
USAGE = {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}


def reply(text: str, finish: str = "stop") -> dict[str, Any]:
    message = {"role": "assistant", "content": text}
    return {
        "output": {"choices": [{"message": message, "finish_reason": finish}]},
        "usage": USAGE,
        "request_id": "req-1",
    }


class Sink:
    def __init__(self) -> None:
        self.records: list[tuple[str | None, str, Usage, str]] = []

    def record(self, *, workspace: str | None, model: str, usage: Usage, kind: str) -> None:
        self.records.append((workspace, model, usage, kind))


def test_builtin_transports_satisfy_the_protocols() -> None:
    from dashscope_ws._async import AiohttpTransport

    options = TransportOptions(timeout=1, connect_timeout=1)
    sync = RequestsTransport(options)
    assert isinstance(sync, Transport)
    assert isinstance(AiohttpTransport(options), AsyncTransport)
    assert isinstance(MockTransport(dict), Transport)
    assert isinstance(AsyncMockTransport(dict), AsyncTransport)
    client = DashScopeClient(api_key="sk-test")
    assert client._sync.options.max_connections == 1000  # type: ignore[attr-defined]
    assert client._async.options.max_connections == 1000  # type: ignore[attr-defined]


def test_mock_handler_sees_the_built_request_with_the_key_masked() -> None:
    seen: list[MockRequest] = []

    def handler(request: MockRequest) -> dict[str, Any]:
        seen.append(request)
        return reply("hi")

    client = DashScopeClient(
        api_key="sk-hidden", workspace="ws-1", transport=MockTransport(handler)
    )
    assert client.chat(USER, model="qwen-plus", temperature=0.2).text == "hi"
    (request,) = seen
    assert request.url.endswith("/services/aigc/text-generation/generation")
    assert request.json["parameters"]["temperature"] == 0.2
    assert request.headers["X-DashScope-WorkSpace"] == "ws-1"
    assert "sk-hidden" not in request.headers["Authorization"]
    assert request.api_key() == "sk-hidden"  # only when asked for


def test_mock_error_status_raises_the_typed_error() -> None:
    body = {"code": "InvalidApiKey", "message": "bad key", "request_id": "r-9"}
    transport = MockTransport(lambda request: MockResponse(status=401, body=body))
    client = DashScopeClient(api_key="sk-test", transport=transport)
    with pytest.raises(AuthenticationError) as info:
        client.chat(USER, model="qwen-plus")
    assert info.value.request_id == "r-9"
    with pytest.raises(AuthenticationError):
        list(client.stream_chat(USER, model="qwen-plus"))


def test_chat_stream_object() -> None:
    sink = Sink()
    events = [reply("Hel", "null"), reply("lo")]
    transport = MockTransport(lambda request: MockResponse.sse(events))
    client = DashScopeClient(api_key="sk-test", transport=transport, usage_tracker=sink)
    stream = client.stream_chat(USER, model="qwen-plus")
    assert isinstance(stream, ChatStream)
    assert stream.request_id is None
    assert transport.requests == []  # sent on first iteration
    with stream:
        first = next(stream)
        assert (first.text, stream.request_id) == ("Hel", "req-1")
        assert stream.result().text == "Hello"  # the rest, folded
    assert [r[3] for r in sink.records] == ["stream"]
    assert sink.records[0][2].total_tokens == 5


def test_closing_a_stream_releases_it_early(dashscope_emulator: Emulator) -> None:
    with DashScopeClient(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url) as client:
        stream = client.stream_chat(USER, model="qwen-plus")
        next(stream)
        stream.close()
        with pytest.raises(StopIteration):
            next(stream)
        assert client.chat(USER, model="qwen-plus").finish_reason == "stop"


async def test_async_chat_stream_object() -> None:
    transport = AsyncMockTransport(
        lambda request: MockResponse.sse([reply("a", "null"), reply("b")])
    )
    client = DashScopeClient(api_key="sk-test", async_transport=transport)
    stream = client.astream_chat(USER, model="qwen-plus")
    assert isinstance(stream, AsyncChatStream)
    async with stream:
        assert (await stream.__anext__()).text == "a"
        assert stream.request_id == "req-1"
        assert (await stream.aresult()).text == "ab"


class LineDecoder:
    """A toy decoder for another endpoint: one item per line."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[str]:
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        return [line.decode() for line in lines]

    def close(self) -> list[str]:
        return [self.buffer.decode()] if self.buffer else []


def test_generic_stream_and_call_for_other_endpoints() -> None:
    chunks = [b"one\ntw", b"o\nthree"]
    transport = MockTransport(lambda request: MockResponse(chunks=chunks))
    async_transport = AsyncMockTransport(lambda request: MockResponse(chunks=chunks))
    client = DashScopeClient(
        api_key="sk-test", transport=transport, async_transport=async_transport
    )
    request = HTTPRequest("POST", client.config.url("apps/x/completion"), {}, {"model": "m"})
    with client._stream(request, LineDecoder) as stream:
        assert list(stream) == ["one", "two", "three"]

    def parse(raw: RawResponse) -> bytes:
        return raw.body

    assert client._call(request, parse) == b"one\ntwo\nthree"

    async def run() -> tuple[list[str], bytes]:
        async with client._astream(request, LineDecoder) as stream:
            items = [item async for item in stream]
        return items, await client._acall(request, parse)

    assert asyncio.run(run()) == (["one", "two", "three"], b"one\ntwo\nthree")


def test_usage_tracker_sees_every_kind(dashscope_emulator: Emulator) -> None:
    sink = Sink()
    client = DashScopeClient(
        api_key=MAIN_KEY, base_url=dashscope_emulator.base_url, usage_tracker=sink
    )
    with client:
        client.chat(USER, model="qwen-plus")
        client.embed(["a"] * 12, model="text-embedding-v4")  # two batches
        client.rerank("q", ["a", "b"], model="gte-rerank-v2")
        asyncio.run(client.achat(USER, model="qwen-plus"))
    kinds = [record[3] for record in sink.records]
    assert kinds == ["chat", "embedding", "embedding", "rerank", "chat"]
    assert all(record[1] for record in sink.records)  # the model is named


def test_retries_go_through_a_custom_transport() -> None:
    answers = iter([MockResponse(status=503, body={"code": "ServiceUnavailable"}), reply("ok")])
    transport = MockTransport(lambda request: next(answers))
    client = DashScopeClient(
        api_key="sk-test", transport=transport, retry_policy=RetryPolicy(2, base_delay=0)
    )
    assert client.chat(USER, model="qwen-plus").text == "ok"
    assert len(transport.requests) == 2


def test_sync_use_never_imports_aiohttp_or_pydantic(dashscope_emulator: Emulator) -> None:
    url = dashscope_emulator.base_url
    code = (
        "import sys, dashscope_ws\n"
        f"c = dashscope_ws.DashScopeClient(api_key={MAIN_KEY!r}, base_url={url!r})\n"
        "c.chat([{'role': 'user', 'content': 'hi'}], model='qwen-plus')\n"
        "list(c.stream_chat([{'role': 'user', 'content': 'hi'}], model='qwen-plus'))\n"
        "c.close()\n"
        "roots = ('aiohttp', 'pydantic', 'langchain_core', 'llama_index')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in roots))\n"
    )
    out = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_the_client_docs_mock_example_runs() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "client.md").read_text("utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", doc, re.S) if "MockTransport" in b]
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/client.md", "exec"), {"__name__": "docs_example"})  # noqa: S102


def test_mock_response_sse_frames_like_the_service() -> None:
    (chunk,) = MockResponse.sse([{"a": 1}]).pieces()
    assert chunk == b'id:1\nevent:result\n:HTTP_STATUS/200\ndata:{"a": 1}\n\n'
    assert json.loads(chunk.split(b"data:")[1]) == {"a": 1}


def test_verify_and_builtin_transports_are_reachable(tmp_path: Path) -> None:
    import ssl

    import certifi

    from dashscope_ws import transports

    bundle = certifi.where()
    client = DashScopeClient(api_key="sk-test", verify=bundle)
    assert client._sync._get_session().verify == bundle  # type: ignore[attr-defined]
    assert isinstance(client._async._ssl(), ssl.SSLContext)  # type: ignore[attr-defined]
    off = DashScopeClient(api_key="sk-test", verify=False)
    assert off._sync._get_session().verify is False  # type: ignore[attr-defined]
    assert off._async._ssl() is False  # type: ignore[attr-defined]
    options = transports.TransportOptions(timeout=1, connect_timeout=1)
    custom = transports.RequestsTransport(options)
    assert DashScopeClient(api_key="sk-test", transport=custom)._sync is custom
    assert transports.AiohttpTransport(options).options is options


def test_result_of_a_closed_or_failed_stream_is_never_a_partial_reply() -> None:
    from dashscope_ws import StreamProtocolError

    events = [reply("Hel", "null"), reply("lo")]
    client = DashScopeClient(
        api_key="sk-test", transport=MockTransport(lambda request: MockResponse.sse(events))
    )
    stream = client.stream_chat(USER, model="qwen-plus")
    next(stream)
    stream.close()
    with pytest.raises(StreamProtocolError):
        stream.result()
    cut = DashScopeClient(
        api_key="sk-test",
        transport=MockTransport(lambda request: MockResponse.sse(events[:1])),
        retry_policy=RetryPolicy(0),
    )
    failed = cut.stream_chat(USER, model="qwen-plus")
    with pytest.raises(StreamProtocolError):
        failed.result()  # ends without its final event
    with pytest.raises(StreamProtocolError):
        failed.result()  # and asking again does not hand out the partial text


def test_the_async_transport_signs_each_request_with_its_own_key() -> None:
    from dashscope_ws._async import AiohttpTransport
    from dashscope_ws.config import SecretStr

    transport = AiohttpTransport(TransportOptions(timeout=30.0, connect_timeout=5.0))
    first, second = SecretStr("sk-first"), SecretStr("sk-second")

    def headers(key: SecretStr | None, workspace: str) -> dict[str, str]:
        request = HTTPRequest("POST", "http://h/x", {"X-DashScope-WorkSpace": workspace}, None)
        return transport._wire_headers(request.signed(key))

    seen = [headers(first, "a"), headers(second, "b"), headers(first, "c"), headers(None, "d")]
    assert [h.get("Authorization") for h in seen] == [
        "Bearer sk-first", "Bearer sk-second", "Bearer sk-first", None,
    ]  # fmt: skip
    assert [h["X-DashScope-WorkSpace"] for h in seen] == ["a", "b", "c", "d"]
    assert "sk-first" not in repr(seen[2]) + repr(vars(transport))

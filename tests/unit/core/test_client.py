"""DashScopeClient chat against the emulator over loopback, in both sync and async mode."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator

import pytest
from aiohttp import web
from client_modes import MODES, USER, make_client_fixture, run  # noqa: F401

from dashscope_ws import AuthenticationError, ChatResult, DashScopeClient
from dashscope_ws.emulator import MAIN_KEY, OTHER_WORKSPACE, SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.emulator.script import ScriptedReply
from dashscope_ws.protocol import MULTIMODAL_GENERATION_PATH, TEXT_GENERATION_PATH

MakeClient = Callable[..., DashScopeClient]


@MODES
def test_chat_returns_the_reply_and_sends_parameters(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(ScriptedReply(text="Hello from the emulator"))
    result = run(
        mode, make_client(), "chat", USER, model="qwen-plus", temperature=0.3, seed=7, max_tokens=50
    )
    assert isinstance(result, ChatResult)
    assert result.text == "Hello from the emulator"
    assert result.finish_reason == "stop"
    assert result.model == "qwen-plus"
    assert result.request_id
    [request] = dashscope_emulator.requests
    assert request.path == "/api/v1/" + TEXT_GENERATION_PATH
    assert request.json["model"] == "qwen-plus"
    assert request.json["input"]["messages"] == USER
    params = request.json["parameters"]
    assert (params["temperature"], params["seed"], params["max_tokens"]) == (0.3, 7, 50)
    assert "x-dashscope-sse" not in request.headers


@MODES
def test_workspace_header_is_sent_exactly_when_set(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    run(mode, make_client(), "chat", USER, model="qwen-plus")
    run(mode, make_client(workspace=SUB_WORKSPACE), "chat", USER, model="qwen-plus")
    without, with_ws = dashscope_emulator.requests
    assert "x-dashscope-workspace" not in without.headers
    assert with_ws.headers["x-dashscope-workspace"] == SUB_WORKSPACE


@MODES
def test_per_call_workspace_and_model_do_not_mutate_the_client(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    client = make_client(workspace=SUB_WORKSPACE)
    run(mode, client, "chat", USER, model="qwen-plus", workspace=OTHER_WORKSPACE)
    run(mode, client, "chat", USER, model="qwen-turbo")
    first, second = dashscope_emulator.requests
    assert first.headers["x-dashscope-workspace"] == OTHER_WORKSPACE
    assert second.headers["x-dashscope-workspace"] == SUB_WORKSPACE
    assert [r.json["model"] for r in (first, second)] == ["qwen-plus", "qwen-turbo"]
    assert client.config.workspace == SUB_WORKSPACE


@MODES
def test_stream_chat_yields_deltas_and_ends_with_the_final_event(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(ScriptedReply(text="one two three four five"))
    chunks = run(mode, make_client(), "stream_chat", USER, model="qwen-plus")
    assert len(chunks) > 1
    assert "".join(c.text for c in chunks) == "one two three four five"
    assert chunks[-1].finish_reason == "stop"
    assert all(c.finish_reason is None for c in chunks[:-1])
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.output_tokens
    [request] = dashscope_emulator.requests
    assert request.headers["x-dashscope-sse"] == "enable"
    assert request.json["parameters"]["incremental_output"] is True


@MODES
@pytest.mark.parametrize(
    ("model", "parameters"), [("qwq-plus", {}), ("qwen-plus", {"enable_thinking": True})]
)
def test_stream_only_models_are_streamed_and_folded_by_chat(
    mode: str,
    model: str,
    parameters: dict[str, bool],
    make_client: MakeClient,
    dashscope_emulator: Emulator,
) -> None:
    dashscope_emulator.enqueue(ScriptedReply(text="The answer is 4.", reasoning="2 plus 2 is 4"))
    result = run(mode, make_client(), "chat", USER, model=model, **parameters)
    assert result.text == "The answer is 4."
    assert result.reasoning == "2 plus 2 is 4"
    assert result.finish_reason == "stop"
    [request] = dashscope_emulator.requests
    assert request.headers["x-dashscope-sse"] == "enable"
    assert request.json["model"] == model


@MODES
def test_tool_calls_round_trip_streamed_and_not(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    call = {"name": "get_weather", "arguments": '{"city": "Hangzhou"}'}
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    dashscope_emulator.enqueue(ScriptedReply(tool_calls=[call]), ScriptedReply(tool_calls=[call]))
    client = make_client()
    result = run(mode, client, "chat", USER, model="qwen-plus", tools=tools)
    chunks = run(mode, client, "stream_chat", USER, model="qwen-plus", tools=tools)
    streamed_args = "".join(d.arguments or "" for c in chunks for d in c.tool_calls)
    assert [(t.name, t.arguments) for t in result.tool_calls] == [
        ("get_weather", '{"city": "Hangzhou"}')
    ]
    assert streamed_args == '{"city": "Hangzhou"}'
    assert result.finish_reason == chunks[-1].finish_reason == "tool_calls"
    assert dashscope_emulator.requests[0].json["parameters"]["tools"] == tools


@MODES
def test_vision_models_are_routed_to_the_multimodal_endpoint(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    result = run(mode, make_client(), "chat", USER, model="qwen-vl-plus")
    assert result.text
    assert dashscope_emulator.requests[0].path == "/api/v1/" + MULTIMODAL_GENERATION_PATH


def test_two_clients_in_threads_never_mix_headers(
    make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    main = make_client(api_key=MAIN_KEY)
    sub = make_client(api_key=SUB_KEY, workspace=SUB_WORKSPACE)
    errors: list[BaseException] = []

    def worker(client: DashScopeClient) -> None:
        try:
            for _ in range(8):
                client.chat(USER, model="qwen-plus")
                list(client.stream_chat(USER, model="qwen-plus"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(c,)) for c in (main, sub, main, sub)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _assert_headers_consistent(dashscope_emulator, expected=64)


async def test_two_clients_in_tasks_never_mix_headers(
    make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    main = make_client(api_key=MAIN_KEY)
    sub = make_client(api_key=SUB_KEY, workspace=SUB_WORKSPACE)

    async def worker(client: DashScopeClient) -> None:
        for _ in range(8):
            await client.achat(USER, model="qwen-plus")
            async for _chunk in client.astream_chat(USER, model="qwen-plus"):
                pass

    try:
        await asyncio.gather(*(worker(c) for c in (main, sub, main, sub)))
    finally:
        await main.aclose()
        await sub.aclose()
    _assert_headers_consistent(dashscope_emulator, expected=64)


def _assert_headers_consistent(emulator: Emulator, *, expected: int) -> None:
    requests = emulator.settled_requests()
    assert len(requests) == expected
    for request in requests:
        key = request.headers["authorization"].removeprefix("Bearer ")
        workspace = request.headers.get("x-dashscope-workspace")
        assert (key, workspace) in {(MAIN_KEY, None), (SUB_KEY, SUB_WORKSPACE)}
        assert request.status == 200
    keys = [r.headers["authorization"] for r in requests]
    assert keys.count(f"Bearer {MAIN_KEY}") == keys.count(f"Bearer {SUB_KEY}") == expected // 2


@MODES
def test_a_client_survives_a_new_event_loop_per_call(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    client = make_client()
    for _ in range(3):
        assert run(mode, client, "chat", USER, model="qwen-plus").text
    assert len(dashscope_emulator.requests) == 3


def test_close_from_sync_code_closes_an_idle_loops_session(
    make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    client = make_client()
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(client.achat(USER, model="qwen-plus")).text
        client.close()  # the loop is idle, not closed: the session is closed on it
        assert loop.run_until_complete(client.achat(USER, model="qwen-plus")).text
        loop.run_until_complete(client.aclose())
    finally:
        loop.close()
    assert len(dashscope_emulator.requests) == 2


def test_repr_and_errors_never_show_the_key(make_client: MakeClient) -> None:
    client = make_client(api_key="sk-very-secret-value")
    assert "sk-very-secret-value" not in repr(client)
    with pytest.raises(AuthenticationError) as info:
        client.chat(USER, model="qwen-plus")
    assert "sk-very-secret-value" not in str(info.value)
    assert "sk-very-secret-value" not in repr(info.value)


def test_chunks_before_an_error_event_in_the_same_read_are_not_lost() -> None:
    from dashscope_ws import InternalServerError, RetryPolicy
    from dashscope_ws._calls import Call
    from dashscope_ws.http import HTTPRequest
    from dashscope_ws.sse import ChatStreamDecoder

    def event(text: str) -> bytes:
        message = {"content": text, "role": "assistant"}
        payload = json.dumps(
            {"output": {"choices": [{"message": message, "finish_reason": "null"}]}}
        )
        return f"id:1\nevent:result\n:HTTP_STATUS/200\ndata:{payload}\n\n".encode()

    error = b'event:error\n:HTTP_STATUS/500\ndata:{"code":"InternalError","message":"boom"}\n\n'
    decoder = ChatStreamDecoder(model="qwen-plus")
    chunks = decoder.feed(event("a") + event("b") + error)  # one read, as a proxy might deliver it
    assert [c.text for c in chunks] == ["a", "b"]
    with pytest.raises(InternalServerError):
        decoder.close()
    call = Call(HTTPRequest("POST", "https://h/api/v1/x", {}, {}), RetryPolicy(2))
    with pytest.raises(InternalServerError):  # and it is not retried: output was yielded
        call.backoff(InternalServerError(500, "InternalError", "boom"), yielded=True)
    assert call.backoff(InternalServerError(500, "InternalError", "boom")) > 0


@MODES
def test_abandoning_a_stream_early_leaves_the_client_usable(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    client = make_client()
    dashscope_emulator.enqueue(
        ScriptedReply(text="a b c d e f g h i j k l", delay_between_chunks=0.02)
    )

    async def first_async() -> str:
        stream = client.astream_chat(USER, model="qwen-plus")
        try:
            async for chunk in stream:
                return chunk.text
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
            await client.aclose()
        return ""

    if mode == "sync":
        stream = client.stream_chat(USER, model="qwen-plus")
        first = next(iter(stream))
        stream.close()  # type: ignore[attr-defined]
        assert first.text
    else:
        assert asyncio.run(first_async())
    assert run(mode, client, "chat", USER, model="qwen-plus").finish_reason == "stop"
    assert len(dashscope_emulator.requests) == 2


@pytest.fixture(name="gzip_sse_url")
def gzip_sse_url_fixture() -> Iterator[str]:
    """A server that gzips its SSE answer, as a compressing gateway or proxy may."""

    async def generate(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        response.enable_compression(web.ContentCoding.gzip)
        await response.prepare(request)
        for number, (text, finish) in enumerate([("Hel", "null"), ("lo", "stop")]):
            choice = {"message": {"role": "assistant", "content": text}, "finish_reason": finish}
            data = json.dumps({"output": {"choices": [choice]}, "request_id": "r1"})
            await response.write(f"id:{number}\nevent:result\ndata:{data}\n\n".encode())
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post(f"/api/v1/{TEXT_GENERATION_PATH}", generate)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


@MODES
def test_a_gzip_compressed_stream_is_decoded(
    mode: str, make_client: MakeClient, gzip_sse_url: str
) -> None:
    chunks = run(mode, make_client(base_url=gzip_sse_url), "stream_chat", USER, model="qwen-plus")
    assert [c.text for c in chunks] == ["Hel", "lo"]
    assert chunks[-1].finish_reason == "stop"

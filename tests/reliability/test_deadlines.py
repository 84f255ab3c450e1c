"""Total deadlines, response size limits and timeout validation (sync and async alike)."""

from __future__ import annotations

import gzip
import json
import math
import socket
import time
from typing import Any

import pytest
from reliability_tools import raised, raw_server, read_request, trickle

from dashscope_ws import (
    APIConnectionError,
    APITimeoutError,
    DashScopeClient,
    ResponseTooLargeError,
    RetryPolicy,
)
from dashscope_ws.transports import MockResponse, MockTransport

MODES = pytest.mark.parametrize("mode", ["sync", "async"])
DEADLINE = 1.0
REPLY = {
    "output": {
        "choices": [{"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]
    },
    "request_id": "r-1",
}


def _headers(length: int | None = None, *, sse: bool = False) -> bytes:
    kind = "text/event-stream" if sse else "application/json"
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\n{size}\r\n".encode()


def _slow_headers(connection: socket.socket) -> None:
    read_request(connection)
    trickle(connection, _headers(2) + b"{}", 0.25)


def _slow_body(connection: socket.socket) -> None:
    read_request(connection)
    body = json.dumps(REPLY).encode()
    connection.sendall(_headers(len(body)))
    trickle(connection, body, 0.25)


def _slow_stream(connection: socket.socket) -> None:
    read_request(connection)
    connection.sendall(_headers(sse=True))
    trickle(connection, b": keep-alive comment that never becomes an event\n" * 10, 0.25)


def _client(port: int) -> DashScopeClient:
    # The gap timeout (10 s) never fires: every byte comes within 0.25 s. Only the total can.
    return DashScopeClient(
        api_key="sk-test",
        base_url=f"http://127.0.0.1:{port}",
        timeout=10,
        total_timeout=DEADLINE,
        retry_policy=RetryPolicy(0),
    )


@MODES
@pytest.mark.parametrize(
    ("serve", "method"),
    [(_slow_headers, "chat"), (_slow_body, "chat"), (_slow_stream, "stream_chat")],
    ids=["headers", "body", "stream-first-event"],
)
def test_a_trickling_server_is_cut_off_at_the_deadline(mode: str, serve, method: str) -> None:  # type: ignore[no-untyped-def]
    with raw_server(serve) as port:
        started = time.monotonic()
        error = raised(mode, _client(port), method)
        elapsed = time.monotonic() - started
    assert isinstance(error, APITimeoutError), repr(error)
    # A bound on behaviour (the call ended because of the deadline), not a speed test.
    assert elapsed < 3 * DEADLINE


@MODES
def test_stream_timeout_bounds_a_whole_stream(mode: str) -> None:
    event = f"id:1\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(REPLY)}\n\n".encode()
    partial = event.replace(b'"stop"', b'"null"')

    def endless(connection: socket.socket) -> None:
        read_request(connection)
        connection.sendall(_headers(sse=True))
        for _ in range(40):
            connection.sendall(partial)
            time.sleep(0.1)

    with raw_server(endless) as port:
        client = DashScopeClient(
            api_key="sk-test",
            base_url=f"http://127.0.0.1:{port}",
            stream_timeout=DEADLINE,
            retry_policy=RetryPolicy(0),
        )
        error = raised(mode, client, "stream_chat")
    assert isinstance(error, APITimeoutError)
    assert "stream_timeout" in str(error)


@MODES
def test_an_oversized_answer_raises_a_typed_error(mode: str) -> None:
    def huge(connection: socket.socket) -> None:
        read_request(connection)
        connection.sendall(_headers(10_000_000))
        connection.sendall(b"x" * 200_000)

    with raw_server(huge) as port:
        client = DashScopeClient(
            api_key="sk-test",
            base_url=f"http://127.0.0.1:{port}",
            max_response_bytes=100_000,
            retry_policy=RetryPolicy(2),
        )
        error = raised(mode, client, "chat")
    assert isinstance(error, ResponseTooLargeError)
    assert "100000" in str(error)


def test_the_size_limit_does_not_truncate_an_answer_within_it() -> None:
    body = json.dumps(REPLY).encode()
    transport = MockTransport(lambda request: MockResponse(body=body))
    client = DashScopeClient(api_key="sk-test", transport=transport, max_response_bytes=len(body))
    assert client.chat([{"role": "user", "content": "x"}], model="qwen-plus").text == "hi"


@pytest.mark.parametrize("name", ["timeout", "connect_timeout", "total_timeout", "stream_timeout"])
@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf])
def test_invalid_timeouts_are_refused_at_construction(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=name):
        DashScopeClient(api_key="sk-test", **{name: value})  # type: ignore[arg-type]


def test_total_timeout_defaults_to_connect_plus_read() -> None:
    client = DashScopeClient(api_key="sk-test", timeout=20, connect_timeout=5)
    assert client.config.total_timeout == 25
    assert client.config.stream_timeout is None


def test_sync_calls_start_no_thread_per_call(
    dashscope_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from dashscope_ws.emulator import MAIN_KEY

    with DashScopeClient(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url) as client:
        client.chat([{"role": "user", "content": "Hi"}], model="qwen-plus")  # warm up
        started: list[threading.Thread] = []
        original = threading.Thread.start

        def counting_start(thread: threading.Thread) -> None:
            started.append(thread)
            original(thread)

        monkeypatch.setattr(threading.Thread, "start", counting_start)
        for _ in range(20):
            client.chat([{"role": "user", "content": "Hi"}], model="qwen-plus")
    assert started == []  # deadlines are kept by the one scheduler thread


def test_the_scheduler_fires_in_order_and_skips_cancelled() -> None:
    import threading

    from dashscope_ws._deadlines import schedule

    fired: list[int] = []
    done = threading.Event()
    schedule(0.05, lambda: fired.append(2))
    schedule(0.2, lambda: fired.append(3)).cancel()
    schedule(0.01, lambda: fired.append(1))
    schedule(0.3, done.set)
    assert done.wait(5)
    assert fired == [1, 2]


@MODES
def test_chat_of_a_stream_only_model_is_bounded_by_total_timeout(mode: str) -> None:
    event = f"id:1\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(REPLY)}\n\n".encode()
    partial = event.replace(b'"stop"', b'"null"')

    def endless(connection: socket.socket) -> None:
        read_request(connection)
        connection.sendall(_headers(sse=True))
        for _ in range(40):
            connection.sendall(partial)
            time.sleep(0.1)

    with raw_server(endless) as port:
        started = time.monotonic()
        error = raised(mode, _client(port), "chat", model="qwq-plus")  # folded from a stream
        elapsed = time.monotonic() - started
    assert isinstance(error, APITimeoutError)
    assert elapsed < 3 * DEADLINE


def _oversized(connection: socket.socket, head: bytes, body: bytes) -> None:
    read_request(connection)
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + head + b"\r\n")
    connection.sendall(body)


@MODES
@pytest.mark.parametrize("kind", ["gzip", "chunked"])
def test_the_size_limit_holds_without_a_trustworthy_length(mode: str, kind: str) -> None:
    # A compressed body inflates past its declared length; a chunked one declares none.
    # Both are counted as they are read (the one-read path is for plain declared lengths).
    payload = b'{"output": "' + b"x" * 200_000 + b'"}'
    if kind == "gzip":
        body = gzip.compress(payload)
        head = f"Content-Encoding: gzip\r\nContent-Length: {len(body)}\r\n".encode()
    else:
        body = f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n\r\n"
        head = b"Transfer-Encoding: chunked\r\n"
    with raw_server(lambda connection: _oversized(connection, head, body)) as port:
        client = DashScopeClient(
            api_key="sk-test",
            base_url=f"http://127.0.0.1:{port}",
            max_response_bytes=100_000,
            retry_policy=RetryPolicy(0),
        )
        error = raised(mode, client, "chat")
    assert isinstance(error, ResponseTooLargeError), repr(error)


@MODES
def test_a_body_cut_short_of_its_length_is_a_connection_error(mode: str) -> None:
    body = json.dumps(REPLY).encode()

    def short(connection: socket.socket) -> None:
        read_request(connection)
        connection.sendall(_headers(len(body) + 10) + body)
        connection.close()

    with raw_server(short) as port:
        client = DashScopeClient(
            api_key="sk-test", base_url=f"http://127.0.0.1:{port}", retry_policy=RetryPolicy(0)
        )
        error = raised(mode, client, "chat")
    assert isinstance(error, APIConnectionError), repr(error)

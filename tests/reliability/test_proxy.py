"""Proxy parity: sync and async honour ``proxy=``, ``HTTP(S)_PROXY`` and ``NO_PROXY`` alike."""

from __future__ import annotations

import http.client
import os
import socket
from urllib.parse import urlsplit

import pytest
from reliability_tools import raised, raw_server

from dashscope_ws import APIConnectionError, DashScopeClient, RetryPolicy
from dashscope_ws.emulator import MAIN_KEY, Emulator
from dashscope_ws.http import select_proxy

MODES = pytest.mark.parametrize("mode", ["sync", "async"])
REMOTE = "https://api.example.invalid/api/v1"


def _read_head(connection: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


class Proxy:
    """A plain-HTTP forward proxy: relays absolute-URI requests, refuses CONNECT (403)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, connection: socket.socket) -> None:
        head, body = _read_head(connection)
        lines = head.decode("latin-1").split("\r\n")
        self.seen.append(lines[0])
        method, target, _ = lines[0].split(" ", 2)
        if method == "CONNECT":
            connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), 0))
        while len(body) < length:
            body += connection.recv(65536)
        url = urlsplit(target)
        upstream = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
        forwarded = {k: v for k, v in headers.items() if not k.lower().startswith("proxy-")}
        upstream.request(method, url.path, body=body, headers=forwarded)
        answer = upstream.getresponse()
        payload = answer.read()
        kind = answer.getheader("Content-Type", "application/json")
        connection.sendall(
            f"HTTP/1.1 {answer.status} OK\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )
        upstream.close()


@MODES
def test_explicit_proxy_carries_the_calls(mode: str, dashscope_emulator: Emulator) -> None:
    proxy = Proxy()
    with raw_server(proxy) as port:
        client = DashScopeClient(
            api_key=MAIN_KEY, base_url=dashscope_emulator.base_url, proxy=f"http://127.0.0.1:{port}"
        )
        error = raised(mode, client, "chat", model="no-such-model")  # any answer will do
    assert getattr(error, "status_code", None) in (400, 403, 404)  # the emulator answered
    assert len(proxy.seen) == 1
    assert proxy.seen[0].startswith(f"POST {dashscope_emulator.base_url}/services/")


@MODES
def test_environment_proxy_is_honoured_for_remote_hosts(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = Proxy()
    with raw_server(proxy) as port:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        client = DashScopeClient(api_key="sk-test", base_url=REMOTE, retry_policy=RetryPolicy(0))
        error = raised(mode, client, "chat")
    assert isinstance(error, APIConnectionError)
    # The key stays inside the TLS tunnel: the proxy only saw CONNECT.
    assert [line.rsplit(" ", 1)[0] for line in proxy.seen] == ["CONNECT api.example.invalid:443"]


@MODES
def test_no_proxy_and_trust_env_false_bypass_it(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = Proxy()
    with raw_server(proxy) as port:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("NO_PROXY", "example.invalid")
        for settings in ({}, {"trust_env": False}):
            client = DashScopeClient(
                api_key="sk-test", base_url=REMOTE, retry_policy=RetryPolicy(0), **settings
            )
            assert isinstance(raised(mode, client, "chat"), APIConnectionError)  # DNS fails
            monkeypatch.delenv("NO_PROXY", raising=False)
    assert proxy.seen == []


@MODES
def test_loopback_never_goes_through_an_environment_proxy(
    mode: str, monkeypatch: pytest.MonkeyPatch, dashscope_emulator: Emulator
) -> None:
    proxy = Proxy()
    with raw_server(proxy) as port:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
        client = DashScopeClient(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url)
        error = raised(mode, client, "chat", model="no-such-model")
    assert getattr(error, "status_code", None) is not None  # answered by the emulator directly
    assert proxy.seen == []  # the key never went to the proxy in clear text


def test_plain_http_through_a_remote_proxy_is_refused() -> None:
    with pytest.raises(ValueError, match="proxy"):
        DashScopeClient(
            api_key="sk-test", base_url="http://127.0.0.1:9", proxy="http://10.1.2.3:3128"
        )
    client = DashScopeClient(
        api_key="sk-test",
        base_url="http://127.0.0.1:9",
        proxy="http://10.1.2.3:3128",
        allow_insecure_http=True,
    )
    assert client.config.proxy == "http://10.1.2.3:3128"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "[::1]", "localhost"])
def test_select_proxy_skips_loopback(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    assert select_proxy(f"http://{host}:8080/api/v1", proxy=None, trust_env=True) is None
    assert (
        select_proxy("http://api.example.com/api/v1", proxy=None, trust_env=True)
        == "http://proxy.example:3128"
    )


def test_any_spelling_of_a_proxy_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    # The quick "no proxy variable at all" check must not miss what urllib would find.
    for name in [n for n in os.environ if n.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    assert select_proxy("https://api.example.com/api/v1", proxy=None, trust_env=True) is None
    monkeypatch.setenv("Https_Proxy", "http://proxy.example:3128")
    assert (
        select_proxy("https://api.example.com/api/v1", proxy=None, trust_env=True)
        == "http://proxy.example:3128"
    )
    monkeypatch.setenv("NO_PROXY", "example.com")
    assert select_proxy("https://api.example.com/api/v1", proxy=None, trust_env=True) is None

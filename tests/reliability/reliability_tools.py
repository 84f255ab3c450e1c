"""Shared tools of the reliability tests: a secret scanner and tiny loopback servers."""

from __future__ import annotations

import asyncio
import pickle
import socket
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pydantic

from dashscope_ws import DashScopeClient
from dashscope_ws.config import SecretStr


def _children(value: Any) -> list[Any]:
    # A secret wrapper is a leaf: what printers show of it is its masked repr. (pydantic's
    # SecretStr, which the LangChain adapter's ``api_key`` field is by LangChain convention,
    # keeps the value in ``__dict__``; no traceback printer walks into it.)
    if isinstance(value, (SecretStr, pydantic.SecretStr)):
        return []
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    if isinstance(value, (str, bytes, int, float, types.ModuleType, type)):
        return []
    attributes = getattr(value, "__dict__", None)
    return list(attributes.values()) if isinstance(attributes, dict) else []


def leaks(value: Any, secret: str, *, depth: int = 5, seen: set[int] | None = None) -> list[str]:
    """Reprs (as pytest --showlocals / Sentry print them), recursively, that show ``secret``."""
    seen = set() if seen is None else seen
    if id(value) in seen or depth < 0:
        return []
    seen.add(id(value))
    try:
        text = repr(value)
    except Exception:
        text = ""
    found = [text[:200]] if secret in text else []
    for child in _children(value):
        found += leaks(child, secret, depth=depth - 1, seen=seen)
    return found


def exception_leaks(error: BaseException, secret: str) -> list[str]:
    """Scan an exception as error trackers do: its chain, every frame's locals, its pickle."""
    found: list[str] = []
    chain: BaseException | None = error
    while chain is not None:
        found += [f"message: {text}" for text in (str(chain), repr(chain)) if secret in text]
        tb = chain.__traceback__
        while tb is not None:
            if "/tests/" in tb.tb_frame.f_code.co_filename:  # the test's own frames hold the key
                tb = tb.tb_next
                continue
            for name, local in tb.tb_frame.f_locals.items():
                found += [f"{tb.tb_frame.f_code.co_name}.{name}: {t}" for t in leaks(local, secret)]
            tb = tb.tb_next
        if secret.encode() in pickle.dumps(chain):
            found.append(f"pickle of {type(chain).__name__}")
        chain = chain.__cause__ or chain.__context__
    return found


def raised(mode: str, client: DashScopeClient, method: str, **kwargs: Any) -> BaseException:
    """Run ``client.<method>`` (its async twin in async mode) and return what it raised."""
    messages = [{"role": "user", "content": "Hello"}]
    kwargs.setdefault("model", "qwen-plus")
    if mode == "sync":
        try:
            result = getattr(client, method)(messages, **kwargs)
            if method == "stream_chat":
                list(result)
        except Exception as error:
            return error
        raise AssertionError("nothing was raised")

    async def go() -> BaseException:
        try:
            result = getattr(client, "a" + method)(messages, **kwargs)
            if method == "stream_chat":
                async for _ in result:
                    pass
            else:
                await result
        except Exception as error:
            return error
        finally:
            await client.aclose()
        raise AssertionError("nothing was raised")

    return asyncio.run(go())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def raw_server(serve: Callable[[socket.socket], None]) -> Iterator[int]:
    """A loopback TCP server calling ``serve(connection)`` in a thread per connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def handle(connection: socket.socket) -> None:
        # OSError: the client hung up, which is what these servers are for.
        with connection, suppress(OSError):
            serve(connection)

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=handle, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def read_request(connection: socket.socket) -> bytes:
    """Read one HTTP request (headers and a Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head


def trickle(connection: socket.socket, payload: bytes, interval: float) -> None:
    """Send ``payload`` one byte at a time (a slow server or proxy)."""
    for byte in payload:
        connection.sendall(bytes([byte]))
        time.sleep(interval)

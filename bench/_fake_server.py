"""A minimal fake DashScope on loopback serving canned bytes (for ``bench_scenarios.py``).

Runs in its own process (``python bench/_fake_server.py``; prints its base URL as the first
line of stdout) so the server's CPU is never charged to the client being measured. Answers
are precomputed: the only work per request is reading the body and, for embeddings,
counting the texts. Wire shapes follow the emulator (``dashscope_ws.emulator``):

* ``POST /api/v1/services/aigc/text-generation/generation``: a JSON reply, or with
  ``X-DashScope-SSE: enable`` (or ``Accept: text/event-stream``) an SSE stream of
  ``CHUNKS`` incremental events (one short word each, the last with ``finish_reason``);
* ``POST /api/v1/services/embeddings/text-embedding/text-embedding``: one ``DIM``-float
  vector per input text;
* ``POST /_control`` with ``{"latency": seconds, "chunks": n}``: set the delay before every
  answer and the number of stream events.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from aiohttp import web

DIM = 1024
_STATE: dict[str, Any] = {"latency": 0.0, "chunks": 500}
_CACHE: dict[tuple[str, int], bytes] = {}
_USAGE = {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6}


def _choice(content: str, finish: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": content}
    return {"message": message, "finish_reason": finish}


def _reply() -> bytes:
    body = {"output": {"choices": [_choice("Hello from the fake server.", "stop")]},
            "usage": _USAGE, "request_id": "req-bench"}  # fmt: skip
    return json.dumps(body).encode()


def _stream(n: int) -> bytes:
    events = []
    for i in range(n):
        last = i == n - 1
        usage = {"input_tokens": 5, "output_tokens": i + 1, "total_tokens": i + 6}
        choice = _choice("" if last else "tok ", "stop" if last else "null")
        payload = {"output": {"choices": [choice]}, "usage": usage, "request_id": "req-bench"}
        events.append(f"id:{i + 1}\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(payload)}\n\n")
    return "".join(events).encode()


def _embeddings(count: int) -> bytes:
    vector = [round(0.001 * (i % 97), 3) for i in range(DIM)]
    rows = [{"text_index": i, "embedding": vector} for i in range(count)]
    body = {"output": {"embeddings": rows}, "usage": {"total_tokens": 10 * count},
            "request_id": "req-bench"}  # fmt: skip
    return json.dumps(body).encode()


def _cached(kind: str, n: int) -> bytes:
    key = (kind, n)
    if key not in _CACHE:
        _CACHE[key] = {"stream": _stream, "embed": _embeddings}[kind](n) if n else _reply()
    return _CACHE[key]


async def _wait() -> None:
    if _STATE["latency"]:
        await asyncio.sleep(_STATE["latency"])


async def generation(request: web.Request) -> web.StreamResponse:
    await request.read()
    await _wait()
    sse = request.headers.get(
        "X-DashScope-SSE"
    ) == "enable" or "event-stream" in request.headers.get("Accept", "")
    if not sse:
        return web.Response(body=_cached("reply", 0), content_type="application/json")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(_cached("stream", int(_STATE["chunks"])))
    await response.write_eof()
    return response


async def embedding(request: web.Request) -> web.Response:
    body = json.loads(await request.read())
    await _wait()
    count = len(body["input"]["texts"])
    return web.Response(body=_cached("embed", count), content_type="application/json")


async def control(request: web.Request) -> web.Response:
    _STATE.update(json.loads(await request.read()))
    return web.json_response(_STATE)


async def main() -> None:
    app = web.Application(client_max_size=64 * 1024**2)
    app.router.add_post("/api/v1/services/aigc/text-generation/generation", generation)
    app.router.add_post("/api/v1/services/embeddings/text-embedding/text-embedding", embedding)
    app.router.add_post("/_control", control)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"http://127.0.0.1:{port}/api/v1", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)

"""The aiohttp application: routing, the request log, scripted replies and response writing.

Order of checks for every request: API key -> workspace -> body parses -> model exists ->
model granted to the key's workspace -> model served on this path -> parameters valid ->
scripted reply (if one is queued for this endpoint kind) or the emulated model's answer.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from .batch import BatchService
from .behaviour import Reply, message_text, plan_reply
from .chat import Shape, app_body, app_payloads, chat_body, chat_payloads, input_tokens
from .gate import authenticate, authorize_model
from .identities import EmulatorConfig
from .retrieval import embed, rerank, rerank_compatible
from .script import RecordedRequest, RequestLog, ScriptedReply, ScriptQueue
from .tokenizer import count_tokens
from .validate import MISSING_MESSAGES, validate_chat
from .wire import (
    SSE_CONTENT_TYPE,
    ServiceError,
    dumps,
    error_event,
    invalid,
    new_request_id,
    result_event,
)

__all__ = ["EmulatorService"]

T = TypeVar("T")
_BAD_BODY = "Required body invalid, please check the request body format."
_INVALID = object()  # marks a body that is present but not JSON


@dataclass(frozen=True)
class _Context:
    body: Any
    request_id: str


# Per-request state without aiohttp's request storage (its typed keys need aiohttp >= 3.12):
# every request is handled in its own task, so a context variable is request-local.
_CURRENT: contextvars.ContextVar[_Context] = contextvars.ContextVar("dashscope_emulator_request")


def _request_id() -> str:
    return _CURRENT.get().request_id


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _DroppedError(Exception):
    """The scripted reply asked to drop the connection."""

    def __init__(self, response: web.StreamResponse | None = None) -> None:
        super().__init__("connection dropped by a scripted reply")
        self.response = response


class EmulatorService:
    """The state shared by the emulator's handlers (config, script queue, request log).

    Example:
        >>> service = EmulatorService(EmulatorConfig())
        >>> len(service.script), service.log.snapshot()
        (0, [])
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.script = ScriptQueue()
        self.log = RequestLog()
        self.batches = BatchService(config)

    def application(self) -> web.Application:
        """A fresh aiohttp application serving the emulated endpoints."""
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024**2)
        generation = "/api/v1/services/aigc/{task}/generation"
        app.router.add_post(generation, self._generation)
        app.router.add_post(
            "/api/v1/services/embeddings/text-embedding/text-embedding", self._embedding
        )
        app.router.add_post("/api/v1/services/rerank/text-rerank/text-rerank", self._rerank)
        app.router.add_post("/compatible-api/v1/reranks", self._rerank_compatible)
        app.router.add_post("/api/v1/apps/{app_id}/completion", self._app)
        self.batches.routes(app)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.read()
        parsed: Any = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = _INVALID
        _CURRENT.set(_Context(parsed, new_request_id()))
        opened = RecordedRequest(
            method=request.method,
            path=request.path,
            headers=CIMultiDictProxy(CIMultiDict(request.headers)),
            json=None if parsed is _INVALID else parsed,
            started=time.monotonic(),
        )
        index = self.log.open(opened)
        status: int | None = None
        try:
            response = await handler(request)
            status = response.status
            return response
        except ServiceError as error:
            status = error.status
            body = error.body(_request_id())
            return _json(body, status=error.status, headers=error.headers)
        except _DroppedError as dropped:
            # Closing the socket mid-body is the point: the client must see a truncated answer.
            if request.transport is not None:
                request.transport.close()
            status = dropped.response.status if dropped.response is not None else None
            return dropped.response or web.Response()
        finally:
            self.log.close(index, opened, replace(opened, finished=time.monotonic(), status=status))

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _body(request: web.Request) -> Mapping[str, Any]:
        body = _CURRENT.get().body
        if not isinstance(body, Mapping):
            raise invalid(_BAD_BODY)
        return body

    @staticmethod
    def _wants_stream(request: web.Request, *, accept_header: bool) -> bool:
        if request.headers.get("X-DashScope-SSE", "").strip().lower() == "enable":
            return True
        return accept_header and "text/event-stream" in request.headers.get("Accept", "")

    async def _prelude(self, scripted: ScriptedReply | None, stream: bool) -> dict[str, str]:
        """Apply a script's delay and pre-stream failure; return extra response headers."""
        if scripted is None:
            return {}
        headers = dict(scripted.headers)
        if scripted.retry_after is not None:
            headers["Retry-After"] = f"{scripted.retry_after:g}"
        if scripted.delay_before_first_byte:
            await asyncio.sleep(scripted.delay_before_first_byte)
        failure = scripted.error_body()
        if failure is not None and (scripted.error_after_chunks is None or not stream):
            raise ServiceError(*failure, headers=headers)
        if scripted.drop_after_chunks is not None and not stream:
            raise _DroppedError
        return headers

    async def _send(
        self,
        request: web.Request,
        *,
        stream: bool,
        scripted: ScriptedReply | None,
        body: Callable[[], Mapping[str, Any]],
        payloads: Callable[[], Iterable[Mapping[str, Any]]],
    ) -> web.StreamResponse:
        headers = await self._prelude(scripted, stream)
        if not stream:
            return _json(body(), headers=headers)
        # Faults strike before the final event at the latest, so the stream is always cut.
        error_after = scripted.error_after_chunks if scripted is not None else None
        drop_after = scripted.drop_after_chunks if scripted is not None else None
        response = web.StreamResponse(status=200, headers=headers)
        response.headers["Content-Type"] = SSE_CONTENT_TYPE
        await response.prepare(request)
        # Payloads are made one at a time: cumulative snapshots of a long reply would not
        # all fit in memory at once.
        for position, (payload, last) in enumerate(_with_last(payloads())):
            if position and scripted is not None and scripted.delay_between_chunks:
                await asyncio.sleep(scripted.delay_between_chunks)
            if error_after is not None and (position >= error_after or last):
                assert scripted is not None
                status, code, message = scripted.error_body() or (500, "InternalError", "")
                error = {"code": code, "message": message, "request_id": _request_id()}
                await response.write(
                    error_event(status, error, status_line=scripted.error_status_line)
                )
                break
            if drop_after is not None and (position >= drop_after or last):
                raise _DroppedError(response)
            await response.write(result_event(position + 1, payload))
        await response.write_eof()
        return response

    # -- endpoints -------------------------------------------------------------------------

    async def _generation(self, request: web.Request) -> web.StreamResponse:
        task = request.match_info["task"]
        if task not in ("text-generation", "multimodal-generation"):
            return await self._not_found(request)
        multimodal = task == "multimodal-generation"
        key, _ = authenticate(self.config, request.headers)
        body = self._body(request)
        spec = authorize_model(
            self.config, key, body.get("model"), "multimodal" if multimodal else "text"
        )
        stream = self._wants_stream(request, accept_header=False)
        chat = validate_chat(body, spec, stream=stream, multimodal=multimodal)
        scripted = self.script.take("chat")
        reply = _scripted_reply(scripted) or plan_reply(
            chat.model, chat.messages, chat.parameters, thinking=chat.thinking
        )
        shape = Shape(
            message_format=chat.message_format,
            multimodal=multimodal,
            incremental=chat.incremental,
            thinking=chat.thinking,
            request_id=_request_id(),
        )
        prompt = input_tokens(chat.messages, chat.parameters)
        usage = scripted.usage if scripted is not None else None
        return await self._send(
            request,
            stream=stream,
            scripted=scripted,
            body=lambda: chat_body(reply, shape, prompt, usage),
            payloads=lambda: chat_payloads(reply, shape, prompt, usage),
        )

    async def _embedding(self, request: web.Request) -> web.StreamResponse:
        key, _ = authenticate(self.config, request.headers)
        body = self._body(request)
        authorize_model(self.config, key, body.get("model"), "embedding")
        answer = embed(str(body["model"]), body, _request_id())
        return await self._plain(request, "embedding", answer)

    async def _rerank(self, request: web.Request) -> web.StreamResponse:
        key, _ = authenticate(self.config, request.headers)
        body = self._body(request)
        authorize_model(self.config, key, body.get("model"), "rerank")
        return await self._plain(request, "rerank", rerank(body, _request_id()))

    async def _rerank_compatible(self, request: web.Request) -> web.StreamResponse:
        key, _ = authenticate(self.config, request.headers)
        body = self._body(request)
        authorize_model(self.config, key, body.get("model"), "rerank-compatible")
        answer = rerank_compatible(body, _request_id())
        return await self._plain(request, "rerank", answer)

    async def _plain(
        self, request: web.Request, kind: str, answer: Mapping[str, Any]
    ) -> web.StreamResponse:
        scripted = self.script.take(kind)
        return await self._send(
            request, stream=False, scripted=scripted, body=lambda: answer, payloads=list
        )

    async def _app(self, request: web.Request) -> web.StreamResponse:
        authenticate(self.config, request.headers)
        body = self._body(request)
        raw_input = body.get("input")
        if not isinstance(raw_input, Mapping):
            raise invalid(MISSING_MESSAGES)
        messages: Any = raw_input.get("messages")
        if isinstance(raw_input.get("prompt"), str):
            messages = [*(messages or []), {"role": "user", "content": raw_input["prompt"]}]
        if not isinstance(messages, list) or not messages:
            raise invalid(MISSING_MESSAGES)
        parameters = body.get("parameters") or {}
        stream = self._wants_stream(request, accept_header=True)
        scripted = self.script.take("app")
        model = "qwen-plus"  # what the emulated app runs on, reported in usage.models
        text = (
            _scripted_reply(scripted) or plan_reply(model, messages, {}, thinking=False)
        ).content
        session_id = str(raw_input.get("session_id") or uuid.uuid4().hex)
        prompt = sum(
            count_tokens(message_text(m.get("content"))) for m in messages if isinstance(m, Mapping)
        )
        incremental = (
            bool(parameters.get("incremental_output", False))
            if isinstance(parameters, Mapping)
            else False
        )
        rid = _request_id()
        return await self._send(
            request,
            stream=stream,
            scripted=scripted,
            body=lambda: app_body(text, session_id, model, prompt, count_tokens(text), "stop", rid),
            payloads=lambda: app_payloads(text, session_id, model, prompt, incremental, rid),
        )

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        raise ServiceError(404, "NotFound", "Not found!")


def _json(
    body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=dumps(body), status=status, headers=headers, content_type="application/json"
    )


def _with_last(items: Iterable[T]) -> Iterator[tuple[T, bool]]:
    """Each item with whether it is the last one (one item of look-ahead)."""
    iterator = iter(items)
    for current in iterator:
        for following in iterator:
            yield current, False
            current = following
        yield current, True


def _scripted_reply(scripted: ScriptedReply | None) -> Reply | None:
    if scripted is None or (
        scripted.text is None and scripted.tool_calls is None and scripted.reasoning is None
    ):
        return None
    calls = []
    for call in scripted.tool_calls or []:
        arguments = call.get("arguments", "{}")
        calls.append(
            {
                "id": str(call.get("id") or f"call_{uuid.uuid4().hex[:22]}"),
                "name": str(call["name"]),
                "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
            }
        )
    finish = scripted.finish_reason or ("tool_calls" if calls else "stop")
    return Reply(
        content=scripted.text or "",
        reasoning=scripted.reasoning or "",
        tool_calls=calls,
        finish_reason=finish,
    )

"""The aiohttp application: routing, the request log, scripted replies and response writing.

Order of checks for every request: API key -> workspace -> body parses -> model exists ->
model granted to the key's workspace -> model served on this path -> parameters valid ->
scripted reply (if one is queued for this endpoint kind) or the emulated model's answer.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from .app_calls import read_app_call
from .apps import AppSessions, answer_app, app_answer_body, app_stream, authorize_app
from .batch import BatchService
from .behaviour import plan_reply
from .chat import Shape, chat_body, chat_payloads, input_tokens
from .gate import authenticate, authorize_model
from .identities import EmulatorConfig
from .knowledge import find_index, lookup_pipeline, retrieve
from .multimodal import check_media
from .quotas import QuotaDesk
from .requestbody import BAD_BODY, INVALID, read_json
from .retrieval import embed, rerank, rerank_compatible
from .script import RecordedRequest, RequestLog, ScriptedReply, ScriptQueue, scripted_reply
from .tokenize import tokenize
from .uploads import OSS_UPLOAD_PATH, OssError, UploadStore
from .validate import validate_chat
from .wire import (
    SSE_CONTENT_TYPE,
    ServiceError,
    error_event,
    invalid,
    json_response,
    new_request_id,
    result_event,
)

__all__ = ["EmulatorService"]

T = TypeVar("T")
_INTERNAL = "An internal error has occured, please try again later or contact service support."
_LOG = logging.getLogger("dashscope_ws.emulator")


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


class _ClientGoneError(Exception):
    """The client closed the connection while a stream was being written."""

    def __init__(self, response: web.StreamResponse) -> None:
        super().__init__("client disconnected mid-stream")
        self.response = response


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
        self.quotas = QuotaDesk(config, _request_id)
        self.uploads = UploadStore()
        self.sessions = AppSessions()
        self.batches = BatchService(config)

    def application(self) -> web.Application:
        """A fresh aiohttp application serving the emulated endpoints."""
        app = web.Application(
            middlewares=[self._middleware, self.quotas.enforce], client_max_size=64 * 1024**2
        )
        generation = "/api/v1/services/aigc/{task}/generation"
        app.router.add_post(generation, self._generation)
        app.router.add_post(
            "/api/v1/services/embeddings/text-embedding/text-embedding", self._embedding
        )
        app.router.add_post("/api/v1/services/rerank/text-rerank/text-rerank", self._rerank)
        app.router.add_post("/compatible-api/v1/reranks", self._rerank_compatible)
        app.router.add_post("/api/v1/apps/{app_id}/completion", self._app)
        self.quotas.add_routes(app)
        app.router.add_get("/api/v1/uploads", self._upload_policy)
        app.router.add_post(OSS_UPLOAD_PATH, self._oss_upload)
        app.router.add_post("/api/v1/tokenizer", self._tokenize)
        app.router.add_post("/api/v1/indices/pipeline/{pipeline_id}/retrieve", self._retrieve)
        app.router.add_get("/api/v1/indices/pipeline_simple", self._pipeline_lookup)
        self.batches.routes(app)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = new_request_id()
        unreadable: ServiceError | None = None
        try:
            parsed = await read_json(request)
        except ServiceError as error:  # too large: answered below, once the request is logged
            parsed, unreadable = None, error
        _CURRENT.set(_Context(parsed, request_id))
        opened = RecordedRequest(
            method=request.method,
            path=request.path,
            headers=CIMultiDictProxy(CIMultiDict(request.headers)),
            json=None if parsed is INVALID else parsed,
            started=time.monotonic(),
        )
        index = self.log.open(opened)
        status: int | None = None
        try:
            if unreadable is not None:
                raise unreadable
            response = await handler(request)
            status = response.status
            return response
        except ServiceError as error:
            status = error.status
            return json_response(error.body(request_id), status=error.status, headers=error.headers)
        except _DroppedError as dropped:
            # Closing the socket mid-body is the point: the client must see a truncated answer.
            if request.transport is not None:
                request.transport.close()
            status = dropped.response.status if dropped.response is not None else None
            return dropped.response or web.Response()
        except _ClientGoneError as gone:
            # The client left mid-stream: nothing to answer and nothing worth a traceback.
            status = gone.response.status
            return gone.response
        except RecursionError:
            # JSON nested deeper than the interpreter can walk (parsed, or re-serialised).
            status = 400
            return json_response(invalid(BAD_BODY).body(request_id), status=400)
        except Exception:  # a bug: still answer in the service's shape, and say so in the log
            _LOG.exception("emulator failed on %s %s", request.method, request.path)
            status = 500
            return json_response(
                ServiceError(500, "InternalError", _INTERNAL).body(request_id), status=500
            )
        finally:
            self.log.close(index, opened, replace(opened, finished=time.monotonic(), status=status))

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _body(request: web.Request) -> Mapping[str, Any]:
        body = _CURRENT.get().body
        if not isinstance(body, Mapping):
            raise invalid(BAD_BODY)
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
            return json_response(body(), headers=headers)
        # Faults strike before the final event at the latest, so the stream is always cut.
        response = web.StreamResponse(status=200, headers=headers)
        response.headers["Content-Type"] = SSE_CONTENT_TYPE
        await response.prepare(request)
        try:
            await self._stream(response, scripted, payloads)
        except ConnectionError:  # aiohttp's ClientConnectionResetError is one
            raise _ClientGoneError(response) from None
        return response

    async def _stream(
        self,
        response: web.StreamResponse,
        scripted: ScriptedReply | None,
        payloads: Callable[[], Iterable[Mapping[str, Any]]],
    ) -> None:
        error_after = scripted.error_after_chunks if scripted is not None else None
        drop_after = scripted.drop_after_chunks if scripted is not None else None
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
        media = None
        if multimodal:
            resolve = request.headers.get("X-DashScope-OssResourceResolve", "").strip().lower()
            media = check_media(
                chat.messages, self.uploads, chat.model, resolve=resolve == "enable"
            )
        scripted = self.script.take("chat")
        reply = scripted_reply(scripted)
        if reply is None:
            reply = plan_reply(chat.model, chat.messages, chat.parameters, thinking=chat.thinking)
            # Structured output stays parseable: the media sentence goes to plain text only.
            plain = not reply.tool_calls and "response_format" not in chat.parameters
            if media is not None and not media.empty and plain:
                reply.content = f"{media.describe()} {reply.content}"
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

    async def _tokenize(self, request: web.Request) -> web.StreamResponse:
        key, _ = authenticate(self.config, request.headers)
        body = self._body(request)
        authorize_model(self.config, key, body.get("model"), "text")
        rid = _request_id()
        return json_response(tokenize(body, rid), headers={"X-DashScope-Request-Id": rid})

    async def _plain(
        self, request: web.Request, kind: str, answer: Mapping[str, Any]
    ) -> web.StreamResponse:
        scripted = self.script.take(kind)
        return await self._send(
            request, stream=False, scripted=scripted, body=lambda: answer, payloads=list
        )

    async def _app(self, request: web.Request) -> web.StreamResponse:
        _, workspace = authenticate(self.config, request.headers)
        spec = authorize_app(self.config.apps, request.match_info["app_id"], workspace)
        body = self._body(request)
        call = read_app_call(body, self.config.indices, workspace)
        scripted = self.script.take("app")
        reply = scripted_reply(scripted)
        session_id = call.session_id or uuid.uuid4().hex
        answer = answer_app(
            spec,
            call.messages,
            self.sessions.turns(session_id),
            has_thoughts=call.has_thoughts,
            biz_params=call.biz_params,
            extra_documents=call.documents,
            indexed=call.indexed,
            scripted_text=reply.content if reply is not None else None,
        )
        self.sessions.add(session_id, call.question)
        rid = _request_id()
        return await self._send(
            request,
            stream=self._wants_stream(request, accept_header=True),
            scripted=scripted,
            body=lambda: app_answer_body(answer, session_id, rid),
            payloads=lambda: app_stream(answer, session_id, call.incremental, rid),
        )

    async def _upload_policy(self, request: web.Request) -> web.StreamResponse:
        key, _ = authenticate(self.config, request.headers)
        model = request.query.get("model")
        authorize_model(self.config, key, model, "uploads")
        host, port = (
            request.transport.get_extra_info("sockname")[:2]
            if request.transport
            else ("127.0.0.1", 0)
        )
        shown = f"[{host}]" if ":" in str(host) else host
        data = self.uploads.issue(request.query, key, f"http://{shown}:{port}{OSS_UPLOAD_PATH}")
        return json_response({"request_id": _request_id(), "data": data})

    async def _oss_upload(self, request: web.Request) -> web.StreamResponse:
        try:
            self.uploads.accept(request.headers.get("Content-Type", ""), await request.read())
        except OssError as error:
            return web.Response(
                status=error.status, text=error.xml(_request_id()), content_type="application/xml"
            )
        return web.Response(status=200)

    async def _retrieve(self, request: web.Request) -> web.StreamResponse:
        _, workspace = authenticate(self.config, request.headers)
        index = find_index(self.config.indices, request.match_info["pipeline_id"], workspace)
        answer = retrieve(index, self._body(request), _request_id())
        return await self._plain(request, "retrieve", answer)

    async def _pipeline_lookup(self, request: web.Request) -> web.StreamResponse:
        _, workspace = authenticate(self.config, request.headers)
        name = request.query.get("pipeline_name")
        answer = lookup_pipeline(self.config.indices, name, workspace, _request_id())
        return await self._plain(request, "retrieve", answer)

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        raise ServiceError(404, "NotFound", "Not found!")


def _with_last(items: Iterable[T]) -> Iterator[tuple[T, bool]]:
    """Each item with whether it is the last one (one item of look-ahead)."""
    iterator = iter(items)
    for current in iterator:
        for following in iterator:
            yield current, False
            current = following
        yield current, True

"""Run the emulator: in a background thread (:class:`Emulator`) or in the foreground."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from pathlib import Path
from types import TracebackType

from aiohttp import web
from aiohttp.web_request import BaseRequest

from .batch import BatchService
from .handlers import EmulatorService
from .identities import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, EmulatorConfig
from .script import RecordedRequest, ScriptedReply
from .uploads import UploadStore
from .wire import dumps, new_request_id

__all__ = ["Emulator", "run_server"]

_SHUTDOWN_TIMEOUT = 1.0  # seconds granted to in-flight responses when stopping
_LOG = logging.getLogger("dashscope_ws.emulator")
# The emulator's own wording (assumed): the real gateway's answer to malformed HTTP is unknown.
_MALFORMED = "Bad request: the HTTP message is malformed or its headers are too large."
_INTERNAL = "An internal error has occured, please try again later or contact service support."


class _ServiceShapedHandler(web.RequestHandler):
    """aiohttp's connection handler, answering malformed HTTP in the service's error shape.

    Requests aiohttp cannot parse (a header over 8190 bytes, a broken request line or chunked
    encoding) never reach the application or its middleware: aiohttp answers them itself with
    plain text and logs a traceback. The service's gateway answers JSON; so does this.
    """

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # mid-answer: only closing is left (as aiohttp does)
            raise ConnectionError("response already started")
        _LOG.debug("malformed request from %s: %s", request.remote, message or exc)
        if status == 413:
            code, text = "BadRequest.TooLarge", "Payload Too Large."
        elif 400 <= status < 500:
            code, text = "InvalidParameter", _MALFORMED
        else:
            code, text = "InternalError", _INTERNAL
        body = {"code": code, "message": text, "request_id": new_request_id()}
        response = web.Response(status=status, text=dumps(body), content_type="application/json")
        response.force_close()
        return response


class _Server(web.Server):
    def __call__(self) -> web.RequestHandler:
        return _ServiceShapedHandler(self, loop=self._loop, **self._kwargs)


class _Runner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        return _Server(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            **plain._kwargs,
        )


async def _start_site(service: EmulatorService, host: str, port: int) -> tuple[web.AppRunner, int]:
    runner = _Runner(service.application(), access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = int(runner.addresses[0][1])
    return runner, bound_port


class Emulator:
    """A local DashScope emulator on a free loopback port, served from a background thread.

    Example:
        >>> import requests
        >>> with Emulator() as emu:
        ...     response = requests.post(
        ...         emu.base_url + "/services/aigc/text-generation/generation",
        ...         headers={"Authorization": "Bearer " + MAIN_KEY},
        ...         json={"model": "qwen-plus", "input": {"messages": [
        ...             {"role": "user", "content": "Hi"}]}},
        ...     )
        >>> response.status_code
        200
    """

    def __init__(
        self, config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or EmulatorConfig()
        self.host = host
        self._requested_port = port
        self._service = EmulatorService(self.config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Start serving; returns ``self``. Idempotent."""
        if self._thread is not None:
            return self
        ready: concurrent.futures.Future[tuple[web.AppRunner, int]] = concurrent.futures.Future()
        loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                ready.set_result(
                    loop.run_until_complete(
                        _start_site(self._service, self.host, self._requested_port)
                    )
                )
            except BaseException as error:  # hand the failure to start()
                ready.set_exception(error)
                loop.close()
                return
            loop.run_forever()
            _drain(loop)

        thread = threading.Thread(target=serve, name="dashscope-emulator", daemon=True)
        thread.start()
        try:
            self._runner, self.port = ready.result(timeout=30)
        except BaseException:
            thread.join(timeout=5)
            raise
        self._loop, self._thread = loop, thread
        return self

    def stop(self) -> None:
        """Stop serving and join the thread. Idempotent."""
        loop, thread, runner = self._loop, self._thread, self._runner
        if loop is None or thread is None or runner is None:
            return
        future = asyncio.run_coroutine_threadsafe(runner.cleanup(), loop)
        try:
            future.result(timeout=_SHUTDOWN_TIMEOUT + 10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            self._loop = self._thread = self._runner = None
            self.port = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self.port is not None else "stopped"
        return f"Emulator({where})"

    # -- addresses -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The host root, e.g. ``http://127.0.0.1:PORT`` (no trailing slash)."""
        if self.port is None:
            raise RuntimeError("the emulator is not running: call start() or use `with`")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The native API root, ``http://127.0.0.1:PORT/api/v1``."""
        return self.url + "/api/v1"

    @property
    def compatible_url(self) -> str:
        """The compatible API root used by ``qwen3-rerank``: ``.../compatible-api/v1``."""
        return self.url + "/compatible-api/v1"

    # -- scripting and inspection ----------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received since the last :meth:`reset`, oldest first."""
        return self._service.log.snapshot()

    def settled_requests(self, timeout: float = 5.0) -> list[RecordedRequest]:
        """:attr:`requests` once none is in flight (or ``timeout`` seconds have passed).

        A client can read a stream's last event before the server has finished its side
        of the response (its status and ``finished`` are recorded then, on the server's
        thread): tests that check statuses after a stream ask for this, not ``requests``.
        """
        deadline = time.monotonic() + timeout
        while True:
            records = self._service.log.snapshot()
            if all(r.finished is not None for r in records) or time.monotonic() > deadline:
                return records
            time.sleep(0.005)

    def enqueue(self, *replies: ScriptedReply) -> None:
        """Queue scripted replies; each is used by the next request of its kind (FIFO)."""
        self._service.script.add(*replies)

    @property
    def pending(self) -> int:
        """How many scripted replies are still queued."""
        return len(self._service.script)

    @property
    def batches(self) -> BatchService:
        """The emulated files and batch jobs (set ``.timing`` to change their pace)."""
        return self._service.batches

    def reset(self) -> None:
        """Forget queued scripted replies, the request log, uploads and app conversations."""
        self._service.script.clear()
        self._service.log.clear()
        self._service.uploads.reset()
        self._service.sessions.clear()

    @property
    def uploads(self) -> UploadStore:
        """Uploaded objects and the size limit policies state (``max_file_size_mb``)."""
        return self._service.uploads


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what outlived the shutdown grace (a handler sleeping in a scripted delay for
    a client that left) and close the loop, so no task is destroyed while pending."""
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def run_server(host: str = "127.0.0.1", port: int = 8000, config_path: str | None = None) -> None:
    """Serve the emulator in the foreground until interrupted (``dashscope-ws emulator``)."""
    config = EmulatorConfig.load(Path(config_path)) if config_path else EmulatorConfig()

    async def main() -> None:
        runner, bound = await _start_site(EmulatorService(config), host, port)
        shown = f"[{host}]" if ":" in host else host
        print(f"DashScope emulator listening on http://{shown}:{bound}/api/v1", flush=True)
        if config_path is None:
            print(
                f"  main key: {MAIN_KEY}   sub key: {SUB_KEY} (workspace {SUB_WORKSPACE})",
                flush=True,
            )
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())

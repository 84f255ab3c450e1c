"""``DashScopeClient``: sync and async methods over one sans-I/O core.

Every request is built, and every answer parsed, by the pure modules (``protocol``,
``sse``, ``accumulate``, ``retrieval``); retry decisions come from ``retry``. What is left
here is the driver loop — send, parse or feed the decoder, on error ask the policy, sleep,
try again — written once for ``time.sleep`` + ``requests`` and once for ``asyncio.sleep`` +
``aiohttp``. The bookkeeping both loops share (attempts, retry decisions, logging, usage)
lives in :class:`~dashscope_ws._calls.Call`, and the stream loops in
:mod:`dashscope_ws.streams`, so each loop is a few lines. Transports are pluggable
(:mod:`dashscope_ws.transports`); ``aiohttp`` is imported on the first async call.

Errors mid-stream: once a stream has yielded its first chunk it is never retried (the
caller has already seen output); the error propagates. A connection cut mid-stream raises
:class:`~dashscope_ws.errors.APIConnectionError` (it is a network failure); a stream that
ends cleanly but without its final event raises
:class:`~dashscope_ws.errors.StreamProtocolError`. Neither ever ends silently.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ._adaptive import MAXIMUM, AdaptiveConcurrency, gated
from ._apps_client import AppMethods
from ._calls import Call
from ._chat_client import ChatMethods
from ._closeable import Closeable
from ._media import UploadMethods
from ._parsers import embedding_parser, rerank_parser
from ._sync import RequestsTransport
from .config import ClientConfig, SecretStr
from .errors import DashScopeError
from .http import HTTPRequest, RawResponse
from .retrieval import (
    EmbeddingBatch,
    build_embedding_request,
    build_rerank_request,
    embedding_batches,
    merge_embedding_batches,
)
from .retry import RetryPolicy
from .streams import AsyncStream, Decoder, Stream, _Driver
from .types import EmbeddingResult, RerankResult
from .workspace import WorkspaceMethods

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .batch import BatchJobs
    from .settings import ClientSettings, UsageSink
    from .transports import AsyncTransport, Transport

__all__ = ["DashScopeClient"]

T = TypeVar("T")
Messages = Sequence[Mapping[str, Any]]
Parser = Callable[[RawResponse], T]


class DashScopeClient(ChatMethods, WorkspaceMethods, AppMethods, UploadMethods, Closeable):
    """DashScope client with blocking and asyncio methods on one object.

    Settings are resolved once (arguments > environment > defaults, see
    :meth:`ClientConfig.resolve` and :mod:`dashscope_ws.settings` for the full list).
    Each client owns its connection pools, built on first use (``aiohttp`` is imported only
    when an async method is first called); two clients with different keys or workspaces
    never share a session, header or setting. ``model`` and ``workspace`` can be chosen
    per call without changing the client. A client pickles as its settings (the key
    included, like the adapters); the copy builds its own pools.

    Args:
        config: a ready :class:`ClientConfig` (the other settings must then be omitted).
        retry_policy: backoff policy; defaults to ``RetryPolicy(config.max_retries)``.
        transport: a :class:`~dashscope_ws.transports.Transport` (default: ``requests``).
        async_transport: an :class:`~dashscope_ws.transports.AsyncTransport` (default: ``aiohttp``).
        usage_tracker: a :class:`~dashscope_ws.settings.UsageSink` told every call's usage.
        **settings: :class:`~dashscope_ws.settings.ClientSettings` (``api_key``,
            ``workspace``, ``base_url``, ``timeout``, ``proxy``, ...).

    Example:
        >>> from dashscope_ws.emulator import Emulator, MAIN_KEY
        >>> with Emulator() as emu:
        ...     with DashScopeClient(api_key=MAIN_KEY, base_url=emu.base_url) as client:
        ...         reply = client.chat([{"role": "user", "content": "Hi"}], model="qwen-plus")
        >>> reply.finish_reason
        'stop'
    """

    def __init__(
        self,
        *,
        config: ClientConfig | None = None,
        retry_policy: RetryPolicy | None = None,
        transport: Transport | None = None,
        async_transport: AsyncTransport | None = None,
        usage_tracker: UsageSink | None = None,
        **settings: Unpack[ClientSettings],
    ) -> None:
        if isinstance(settings.get("api_key"), str):
            # No plain key in this frame's locals from here on.
            settings["api_key"] = SecretStr(settings.pop("api_key"))  # type: ignore[arg-type]
        if config is not None:
            given = sorted(name for name, value in settings.items() if value is not None)
            if given:
                raise ValueError(f"pass either config= or settings, not both (got {given})")
            self.config = config
        else:
            self.config = ClientConfig.resolve(**settings)
        self.retry_policy = retry_policy or RetryPolicy(self.config.max_retries)
        self.usage_tracker = usage_tracker
        self._given = (transport, async_transport)
        self._sync: Transport = transport or RequestsTransport.from_config(self.config)
        self._async_transport = async_transport
        self._batches: BatchJobs | None = None

    @property
    def batches(self) -> BatchJobs:
        """DashScope Batch jobs through this client (:class:`~dashscope_ws.batch.BatchJobs`)."""
        if self._batches is None:
            from .batch import BatchJobs  # only when used: batch is not on the chat path

            self._batches = BatchJobs(self)
        return self._batches

    @property
    def _async(self) -> AsyncTransport:
        """The async transport, built (and ``aiohttp`` imported) on first use."""
        if self._async_transport is None:
            from ._async import AiohttpTransport

            self._async_transport = AiohttpTransport.from_config(self.config)
        return self._async_transport

    def __repr__(self) -> str:
        return (
            f"DashScopeClient(base_url={self.config.base_url!r}, "
            f"workspace={self.config.workspace!r}, api_key={self.config.api_key!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Settings only: pools are rebuilt on first use. Given transports travel as they are.
        transport, async_transport = self._given
        return (
            _rebuild_client,
            (self.config, self.retry_policy, transport, async_transport, self.usage_tracker),
        )

    # ------------------------------------------------------------------ driver loops

    def _prepared(self, request: HTTPRequest, sign: bool = True) -> HTTPRequest:
        """The request with this client's key (unless ``sign=False``: an OSS upload), its
        body encoded (a typed error if it cannot be)."""
        if sign and request.api_key is None:
            request = request.signed(self.config.api_key)
        _ = request.content  # encoded once, before any attempt
        return request

    def _call(
        self, request: HTTPRequest, parse: Parser[T], *, kind: str | None = None, sign: bool = True
    ) -> T:
        """Send a unary request with retries; ``parse`` turns the answer into the result."""
        request = self._prepared(request, sign)
        call = Call(request, self.retry_policy)
        while True:
            call.start()
            try:
                raw = self._sync.send(request)
                result = parse(raw)
            except DashScopeError as error:
                time.sleep(call.backoff(error))
                continue
            call.answered(raw, result)
            call.record(self.usage_tracker, result, kind)
            return result

    async def _acall(
        self,
        request: HTTPRequest,
        parse: Parser[T],
        *,
        kind: str | None = None,
        sign: bool = True,
    ) -> T:
        """Async :meth:`_call`."""
        request = self._prepared(request, sign)
        call = Call(request, self.retry_policy)
        while True:
            call.start()
            try:
                raw = await self._async.send(request)
                result = parse(raw)
            except DashScopeError as error:
                await asyncio.sleep(call.backoff(error))
                continue
            call.answered(raw, result)
            call.record(self.usage_tracker, result, kind)
            return result

    def _driver(self, request: HTTPRequest, new_decoder: Callable[[], Decoder[T]]) -> _Driver[T]:
        request = self._prepared(request)
        return _Driver(request, new_decoder, self.config, self.retry_policy, self.usage_tracker)

    def _stream(self, request: HTTPRequest, new_decoder: Callable[[], Decoder[T]]) -> Stream[T]:
        """A stream of ``new_decoder()``'s items; sent on first iteration, retried until then."""
        return Stream(self._driver(request, new_decoder), self._sync)

    def _astream(
        self, request: HTTPRequest, new_decoder: Callable[[], Decoder[T]]
    ) -> AsyncStream[T]:
        """Async :meth:`_stream`."""
        return AsyncStream(self._driver(request, new_decoder), self._async)

    # ------------------------------------------------------------------ embeddings

    def _embedding_plan(
        self, texts: Sequence[str] | str, model: str, batch_size: int | None, **options: Any
    ) -> list[tuple[HTTPRequest, Parser[EmbeddingBatch]]]:
        rows = [texts] if isinstance(texts, str) else list(texts)
        return [
            (
                build_embedding_request(self.config, model=model, texts=batch, **options),
                embedding_parser(len(batch), options.get("dimension")),
            )
            for _, batch in embedding_batches(rows, model=model, batch_size=batch_size)
        ]

    def embed(
        self,
        texts: Sequence[str] | str,
        *,
        model: str = "text-embedding-v4",
        text_type: str | None = None,
        dimension: int | None = None,
        output_type: str | None = None,
        instruct: str | None = None,
        batch_size: int | None = None,
        workspace: str | None = None,
    ) -> EmbeddingResult:
        """Embed ``texts`` in order, one request per batch (sent one after another).

        Batches follow the model's row limit (10 for v3/v4, 25 for v1/v2; a larger
        ``batch_size`` is clamped). A failed batch is retried alone. No texts, no request.
        """
        plan = self._embedding_plan(
            texts, model, batch_size, text_type=text_type, dimension=dimension,
            output_type=output_type, instruct=instruct, workspace=workspace,
        )  # fmt: skip
        return merge_embedding_batches(model, [self._call(req, parse) for req, parse in plan])

    async def aembed(
        self,
        texts: Sequence[str] | str,
        *,
        model: str = "text-embedding-v4",
        text_type: str | None = None,
        dimension: int | None = None,
        output_type: str | None = None,
        instruct: str | None = None,
        batch_size: int | None = None,
        workspace: str | None = None,
        max_concurrency: int | None = None,
    ) -> EmbeddingResult:
        """Async :meth:`embed`: batches run concurrently, adaptively.

        By default as many batches are in flight as the service keeps up with: the
        client's limit starts at 32, grows by one per success (up to 256), halves on
        every 429 and pauses new starts for a ``Retry-After`` (see
        :mod:`dashscope_ws._adaptive`); the limit is learned once per client and shared
        by all its async embedding calls. ``max_concurrency`` caps this call's limit
        instead (it still halves on 429). Results keep the order of ``texts``.
        """
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        plan = self._embedding_plan(
            texts, model, batch_size, text_type=text_type, dimension=dimension,
            output_type=output_type, instruct=instruct, workspace=workspace,
        )  # fmt: skip
        if max_concurrency is None:
            adaptive = self.__dict__.get("_embed_concurrency")
            if adaptive is None:
                maximum = min(MAXIMUM, self.config.max_connections)
                adaptive = self.__dict__["_embed_concurrency"] = AdaptiveConcurrency(
                    maximum=maximum
                )
        else:
            adaptive = AdaptiveConcurrency(initial=max_concurrency, maximum=max_concurrency)
        gate = adaptive.gate()

        async def run(request: HTTPRequest, parse: Parser[EmbeddingBatch]) -> EmbeddingBatch:
            # One Call per batch: gated() retries through it, so each attempt is logged once.
            request = self._prepared(request)
            call = Call(request, self.retry_policy)

            async def attempt() -> EmbeddingBatch:
                call.start()
                raw = await self._async.send(request)
                result = parse(raw)
                call.answered(raw, result)
                call.record(self.usage_tracker, result)
                return result

            return await gated(gate, call, attempt)

        tasks = [asyncio.ensure_future(run(req, parse)) for req, parse in plan]
        try:
            batches = await asyncio.gather(*tasks)
        finally:
            # One batch failed for good: stop sending the others.
            for task in tasks:
                task.cancel()
        return merge_embedding_batches(model, batches)

    # ------------------------------------------------------------------ rerank

    def _rerank_plan(
        self, query: str, documents: Sequence[str], model: str, **options: Any
    ) -> tuple[HTTPRequest, Parser[RerankResult]] | None:
        """The one request to send; ``None`` when there is nothing to rank (no request)."""
        if not documents:
            return None
        request = build_rerank_request(
            self.config, model=model, query=query, documents=documents, **options
        )
        return request, rerank_parser(model, documents, options.get("top_n"))

    def rerank(
        self,
        query: str,
        documents: Sequence[str],
        *,
        model: str = "gte-rerank-v2",
        top_n: int | None = None,
        return_documents: bool = False,
        instruct: str | None = None,
        workspace: str | None = None,
    ) -> RerankResult:
        """Rank ``documents`` against ``query`` with exactly the ``model`` given."""
        plan = self._rerank_plan(
            query, documents, model, top_n=top_n, return_documents=return_documents,
            instruct=instruct, workspace=workspace,
        )  # fmt: skip
        return RerankResult(results=[], model=model) if plan is None else self._call(*plan)

    async def arerank(
        self,
        query: str,
        documents: Sequence[str],
        *,
        model: str = "gte-rerank-v2",
        top_n: int | None = None,
        return_documents: bool = False,
        instruct: str | None = None,
        workspace: str | None = None,
    ) -> RerankResult:
        """Async :meth:`rerank`."""
        plan = self._rerank_plan(
            query, documents, model, top_n=top_n, return_documents=return_documents,
            instruct=instruct, workspace=workspace,
        )  # fmt: skip
        return RerankResult(results=[], model=model) if plan is None else await self._acall(*plan)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close connection pools. Prefer :meth:`aclose` from async code."""
        self._sync.close()
        if self._async_transport is not None:
            self._async_transport.close()

    async def aclose(self) -> None:
        """Close the pools (the async one of the running event loop)."""
        self._sync.close()
        if self._async_transport is not None:
            await self._async_transport.aclose()


def _rebuild_client(
    config: ClientConfig,
    policy: RetryPolicy,
    transport: Transport | None,
    async_transport: AsyncTransport | None,
    usage_tracker: UsageSink | None,
) -> DashScopeClient:
    return DashScopeClient(
        config=config,
        retry_policy=policy,
        transport=transport,
        async_transport=async_transport,
        usage_tracker=usage_tracker,
    )

"""``DashScopeClient``: sync and async methods over one sans-I/O core.

Every request is built, and every answer parsed, by the pure modules (``protocol``,
``sse``, ``accumulate``, ``retrieval``); retry decisions come from ``retry``. What is left
here is the driver loop — send, parse or feed the decoder, on error ask the policy, sleep,
try again — written once for ``time.sleep`` + ``requests`` and once for ``asyncio.sleep`` +
``aiohttp``. The bookkeeping both loops share (attempt counting, "has this stream yielded
yet?", a fresh decoder per attempt) lives in :class:`_Plan`, so each loop is a few lines.

Errors mid-stream: once a stream has yielded its first chunk it is never retried (the
caller has already seen output); the error propagates. A connection cut mid-stream raises
:class:`~dashscope_ws.errors.APIConnectionError` (it is a network failure); a stream that
ends cleanly but without its final event raises
:class:`~dashscope_ws.errors.StreamProtocolError`. Neither ever ends silently.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from ._apps_client import AppMethods
from ._async import AsyncTransport
from ._closeable import Closeable
from ._sync import RawResponse, SyncTransport
from .accumulate import ChatAccumulator
from .config import ClientConfig, SecretStr
from .errors import DashScopeError
from .protocol import HTTPRequest, build_chat_request, parse_chat_response, requires_streaming
from .retrieval import (
    EmbeddingBatch,
    build_embedding_request,
    build_rerank_request,
    embedding_batches,
    merge_embedding_batches,
    parse_embedding_response,
    parse_rerank_response,
)
from .retry import RetryPolicy
from .sse import ChatStreamDecoder
from .types import ChatChunk, ChatResult, EmbeddingResult, RerankResult
from .workspace import WorkspaceMethods

__all__ = ["DashScopeClient"]

T = TypeVar("T")
Messages = Sequence[Mapping[str, Any]]
Parser = Callable[[RawResponse], T]


class _Plan:
    """The I/O-free half of one call's driver loop, shared by the sync and async loops."""

    def __init__(self, policy: RetryPolicy, model: str = "") -> None:
        self._policy = policy
        self._model = model
        self._attempts = 0
        self._decoder = ChatStreamDecoder(model=model)
        self.yielded = False

    def start(self) -> None:
        """Begin an attempt: a stream retried from scratch needs a fresh decoder."""
        self._decoder = ChatStreamDecoder(model=self._model)

    def feed(self, data: bytes) -> list[ChatChunk]:
        """Decode one read (an error after chunks in it is raised by the next call)."""
        return self._seen(self._decoder.feed(data))

    def finish(self) -> list[ChatChunk]:
        """End of body; raises if the stream failed or never sent its final event."""
        return self._seen(self._decoder.close())

    def _seen(self, chunks: list[ChatChunk]) -> list[ChatChunk]:
        self.yielded = self.yielded or bool(chunks)
        return chunks

    def backoff(self, error: DashScopeError) -> float:
        """Seconds to wait before the next attempt; re-raises ``error`` when there is none."""
        self._attempts += 1
        delay = None if self.yielded else self._policy.delay(self._attempts, error)
        if delay is None:
            raise error
        return delay


class DashScopeClient(WorkspaceMethods, AppMethods, Closeable):
    """DashScope client with blocking and asyncio methods on one object.

    Settings are resolved once (arguments > environment > defaults, see
    :meth:`ClientConfig.resolve`). Each client owns its connection pools; two clients with
    different keys or workspaces never share a session, header or setting. ``model`` and
    ``workspace`` can be chosen per call without changing the client.

    Args:
        api_key: DashScope API key (else ``DASHSCOPE_API_KEY``).
        workspace: workspace id sent as ``X-DashScope-WorkSpace`` (else ``DASHSCOPE_WORKSPACE``).
        base_url: API root ending in ``/api/v1`` (else ``DASHSCOPE_BASE_URL`` or the region's).
        region: region name, used when no ``base_url`` is given.
        workspace_in_host: address the workspace by host ``{ws}.{region}.maas.aliyuncs.com``.
        timeout: read timeout in seconds; for streams the longest gap between reads.
        connect_timeout: connect timeout in seconds.
        max_retries: retries after the first attempt for 429, 5xx and connection errors.
        allow_insecure_http: allow sending the key over ``http://`` to a non-loopback host.
        default_headers: extra headers for every request.
        config: a ready :class:`ClientConfig` (the other settings must then be omitted).
        retry_policy: backoff policy; defaults to ``RetryPolicy(config.max_retries)``.

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
        api_key: str | SecretStr | None = None,
        workspace: str | None = None,
        base_url: str | None = None,
        region: str | None = None,
        workspace_in_host: bool | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        allow_insecure_http: bool | None = None,
        default_headers: Mapping[str, str] | None = None,
        config: ClientConfig | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        settings = {
            "api_key": api_key,
            "workspace": workspace,
            "base_url": base_url,
            "region": region,
            "workspace_in_host": workspace_in_host,
            "timeout": timeout,
            "connect_timeout": connect_timeout,
            "max_retries": max_retries,
            "allow_insecure_http": allow_insecure_http,
            "default_headers": default_headers,
        }
        if config is not None:
            given = sorted(name for name, value in settings.items() if value is not None)
            if given:
                raise ValueError(f"pass either config= or settings, not both (got {given})")
            self.config = config
        else:
            self.config = ClientConfig.resolve(**settings)  # type: ignore[arg-type]
        self.retry_policy = retry_policy or RetryPolicy(self.config.max_retries)
        transport_timeouts = {
            "timeout": self.config.timeout,
            "connect_timeout": self.config.connect_timeout,
        }
        self._sync = SyncTransport(**transport_timeouts)
        self._async = AsyncTransport(**transport_timeouts)

    def __repr__(self) -> str:
        return (
            f"DashScopeClient(base_url={self.config.base_url!r}, "
            f"workspace={self.config.workspace!r}, api_key={self.config.api_key!r})"
        )

    # ------------------------------------------------------------------ driver loops

    def _call(self, request: HTTPRequest, parse: Parser[T]) -> T:
        plan = _Plan(self.retry_policy)
        while True:
            try:
                return parse(self._sync.send(request))
            except DashScopeError as error:
                time.sleep(plan.backoff(error))

    async def _acall(self, request: HTTPRequest, parse: Parser[T]) -> T:
        plan = _Plan(self.retry_policy)
        while True:
            try:
                return parse(await self._async.send(request))
            except DashScopeError as error:
                await asyncio.sleep(plan.backoff(error))

    def _stream(self, request: HTTPRequest, model: str) -> Iterator[ChatChunk]:
        plan = _Plan(self.retry_policy, model)
        while True:
            plan.start()
            try:
                with self._sync.stream(request) as body:
                    for data in body:
                        yield from plan.feed(data)
                yield from plan.finish()
                return
            except DashScopeError as error:
                time.sleep(plan.backoff(error))

    async def _astream(self, request: HTTPRequest, model: str) -> AsyncIterator[ChatChunk]:
        plan = _Plan(self.retry_policy, model)
        while True:
            plan.start()
            try:
                async with self._async.stream(request) as body:
                    async for data in body:
                        for chunk in plan.feed(data):
                            yield chunk
                for chunk in plan.finish():
                    yield chunk
                return
            except DashScopeError as error:
                await asyncio.sleep(plan.backoff(error))

    # ------------------------------------------------------------------ chat

    def _chat_request(
        self,
        messages: Messages,
        model: str,
        workspace: str | None,
        parameters: Mapping[str, Any],
        *,
        stream: bool,
    ) -> HTTPRequest:
        return build_chat_request(
            self.config,
            model=model,
            messages=messages,
            parameters=parameters,
            stream=stream,
            workspace=workspace,
        )

    def chat(
        self, messages: Messages, *, model: str, workspace: str | None = None, **parameters: Any
    ) -> ChatResult:
        """One complete assistant turn.

        Models that only answer as a stream (thinking mode, QwQ/QVQ) are streamed and folded
        transparently. Raises the mapped :class:`~dashscope_ws.errors.DashScopeError`.
        """
        if requires_streaming(model, parameters):
            accumulator = ChatAccumulator()
            for chunk in self.stream_chat(messages, model=model, workspace=workspace, **parameters):
                accumulator.add(chunk)
            return accumulator.result()
        request = self._chat_request(messages, model, workspace, parameters, stream=False)
        return self._call(request, _chat_parser(model))

    def stream_chat(
        self, messages: Messages, *, model: str, workspace: str | None = None, **parameters: Any
    ) -> Iterator[ChatChunk]:
        """Stream the reply as :class:`ChatChunk` deltas.

        Arguments are validated now; the request is sent on first iteration. The iterator
        raises if the stream fails or ends before its final event.
        """
        request = self._chat_request(messages, model, workspace, parameters, stream=True)
        return self._stream(request, model)

    async def achat(
        self, messages: Messages, *, model: str, workspace: str | None = None, **parameters: Any
    ) -> ChatResult:
        """Async :meth:`chat`."""
        if requires_streaming(model, parameters):
            accumulator = ChatAccumulator()
            stream = self.astream_chat(messages, model=model, workspace=workspace, **parameters)
            async for chunk in stream:
                accumulator.add(chunk)
            return accumulator.result()
        request = self._chat_request(messages, model, workspace, parameters, stream=False)
        return await self._acall(request, _chat_parser(model))

    def astream_chat(
        self, messages: Messages, *, model: str, workspace: str | None = None, **parameters: Any
    ) -> AsyncIterator[ChatChunk]:
        """Async :meth:`stream_chat` (``async for chunk in client.astream_chat(...)``)."""
        request = self._chat_request(messages, model, workspace, parameters, stream=True)
        return self._astream(request, model)

    # ------------------------------------------------------------------ embeddings

    def _embedding_plan(
        self, texts: Sequence[str] | str, model: str, batch_size: int | None, **options: Any
    ) -> list[tuple[HTTPRequest, Parser[EmbeddingBatch]]]:
        rows = [texts] if isinstance(texts, str) else list(texts)
        return [
            (
                build_embedding_request(self.config, model=model, texts=batch, **options),
                _embedding_parser(len(batch)),
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
        max_concurrency: int = 4,
    ) -> EmbeddingResult:
        """Async :meth:`embed`: up to ``max_concurrency`` batches in flight at once."""
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        plan = self._embedding_plan(
            texts, model, batch_size, text_type=text_type, dimension=dimension,
            output_type=output_type, instruct=instruct, workspace=workspace,
        )  # fmt: skip
        gate = asyncio.Semaphore(max_concurrency)

        async def run(request: HTTPRequest, parse: Parser[EmbeddingBatch]) -> EmbeddingBatch:
            async with gate:
                return await self._acall(request, parse)

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
        return request, _rerank_parser(model, documents)

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
        self._async.close()

    async def aclose(self) -> None:
        """Close the pools (the async one of the running event loop)."""
        self._sync.close()
        await self._async.aclose()


def _chat_parser(model: str) -> Parser[ChatResult]:
    return lambda r: parse_chat_response(r.status, r.headers, r.body, model=model)


def _embedding_parser(count: int) -> Parser[EmbeddingBatch]:
    return lambda r: parse_embedding_response(r.status, r.headers, r.body, count=count)


def _rerank_parser(model: str, documents: Sequence[str]) -> Parser[RerankResult]:
    docs = list(documents)
    return lambda r: parse_rerank_response(r.status, r.headers, r.body, model=model, documents=docs)

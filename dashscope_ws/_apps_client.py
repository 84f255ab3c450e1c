"""Client methods for Bailian apps and knowledge bases, mixed into ``DashScopeClient``.

Requests are built and answers parsed by the pure ``apps`` and ``knowledge`` modules; the
host's driver loops (``_call`` / ``_acall`` for unary answers, ``_stream`` / ``_astream`` with a
decoder factory for streams) send them and retry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from ._calls import _header
from .apps import (
    AppChunk,
    AppResult,
    AppStreamDecoder,
    ModelUsage,
    build_app_request,
    parse_app_response,
)
from .knowledge import (
    RetrievedNode,
    build_pipeline_lookup_request,
    build_retrieve_request,
    parse_pipeline_lookup,
    parse_retrieve_response,
)
from .protocol import HTTPRequest
from .types import Usage

if TYPE_CHECKING:
    from .config import ClientConfig
    from .settings import UsageSink
    from .streams import AsyncStream, Stream

__all__ = ["AppMethods", "record_app_usage"]

T = TypeVar("T")


class _Raw(Protocol):
    """A fully read answer (the core's ``RawResponse``, wherever it lives)."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def body(self) -> bytes: ...


class _Decoder(Protocol):
    def feed(self, data: bytes) -> list[AppChunk]: ...

    def close(self) -> list[AppChunk]: ...


class _StreamingHost(Protocol):
    """The core's stream contract (``_stream(request, new_decoder)`` returns a stream object)."""

    def _stream(
        self, request: HTTPRequest, new_decoder: Callable[[], _Decoder]
    ) -> Stream[AppChunk]: ...

    def _astream(
        self, request: HTTPRequest, new_decoder: Callable[[], _Decoder]
    ) -> AsyncStream[AppChunk]: ...


def _app_parser(raw: _Raw) -> AppResult:
    return parse_app_response(raw.status, raw.headers, raw.body)


def record_app_usage(
    sink: UsageSink | None, request: HTTPRequest, app_id: str, usage: Sequence[ModelUsage]
) -> None:
    """Tell ``sink`` an app answer's usage, once per model behind the app (``usage.models[]``).

    A model entry without a ``model_id`` is booked under ``app:<app_id>``.
    """
    if sink is None:
        return
    workspace = _header(request.headers, "X-DashScope-WorkSpace")
    for model in usage:
        if model.input_tokens is None and model.output_tokens is None:
            continue
        tokens = Usage(
            input_tokens=model.input_tokens or 0,
            output_tokens=model.output_tokens or 0,
            total_tokens=(model.input_tokens or 0) + (model.output_tokens or 0),
        )
        name = model.model_id or f"app:{app_id}"
        sink.record(workspace=workspace, model=name, usage=tokens, kind="app")


class _CountingDecoder:
    """An :class:`AppStreamDecoder` that reports the stream's usage when it ends cleanly.

    ``close()`` runs once per attempt that read the whole body without error, so a stream
    is counted once; the usage kept is the last non-empty one (chunks carry it cumulatively).
    """

    def __init__(self, decoder: _Decoder, report: Callable[[Sequence[ModelUsage]], None]) -> None:
        self._decoder = decoder
        self._report = report
        self._usage: tuple[ModelUsage, ...] = ()

    def _seen(self, chunks: list[AppChunk]) -> list[AppChunk]:
        for chunk in chunks:
            if chunk.usage:
                self._usage = chunk.usage
        return chunks

    def feed(self, data: bytes) -> list[AppChunk]:
        return self._seen(self._decoder.feed(data))

    def close(self) -> list[AppChunk]:
        chunks = self._seen(self._decoder.close())
        self._report(self._usage)
        return chunks


def _retrieve_parser(raw: _Raw) -> list[RetrievedNode]:
    return parse_retrieve_response(raw.status, raw.headers, raw.body)


def _lookup_parser(raw: _Raw) -> str:
    return parse_pipeline_lookup(raw.status, raw.headers, raw.body)


class AppMethods:
    """``app_completion`` / ``retrieve`` and their async and streaming twins.

    Example:
        >>> from dashscope_ws import DashScopeClient
        >>> from dashscope_ws.emulator import Emulator, MAIN_KEY
        >>> with Emulator() as emu, DashScopeClient(api_key=MAIN_KEY, base_url=emu.base_url) as c:
        ...     reply = c.app_completion("app-emu-agent", prompt="Hi")
        >>> bool(reply.session_id)
        True
    """

    if TYPE_CHECKING:
        config: ClientConfig
        usage_tracker: UsageSink | None

        def _call(self, request: HTTPRequest, parse: Callable[[_Raw], T]) -> T: ...

        async def _acall(self, request: HTTPRequest, parse: Callable[[_Raw], T]) -> T: ...

    # ------------------------------------------------------------------ apps

    def _app_request(self, app_id: str, stream: bool, options: Mapping[str, Any]) -> HTTPRequest:
        return build_app_request(self.config, app_id, stream=stream, **options)

    def _app_decoder(
        self, request: HTTPRequest, app_id: str, incremental: bool
    ) -> Callable[[], _Decoder]:
        def report(usage: Sequence[ModelUsage]) -> None:
            record_app_usage(self.usage_tracker, request, app_id, usage)

        return lambda: _CountingDecoder(AppStreamDecoder(incremental=incremental), report)

    def app_completion(
        self,
        app_id: str,
        *,
        prompt: str | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        session_id: str | None = None,
        memory_id: str | None = None,
        biz_params: Mapping[str, Any] | None = None,
        rag_options: Mapping[str, Any] | None = None,
        has_thoughts: bool | None = None,
        image_list: Sequence[str] | None = None,
        file_list: Sequence[str] | None = None,
        workspace: str | None = None,
        **options: Any,
    ) -> AppResult:
        """Call a Bailian app (agent, RAG or workflow) and wait for the whole answer.

        ``options`` are the other keywords of :func:`dashscope_ws.apps.build_app_request`
        (``doc_reference_type``, ``doc_tag_codes``, ``parameters``).
        """
        request = self._app_request(app_id, False, {**_call_options(locals()), **options})
        result = self._call(request, _app_parser)
        record_app_usage(self.usage_tracker, request, app_id, result.usage)
        return result

    async def aapp_completion(
        self,
        app_id: str,
        *,
        prompt: str | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        session_id: str | None = None,
        memory_id: str | None = None,
        biz_params: Mapping[str, Any] | None = None,
        rag_options: Mapping[str, Any] | None = None,
        has_thoughts: bool | None = None,
        image_list: Sequence[str] | None = None,
        file_list: Sequence[str] | None = None,
        workspace: str | None = None,
        **options: Any,
    ) -> AppResult:
        """Async :meth:`app_completion`."""
        request = self._app_request(app_id, False, {**_call_options(locals()), **options})
        result = await self._acall(request, _app_parser)
        record_app_usage(self.usage_tracker, request, app_id, result.usage)
        return result

    def stream_app_completion(
        self,
        app_id: str,
        *,
        prompt: str | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        session_id: str | None = None,
        incremental_output: bool = True,
        workspace: str | None = None,
        **options: Any,
    ) -> Stream[AppChunk]:
        """Stream an app's answer as :class:`~dashscope_ws.apps.AppChunk` deltas.

        ``incremental_output=False`` asks the service for cumulative snapshots; chunks are
        deltas either way. Other keywords as for :meth:`app_completion`.
        """
        request = self._app_request(app_id, True, {**_call_options(locals()), **options})
        host = cast(_StreamingHost, self)
        return host._stream(request, self._app_decoder(request, app_id, incremental_output))

    def astream_app_completion(
        self,
        app_id: str,
        *,
        prompt: str | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        session_id: str | None = None,
        incremental_output: bool = True,
        workspace: str | None = None,
        **options: Any,
    ) -> AsyncStream[AppChunk]:
        """Async :meth:`stream_app_completion`."""
        request = self._app_request(app_id, True, {**_call_options(locals()), **options})
        host = cast(_StreamingHost, self)
        return host._astream(request, self._app_decoder(request, app_id, incremental_output))

    # ------------------------------------------------------------------ knowledge bases

    def retrieve(
        self,
        index_id: str | None = None,
        query: str = "",
        *,
        index_name: str | None = None,
        workspace: str | None = None,
        **options: Any,
    ) -> list[RetrievedNode]:
        """Retrieve scored chunks from a knowledge base, by id or by ``index_name``.

        ``options``: ``top_k``, ``dense_similarity_top_k``, ``sparse_similarity_top_k``,
        ``enable_reranking``, ``rerank_model``, ``rerank_top_n``, ``rerank_min_score``,
        ``enable_rewrite``, ``rewrite_model`` (see ``knowledge.build_retrieve_request``).
        """
        if index_id is None:
            index_id = self.pipeline_id(_name(index_name), workspace=workspace)
        request = build_retrieve_request(
            self.config, index_id, query, workspace=workspace, **options
        )
        return self._call(request, _retrieve_parser)

    async def aretrieve(
        self,
        index_id: str | None = None,
        query: str = "",
        *,
        index_name: str | None = None,
        workspace: str | None = None,
        **options: Any,
    ) -> list[RetrievedNode]:
        """Async :meth:`retrieve`."""
        if index_id is None:
            index_id = await self.apipeline_id(_name(index_name), workspace=workspace)
        request = build_retrieve_request(
            self.config, index_id, query, workspace=workspace, **options
        )
        return await self._acall(request, _retrieve_parser)

    def pipeline_id(self, name: str, *, workspace: str | None = None) -> str:
        """The id of the knowledge base called ``name`` (``/indices/pipeline_simple``)."""
        request = build_pipeline_lookup_request(self.config, name, workspace=workspace)
        return self._call(request, _lookup_parser)

    async def apipeline_id(self, name: str, *, workspace: str | None = None) -> str:
        """Async :meth:`pipeline_id`."""
        request = build_pipeline_lookup_request(self.config, name, workspace=workspace)
        return await self._acall(request, _lookup_parser)


def _name(index_name: str | None) -> str:
    if not index_name:
        raise ValueError("pass index_id or index_name=")
    return index_name


def _call_options(scope: Mapping[str, Any]) -> dict[str, Any]:
    """A method's keyword arguments from its ``locals()`` (minus ``self``, the id, ``options``)."""
    return {k: v for k, v in scope.items() if k not in ("self", "app_id", "options")}

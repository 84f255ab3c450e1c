"""The chat methods of ``DashScopeClient``: routing, the endpoint safety net, local media.

``chat`` / ``achat`` use :func:`~dashscope_ws.models.with_endpoint_fallback` around the
host's unary driver loop; ``stream_chat`` / ``astream_chat`` a
:class:`~dashscope_ws._chat.RoutedDriver` (the safety net inside the stream's own retry loop).
Local media is uploaded first (:class:`~dashscope_ws._media.UploadMethods`): at once for a
unary call, on first iteration for a stream. A call that cannot be made (e.g. an Omni model)
is refused before any upload or request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ._chat import AsyncUploadingChatStream, ChatBuild, RoutedDriver, UploadingChatStream
from ._parsers import chat_decoder, chat_parser
from .models import awith_endpoint_fallback, generation_endpoint, with_endpoint_fallback
from .protocol import requires_streaming
from .streams import AsyncChatStream, ChatStream
from .types import ChatResult

if TYPE_CHECKING:
    from .config import ClientConfig
    from .http import HTTPRequest, RawResponse
    from .retry import RetryPolicy
    from .settings import UsageSink
    from .transports import AsyncTransport, Transport

__all__ = ["ChatMethods"]

T = TypeVar("T")
Messages = Sequence[Mapping[str, Any]]


class ChatMethods:
    """``chat`` / ``achat`` / ``stream_chat`` / ``astream_chat``, mixed into the client.

    Example:
        >>> from dashscope_ws import DashScopeClient
        >>> from dashscope_ws.emulator import Emulator, MAIN_KEY
        >>> with Emulator() as emu, DashScopeClient(api_key=MAIN_KEY, base_url=emu.base_url) as c:
        ...     c.chat([{"role": "user", "content": "Hi"}], model="qwen3.6-plus").finish_reason
        'stop'
    """

    if TYPE_CHECKING:
        config: ClientConfig
        retry_policy: RetryPolicy
        usage_tracker: UsageSink | None
        _sync: Transport

        @property
        def _async(self) -> AsyncTransport: ...

        def _prepared(self, request: HTTPRequest, sign: bool = True) -> HTTPRequest: ...

        def _call(self, request: HTTPRequest, parse: Callable[[RawResponse], T]) -> T: ...

        async def _acall(self, request: HTTPRequest, parse: Callable[[RawResponse], T]) -> T: ...

        def _upload_media(
            self, messages: Messages, model: str, workspace: str | None
        ) -> tuple[Messages, bool]: ...

        async def _aupload_media(
            self, messages: Messages, model: str, workspace: str | None
        ) -> tuple[Messages, bool]: ...

    def _chat_build(
        self,
        messages: Messages,
        model: str,
        workspace: str | None,
        parameters: Mapping[str, Any],
        endpoint: str | None,
        *,
        stream: bool,
    ) -> ChatBuild:
        """Validate the call now (before any upload or request) and return its builder."""
        build = ChatBuild(self, messages, model, workspace, parameters, endpoint, stream)
        if build.pending:  # uploads come first: refuse a bad call (e.g. Omni) before them
            build(generation_endpoint(model, endpoint))
        return build

    def chat(
        self,
        messages: Messages,
        *,
        model: str,
        workspace: str | None = None,
        endpoint: str | None = None,
        **parameters: Any,
    ) -> ChatResult:
        """One complete assistant turn.

        Models that only answer as a stream (thinking mode, QwQ/QVQ) are streamed and folded
        transparently. ``endpoint`` (``"text"``, ``"multimodal"``, ``"compatible"``) forces
        the generation path; otherwise the registry's path is used, and a ``400 "url error"``
        (the model lives on the other path) is retried once there (see
        :func:`~dashscope_ws.models.with_endpoint_fallback`). Local media in the messages
        (``file://``, ``Path``, bytes, ``data:`` URLs) is uploaded first (:meth:`upload_file`).
        Raises the mapped :class:`~dashscope_ws.errors.DashScopeError`.
        """
        if requires_streaming(model, parameters):
            with self.stream_chat(
                messages, model=model, workspace=workspace, endpoint=endpoint, **parameters
            ) as s:
                s._driver.limit(self.config.total_timeout)  # a unary call: one total deadline
                return s.result()
        build = self._chat_build(messages, model, workspace, parameters, endpoint, stream=False)
        if build.pending:  # found by the builder already: no second walk of the messages
            build.upload(*self._upload_media(messages, model, workspace))
        parse = chat_parser(model)
        return with_endpoint_fallback(
            model, lambda path: self._call(build(path), parse), override=endpoint
        )

    def stream_chat(
        self,
        messages: Messages,
        *,
        model: str,
        workspace: str | None = None,
        endpoint: str | None = None,
        **parameters: Any,
    ) -> ChatStream:
        """Stream the reply as :class:`ChatChunk` deltas (a :class:`ChatStream`).

        Arguments are validated now; local media is uploaded and the request sent on first
        iteration. The endpoint safety net of :meth:`chat` applies until the first chunk.
        The stream raises if it fails or ends before its final event; ``result()`` folds it.
        """
        build = self._chat_build(messages, model, workspace, parameters, endpoint, stream=True)
        driver = self._routed_driver(build, model)
        if not build.pending:
            return ChatStream(driver, self._sync)

        def prepare() -> None:
            build.upload(*self._upload_media(messages, model, workspace))
            driver.rebuild()

        return UploadingChatStream(driver, self._sync, prepare)

    async def achat(
        self,
        messages: Messages,
        *,
        model: str,
        workspace: str | None = None,
        endpoint: str | None = None,
        **parameters: Any,
    ) -> ChatResult:
        """Async :meth:`chat`."""
        if requires_streaming(model, parameters):
            stream = self.astream_chat(
                messages, model=model, workspace=workspace, endpoint=endpoint, **parameters
            )
            stream._driver.limit(self.config.total_timeout)
            async with stream:
                return await stream.aresult()
        build = self._chat_build(messages, model, workspace, parameters, endpoint, stream=False)
        if build.pending:
            build.upload(*await self._aupload_media(messages, model, workspace))
        parse = chat_parser(model)

        async def send(path: str) -> ChatResult:
            return await self._acall(build(path), parse)

        return await awith_endpoint_fallback(model, send, override=endpoint)

    def astream_chat(
        self,
        messages: Messages,
        *,
        model: str,
        workspace: str | None = None,
        endpoint: str | None = None,
        **parameters: Any,
    ) -> AsyncChatStream:
        """Async :meth:`stream_chat` (``async for chunk in client.astream_chat(...)``)."""
        build = self._chat_build(messages, model, workspace, parameters, endpoint, stream=True)
        driver = self._routed_driver(build, model)
        if not build.pending:
            return AsyncChatStream(driver, self._async)

        async def prepare() -> None:
            build.upload(*await self._aupload_media(messages, model, workspace))
            driver.rebuild()

        return AsyncUploadingChatStream(driver, self._async, prepare)

    def _routed_driver(self, build: ChatBuild, model: str) -> RoutedDriver:
        return RoutedDriver(
            model, build.override, build, chat_decoder(model), self.config,
            self.retry_policy, self.usage_tracker,
        )  # fmt: skip

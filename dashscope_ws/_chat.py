"""Chat routing for the client: the endpoint safety net on streams, and lazy media uploads.

Unary calls use :func:`dashscope_ws.models.with_endpoint_fallback` directly. A stream
cannot: it is sent on first iteration and retried by its driver, so the safety net lives in
the driver (:class:`RoutedDriver`): a wrong-endpoint error (``400 InvalidParameter "url
error"``) that arrives before the first chunk switches the request to the other native
generation path, once, without spending a retry; after the first chunk nothing is ever
retried. The path that answered is remembered for the process.

A stream whose messages hold local media uploads them on first iteration too (never at
construction, so ``astream_chat`` can upload with ``await``): :class:`UploadingChatStream`
/ :class:`AsyncUploadingChatStream` run ``prepare`` and then the ordinary stream loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ._media import local_media
from .errors import APIStatusError, DashScopeError
from .models import _fallback_path, generation_endpoint, remember_endpoint
from .protocol import build_chat_request
from .streams import AsyncChatStream, ChatStream, _Driver
from .types import ChatChunk
from .uploads import oss_resolve_headers

if TYPE_CHECKING:
    from .config import ClientConfig
    from .http import HTTPRequest
    from .retry import RetryPolicy
    from .settings import UsageSink
    from .streams import Decoder

__all__ = [
    "AsyncUploadingChatStream",
    "ChatBuild",
    "EndpointName",
    "RoutedDriver",
    "UploadingChatStream",
]

EndpointName = Literal["text", "multimodal", "compatible"]
"""The ``endpoint=`` values the client and both adapters accept."""


Build = Callable[[str], "HTTPRequest"]
Messages = Sequence[Mapping[str, Any]]


class _Host(Protocol):
    config: ClientConfig

    def _prepared(self, request: HTTPRequest, sign: bool = True) -> HTTPRequest: ...


class ChatBuild:
    """One chat call's request builder: ``build(path)`` is the request for a path.

    Holds the messages (replaced by :meth:`upload` once local media is uploaded) and
    whether the request needs ``X-DashScope-OssResourceResolve``. While local media is
    pending, requests are built but not encoded (a ``Path`` is not JSON).

    Example:
        >>> from dashscope_ws import DashScopeClient
        >>> from dashscope_ws.models import MULTIMODAL_GENERATION_PATH
        >>> user = [{"role": "user", "content": "hi"}]
        >>> build = ChatBuild(DashScopeClient(api_key="sk-test"), user, "qwen-plus", None, {},
        ...                   None, False)
        >>> build(MULTIMODAL_GENERATION_PATH).json["input"]["messages"]
        [{'role': 'user', 'content': [{'text': 'hi'}]}]
    """

    def __init__(
        self,
        client: _Host,
        messages: Messages,
        model: str,
        workspace: str | None,
        parameters: Mapping[str, Any],
        override: str | None,
        stream: bool,
    ) -> None:
        self.client, self.messages, self.model, self.workspace = client, messages, model, workspace
        self.parameters, self.override, self.stream = parameters, override, stream
        self.pending = bool(local_media(messages))
        self.oss = False

    def upload(self, messages: Messages, uploaded: bool) -> None:
        """Use the messages with ``oss://`` references (see ``UploadMethods._upload_media``)."""
        self.messages, self.oss, self.pending = messages, uploaded, False

    def __call__(self, path: str) -> HTTPRequest:
        client = self.client
        request = build_chat_request(
            client.config, model=self.model, messages=self.messages, parameters=self.parameters,
            stream=self.stream, workspace=self.workspace, endpoint=path,
        )  # fmt: skip
        if self.oss:
            request = dataclasses.replace(
                request, headers={**request.headers, **oss_resolve_headers()}
            )
        if self.pending:
            return dataclasses.replace(request, api_key=client.config.api_key)
        return client._prepared(request)


class RoutedDriver(_Driver[ChatChunk]):
    """A chat stream's driver that may switch generation path once, before any output.

    ``build(path)`` builds the request for a path; :meth:`rebuild` builds it again (after
    the messages changed, e.g. uploads). ``override`` (an explicit ``endpoint=``) is never
    second-guessed.

    Example:
        >>> from dashscope_ws import DashScopeClient, models
        >>> from dashscope_ws.transports import MockResponse, MockTransport
        >>> reply = {"output": {"choices": [{"finish_reason": "stop",
        ...          "message": {"role": "assistant", "content": "hi"}}]}}
        >>> wrong = {"code": "InvalidParameter", "message": "url error, please check url"}
        >>> def service(request):
        ...     if "text-generation" in request.url:
        ...         return MockResponse(400, body=wrong)
        ...     return MockResponse.sse([reply])
        >>> client = DashScopeClient(api_key="sk-test", transport=MockTransport(service))
        >>> with client.stream_chat([{"role": "user", "content": "Hi"}], model="acme-vl") as s:
        ...     [chunk.text for chunk in s]
        ['hi']
        >>> models.generation_endpoint("acme-vl") == models.MULTIMODAL_GENERATION_PATH
        True
        >>> models.forget_endpoints()
    """

    def __init__(
        self,
        model: str,
        override: str | None,
        build: Build,
        new_decoder: Callable[[], Decoder[ChatChunk]],
        config: ClientConfig,
        policy: RetryPolicy,
        sink: UsageSink | None,
    ) -> None:
        self.model, self.override, self.build = model, override, build
        self.path = generation_endpoint(model, override)
        self._switched = self._learned = False
        super().__init__(build(self.path), new_decoder, config, policy, sink)

    def rebuild(self) -> None:
        """Build the request again for the current path (``build`` reads new state)."""
        self.request = self.build(self.path)

    def backoff(self, error: DashScopeError) -> float:
        if not self.yielded and not self._switched and isinstance(error, APIStatusError):
            try:
                other = _fallback_path(self.model, self.path, self.override, error)
            except APIStatusError:
                return super().backoff(error)
            self._switched, self.path = True, other
            self.rebuild()
            return 0.0  # not a retry: the same request on the path that serves the model
        return super().backoff(error)

    def seen(self, items: Iterable[ChatChunk]) -> Iterable[ChatChunk]:
        items = super().seen(items)
        if self.yielded and self._switched and not self._learned:
            self._learned = True  # the other path gave output: remember it
            remember_endpoint(self.model, self.path)
        return items


class UploadingChatStream(ChatStream):
    """A :class:`ChatStream` that runs ``prepare`` (uploads) before its first request.

    Example:
        >>> from dashscope_ws import DashScopeClient
        >>> client = DashScopeClient(api_key="sk-test")
        >>> parts = [{"image": b"\\x89PNG"}, {"text": "?"}]
        >>> stream = client.stream_chat([{"role": "user", "content": parts}], model="qwen-vl-plus")
        >>> type(stream).__name__  # nothing is sent until the first iteration
        'UploadingChatStream'
        >>> stream.close()
    """

    def __init__(
        self, driver: _Driver[ChatChunk], transport: Any, prepare: Callable[[], None]
    ) -> None:
        self._prepare = prepare
        super().__init__(driver, transport)

    def _run(self) -> Generator[ChatChunk, None, None]:
        self._prepare()
        yield from super()._run()


class AsyncUploadingChatStream(AsyncChatStream):
    """An :class:`AsyncChatStream` that awaits ``prepare`` (uploads) before its first request.

    Example:
        >>> from dashscope_ws import DashScopeClient
        >>> client = DashScopeClient(api_key="sk-test")
        >>> parts = [{"image": b"\\x89PNG"}, {"text": "?"}]
        >>> stream = client.astream_chat([{"role": "user", "content": parts}], model="qwen-vl-plus")
        >>> type(stream).__name__
        'AsyncUploadingChatStream'
    """

    def __init__(
        self, driver: _Driver[ChatChunk], transport: Any, prepare: Callable[[], Awaitable[None]]
    ) -> None:
        self._prepare = prepare
        super().__init__(driver, transport)

    async def _run(self) -> AsyncGenerator[ChatChunk, None]:
        await self._prepare()
        async for item in super()._run():
            yield item

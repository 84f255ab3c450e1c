"""A LlamaIndex chat engine over a Bailian app's service-side session.

The app keeps the conversation (``session_id``); the engine keeps a local copy in its memory
for ``chat_history``. Passing ``chat_history=`` to a call replaces both: that history is sent
as ``messages`` and a new session starts from the app's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Generator
from threading import Thread
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.chat_engine.types import (
    AgentChatResponse,
    BaseChatEngine,
    StreamingAgentChatResponse,
)
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.schema import NodeWithScore

from dashscope_ws.apps import AppAccumulator, AppResult
from llamaindex_dashscope_ws._convert import _ROLE
from llamaindex_dashscope_ws.apps import (
    AppConnection,
    _Owned,
    app_options,
    doc_references_to_nodes,
)

__all__ = ["DashScopeAppChatEngine"]


class DashScopeAppChatEngine(_Owned, BaseChatEngine):
    """Chat with a Bailian app; the app's session carries the conversation.

    Responses carry the app's ``doc_references`` as ``source_nodes``. ``close()`` /
    ``aclose()`` (or ``with`` / ``async with``) release the connection pools.

    Args:
        app_id: the app id from the console.
        session_id: continue this service-side conversation.
        has_thoughts, rag_options, biz_params, memory_id, doc_reference_type, image_list,
            file_list, parameters: sent with every turn, as in
            ``DashScopeClient.app_completion`` (``memory_id``: the app's long-term memory).
        memory: local record of the conversation (``ChatMemoryBuffer`` by default).
        api_key, workspace, base_url, ...: connection settings (the app's workspace).

    Example:
        >>> from llamaindex_dashscope_ws import DashScopeAppChatEngine
        >>> chat = DashScopeAppChatEngine("app-emu-agent")  # doctest: +SKIP
        >>> chat.chat("My name is Ada.")  # doctest: +SKIP
        >>> str(chat.chat("What is my name?"))  # doctest: +SKIP
        'My name is Ada.'
    """

    def __init__(
        self,
        app_id: str,
        *,
        session_id: str | None = None,
        has_thoughts: bool | None = None,
        rag_options: dict[str, Any] | None = None,
        biz_params: dict[str, Any] | None = None,
        memory_id: str | None = None,
        doc_reference_type: str | None = None,
        image_list: list[str] | None = None,
        file_list: list[str] | None = None,
        parameters: dict[str, Any] | None = None,
        memory: ChatMemoryBuffer | None = None,
        **connection: Any,
    ) -> None:
        self._options = app_options(locals())
        self.connection = AppConnection(owner=type(self), **connection)
        self.app_id = app_id
        self.session_id = session_id
        self._memory = memory or ChatMemoryBuffer.from_defaults()

    def _request(self, message: str, chat_history: list[ChatMessage] | None) -> dict[str, Any]:
        if chat_history is not None:
            for past in chat_history:  # refused before the engine's state changes
                _app_message(past)
            self._memory.set(chat_history)
            self.session_id = None
        self._memory.put(ChatMessage(role=MessageRole.USER, content=message))
        if self.session_id is None:
            wire = [_app_message(m) for m in self._memory.get_all()]
            return {"messages": wire, **self._options}
        return {"prompt": message, "session_id": self.session_id, **self._options}

    def _answer(self, result: AppResult) -> AgentChatResponse:
        self.session_id = result.session_id or self.session_id
        self._memory.put(ChatMessage(role=MessageRole.ASSISTANT, content=result.text))
        return AgentChatResponse(
            response=result.text,
            source_nodes=doc_references_to_nodes(result.doc_references),
            metadata={"session_id": result.session_id, "request_id": result.request_id},
        )

    def chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> AgentChatResponse:
        """One turn."""
        request = self._request(message, chat_history)
        return self._answer(self.connection.client().app_completion(self.app_id, **request))

    async def achat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> AgentChatResponse:
        """Async :meth:`chat`."""
        request = self._request(message, chat_history)
        client = self.connection.client()
        return self._answer(await client.aapp_completion(self.app_id, **request))

    def _finish(self, accumulator: AppAccumulator, sources: list[NodeWithScore]) -> None:
        result = accumulator.result()
        self.session_id = result.session_id or self.session_id
        sources.extend(doc_references_to_nodes(result.doc_references))

    def stream_chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> StreamingAgentChatResponse:
        """One turn, streamed; ``source_nodes`` are filled when the stream ends."""
        request = self._request(message, chat_history)
        client = self.connection.client()
        sources: list[NodeWithScore] = []

        def deltas() -> Generator[ChatResponse, None, None]:
            accumulator = AppAccumulator()
            with client.stream_app_completion(self.app_id, **request) as stream:
                for chunk in stream:
                    accumulator.add(chunk)
                    # LlamaIndex builds the final message from the deltas.
                    yield ChatResponse(message=ChatMessage(role="assistant"), delta=chunk.text)
            self._finish(accumulator, sources)

        response = StreamingAgentChatResponse(chat_stream=deltas(), source_nodes=sources)
        thread = Thread(target=_write_to_history, args=(response, self._memory))
        response.write_response_to_history_thread = thread
        thread.start()
        return response

    async def astream_chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> StreamingAgentChatResponse:
        """Async :meth:`stream_chat`."""
        request = self._request(message, chat_history)
        client = self.connection.client()
        sources: list[NodeWithScore] = []

        async def deltas() -> AsyncGenerator[ChatResponse, None]:
            accumulator = AppAccumulator()
            async with client.astream_app_completion(self.app_id, **request) as stream:
                async for chunk in stream:  # `async with`: an early stop releases the connection
                    accumulator.add(chunk)
                    yield ChatResponse(message=ChatMessage(role="assistant"), delta=chunk.text)
            self._finish(accumulator, sources)

        response = StreamingAgentChatResponse(achat_stream=deltas(), source_nodes=sources)
        response.awrite_response_to_history_task = asyncio.create_task(
            response.awrite_response_to_history(self._memory)
        )
        return response

    def reset(self) -> None:
        """Forget the conversation (local memory and the app session)."""
        self._memory.reset()
        self.session_id = None

    @property
    def chat_history(self) -> list[ChatMessage]:
        """The conversation so far."""
        return self._memory.get_all()


def _app_message(message: ChatMessage) -> dict[str, Any]:
    """One history message as an app takes it: system, user or assistant text.

    The roles are mapped as for chat models (``developer`` is ``system``, ``chatbot`` and
    ``model`` are ``assistant``); tool results cannot be sent to an app, as in LangChain's
    ``ChatDashScopeApp``.
    """
    role = _ROLE.get(message.role)
    if role not in ("system", "user", "assistant"):
        raise ValueError(
            f"an app takes system, user and assistant messages, not {message.role.value!r}"
        )
    return {"role": role, "content": message.content or ""}


def _write_to_history(response: StreamingAgentChatResponse, memory: ChatMemoryBuffer) -> None:
    """Run LlamaIndex's history writer in the stream's thread without an unhandled exception.

    On an error the writer stores it on ``response.exception`` (``response_gen`` raises it to
    the reader, typed) and then re-raises, which would only print a thread traceback.
    """
    with contextlib.suppress(Exception):  # kept on response.exception for the reader
        response.write_response_to_history(memory)

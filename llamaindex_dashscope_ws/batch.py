"""Batch jobs from LlamaIndex objects: ``llm.batch_job(conversations)`` / ``emb.batch_job(texts)``.

The thin LlamaIndex half of :class:`~dashscope_ws.batch.BatchJobSource`: inputs become
request lines with the object's own settings (model, workspace, generation parameters, as
``chat`` resolves them), and each answered row becomes what the online method returns
(``ChatResponse`` / an embedding). Files, polling, resume and failed rows
(:class:`~dashscope_ws.batch.BatchRowError`) are the core's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole

from dashscope_ws.batch import (
    BatchJobSource,
    BatchResult,
    EmbeddingJobSource,
    RequestLine,
    chat_lines,
    chat_result,
    compatible_message,
)
from llamaindex_dashscope_ws._convert import to_wire_messages
from llamaindex_dashscope_ws._responses import to_chat_response

__all__ = ["ChatBatchJobs", "EmbeddingBatchJobs"]


def _messages(item: str | Sequence[ChatMessage]) -> Sequence[ChatMessage]:
    if isinstance(item, str):  # a prompt, as ``complete`` takes it
        return [ChatMessage(role=MessageRole.USER, content=item)]
    return item


class ChatBatchJobs(BatchJobSource[ChatResponse]):
    """``DashScope.batch_job(inputs, **options)``: one ``ChatResponse`` per conversation.

    Each input is a ``ChatMessage`` list (or a prompt string); per-call ``model=``,
    ``workspace=`` and parameters as for ``chat``.

    Example:
        >>> from llamaindex_dashscope_ws import DashScope
        >>> llm = DashScope(model="qwen-plus", temperature=0.2)  # doctest: +SKIP
        >>> job = llm.batch_job(["Hi", "Bye"], state_path="hi.json")  # doctest: +SKIP
        >>> [r.message.content for r in job.wait().results()]  # doctest: +SKIP
    """

    def _batch_lines(
        self, inputs: Sequence[str | Sequence[ChatMessage]], options: dict[str, Any]
    ) -> tuple[Iterable[RequestLine], str | None]:
        _, call = self._call_args([], options)  # type: ignore[attr-defined]
        model, workspace = call.pop("model"), call.pop("workspace")
        conversations = (to_wire_messages(_messages(item), model=model) for item in inputs)
        return chat_lines(conversations, model=model, convert=compatible_message, **call), workspace

    def _batch_row(self, row: BatchResult) -> ChatResponse:
        return to_chat_response(chat_result(row, self.model))  # type: ignore[attr-defined]


class EmbeddingBatchJobs(EmbeddingJobSource):
    """``DashScopeEmbedding.batch_job(texts, **options)``: one embedding per text.

    Uses the object's ``model_name`` and ``dimensions``; per-call ``workspace=``.

    Example:
        >>> from llamaindex_dashscope_ws import DashScopeEmbedding
        >>> emb = DashScopeEmbedding(dimensions=512)  # doctest: +SKIP
        >>> vectors = emb.batch_job(texts).wait().results()  # doctest: +SKIP
    """

    _batch_model_field = "model_name"

"""Batch jobs from LangChain objects: ``llm.batch_job(inputs)`` / ``emb.batch_job(texts)``.

The thin LangChain half of :class:`~dashscope_ws.batch.BatchJobSource`: inputs are turned
into request lines with the object's own settings (model, workspace, generation
parameters, exactly as its online methods resolve them), and each answered row is turned
back into what the online method returns (``AIMessage`` / ``list[float]``). Everything else
(files, polling, resume, failed rows as :class:`~dashscope_ws.batch.BatchRowError`) is
the core's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage

from dashscope_ws.batch import (
    BatchJobSource,
    BatchResult,
    EmbeddingJobSource,
    RequestLine,
    chat_lines,
    chat_result,
    compatible_message,
)
from langchain_dashscope_ws._convert import messages_to_wire, result_to_message

if TYPE_CHECKING:
    from langchain_core.language_models import LanguageModelInput

__all__ = ["ChatBatchJobs", "EmbeddingBatchJobs"]


class ChatBatchJobs(BatchJobSource[AIMessage]):
    """``ChatDashScope.batch_job(inputs, **options)``: one chat completion per input.

    Inputs are what ``invoke`` takes (a string, a message list, a prompt value); per-call
    ``model=``, ``workspace=``, ``stop=`` and parameters as for ``invoke``.

    Example:
        >>> from langchain_dashscope_ws import ChatDashScope
        >>> llm = ChatDashScope(model="qwen-plus", temperature=0.2)  # doctest: +SKIP
        >>> job = llm.batch_job(["Hi", "Bye"], state_path="hi.json")  # doctest: +SKIP
        >>> [m.content for m in job.wait().results()]  # doctest: +SKIP
    """

    def _batch_lines(
        self, inputs: Sequence[LanguageModelInput], options: dict[str, Any]
    ) -> tuple[Iterable[RequestLine], str | None]:
        call = self._prepare([], options.pop("stop", None), options)  # type: ignore[attr-defined]
        conversations = (
            messages_to_wire(self._convert_input(item).to_messages(), model=call.model)  # type: ignore[attr-defined]
            for item in inputs
        )
        lines = chat_lines(
            conversations, model=call.model, convert=compatible_message, **call.parameters
        )
        return lines, call.workspace

    def _batch_row(self, row: BatchResult) -> AIMessage:
        result = chat_result(row, self.model)  # type: ignore[attr-defined]
        return result_to_message(result, model=result.model or self.model)  # type: ignore[attr-defined]


class EmbeddingBatchJobs(EmbeddingJobSource):
    """``DashScopeEmbeddings.batch_job(texts, **options)``: one vector per text.

    Uses the object's ``model`` and ``dimensions``; per-call ``workspace=``.

    Example:
        >>> from langchain_dashscope_ws import DashScopeEmbeddings
        >>> emb = DashScopeEmbeddings(dimensions=512)  # doctest: +SKIP
        >>> vectors = emb.batch_job(texts).wait().results()  # doctest: +SKIP
    """

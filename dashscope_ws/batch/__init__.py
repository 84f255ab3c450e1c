"""DashScope Batch jobs over the OpenAI-compatible File and Batch endpoints.

Half the real-time price, up to 50,000 requests per file, answers within a completion window
of 24 h to 14 days (DashScope "OpenAI兼容-Batch" page). See ``docs/scale.md``.

Example:
    >>> from dashscope_ws.batch import embedding_lines, split_lines
    >>> [ids for ids, _ in split_lines(embedding_lines(["a", "b"]))]
    [['0', '1']]
"""

from __future__ import annotations

from .convert import chat_result, compatible_message, compatible_usage, embedding
from .handle import BatchHandle, BatchJobSource, BatchRowError, EmbeddingJobSource
from .jobs import BatchJobs, BatchRun
from .lines import (
    CHAT_ENDPOINT,
    EMBEDDINGS_ENDPOINT,
    BatchLineError,
    BatchPart,
    BatchResult,
    BatchState,
    RequestLine,
    chat_lines,
    embedding_lines,
    map_results,
    split_lines,
)
from .wire import BatchJob, compatible_mode_url

__all__ = [
    "CHAT_ENDPOINT",
    "EMBEDDINGS_ENDPOINT",
    "BatchHandle",
    "BatchJob",
    "BatchJobSource",
    "BatchJobs",
    "BatchLineError",
    "BatchPart",
    "BatchResult",
    "BatchRowError",
    "BatchRun",
    "BatchState",
    "EmbeddingJobSource",
    "RequestLine",
    "chat_lines",
    "chat_result",
    "compatible_message",
    "compatible_mode_url",
    "compatible_usage",
    "embedding",
    "embedding_lines",
    "map_results",
    "split_lines",
]

"""Feed a :class:`~dashscope_ws.usage.UsageTracker` from LlamaIndex instrumentation events.

The handler listens for ``LLMChatStartEvent`` (which model and workspace: the LLM's
``model_dict``) and ``LLMChatEndEvent`` (the usage ``DashScope`` puts in the response's
``additional_kwargs["usage"]``; a stream ends with one end event, so it counts once).
LlamaIndex embedding events carry no usage at all: count embeddings with
``DashScopeClient(usage_tracker=...)`` in the core.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from llama_index.core.instrumentation.event_handlers.base import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import LLMChatEndEvent, LLMChatStartEvent
from pydantic import ConfigDict, Field, PrivateAttr

from dashscope_ws.usage import UsageTracker

__all__ = ["DashScopeUsageEventHandler"]


class DashScopeUsageEventHandler(BaseEventHandler):
    """LlamaIndex event handler that totals usage per (workspace, model) in a tracker.

    Example:
        >>> from llama_index.core.instrumentation import get_dispatcher
        >>> handler = DashScopeUsageEventHandler()
        >>> get_dispatcher().add_event_handler(handler)  # doctest: +SKIP
        >>> handler.tracker.totals().requests
        0
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    tracker: UsageTracker = Field(default_factory=UsageTracker)
    _calls: dict[str, tuple[str | None, str | None]] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def class_name(cls) -> str:
        """LlamaIndex's serialisation name."""
        return "DashScopeUsageEventHandler"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        """Remember a chat's model and workspace at its start; add its usage at its end."""
        if isinstance(event, LLMChatStartEvent):
            model_dict = event.model_dict or {}
            workspace, model = model_dict.get("workspace"), model_dict.get("model")
            with self._lock:
                self._calls[str(event.span_id)] = (
                    workspace if isinstance(workspace, str) else None,
                    model if isinstance(model, str) else None,
                )
        elif isinstance(event, LLMChatEndEvent) and event.response is not None:
            with self._lock:
                workspace, model = self._calls.pop(str(event.span_id), (None, None))
            extra = event.response.additional_kwargs or {}
            usage = extra.get("usage")
            if isinstance(usage, Mapping) and usage:
                self._add(usage, extra.get("model") or model, workspace)

    def _add(self, usage: Mapping[str, Any], model: Any, workspace: str | None) -> None:
        self.tracker.add(
            workspace=workspace,
            model=str(model or "?"),
            kind="chat",
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            cached_tokens=int(usage.get("cached_tokens") or 0),
            reasoning_tokens=int(usage.get("reasoning_tokens") or 0),
            total_tokens=usage.get("total_tokens"),
        )

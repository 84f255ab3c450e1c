"""Feed a :class:`~dashscope_ws.usage.UsageTracker` from LlamaIndex instrumentation events.

The handler listens for ``LLMChatStartEvent`` / ``LLMCompletionStartEvent`` (the call's
keyword arguments, where a per-call ``workspace=`` is) and ``LLMChatEndEvent`` /
``LLMCompletionEndEvent`` (the usage and model ``DashScope`` puts in the response's
``additional_kwargs``; a stream ends with one end event, so it counts once). ``complete``
and its variants emit only completion events (``DashScope`` derives them from the
undecorated chat), so both kinds are needed and no call is counted twice.
LlamaIndex events do not carry the LLM instance or its settings (``model_dict`` is
the LLM's ``metadata``), so the instance's own workspace is given to the handler
(``workspace=``); a per-call ``workspace=`` wins over it.
LlamaIndex embedding events carry no usage at all: count embeddings with
``DashScopeClient(usage_tracker=...)`` in the core.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionStartEvent,
)
from pydantic import ConfigDict, Field, PrivateAttr

from dashscope_ws.usage import UsageTracker

__all__ = ["DashScopeUsageEventHandler"]


class DashScopeUsageEventHandler(BaseEventHandler):
    """LlamaIndex event handler that totals usage per (workspace, model) in a tracker.

    Args:
        tracker: the tracker to feed (a new one when omitted).
        workspace: the workspace of calls that do not name one per call.

    Example:
        >>> from llama_index.core.instrumentation import get_dispatcher
        >>> handler = DashScopeUsageEventHandler(workspace="ws-emu-sub")
        >>> get_dispatcher().add_event_handler(handler)  # doctest: +SKIP
        >>> handler.tracker.totals().requests
        0
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    tracker: UsageTracker = Field(default_factory=UsageTracker)
    workspace: str | None = None
    _calls: dict[str, tuple[str | None, str | None]] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def class_name(cls) -> str:
        """LlamaIndex's serialisation name."""
        return "DashScopeUsageEventHandler"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        """Remember a call's model and workspace at its start; add its usage at its end."""
        if isinstance(event, (LLMChatStartEvent, LLMCompletionStartEvent)):
            workspace = (event.additional_kwargs or {}).get("workspace") or self.workspace
            model = (event.model_dict or {}).get("model_name")
            with self._lock:
                self._calls[str(event.span_id)] = (
                    workspace if isinstance(workspace, str) else None,
                    model if isinstance(model, str) else None,
                )
        elif (
            isinstance(event, (LLMChatEndEvent, LLMCompletionEndEvent))
            and event.response is not None
        ):
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

"""Feed a :class:`~dashscope_ws.usage.UsageTracker` from LangChain callbacks.

The handler reads what ``ChatDashScope`` reports on every turn: ``usage_metadata`` on the
message (streams carry it on the last chunk only, so a stream counts once), the model from
``response_metadata["model_name"]`` and the workspace from ``response_metadata`` /
``llm_output`` when present, else from the call's ``invocation_params`` (the instance's
``workspace`` or a per-call ``workspace=``). LangChain embeddings have no callbacks and no
usage: count them with ``DashScopeClient(usage_tracker=...)`` in the core. ``Tongyi`` (a
text LLM) reports DashScope's native ``token_usage`` in ``generation_info`` instead.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult

from dashscope_ws.usage import UsageTracker
from dashscope_ws.wire import parse_usage
from langchain_dashscope_ws._convert import usage_to_metadata

__all__ = ["DashScopeUsageCallbackHandler"]


class DashScopeUsageCallbackHandler(BaseCallbackHandler):
    """LangChain callback handler that totals usage per (workspace, model) in a tracker.

    Args:
        tracker: the tracker to feed (a new one when omitted).

    Example:
        >>> from dashscope_ws.usage import UsageTracker
        >>> handler = DashScopeUsageCallbackHandler(UsageTracker())
        >>> # llm.invoke("Hi", config={"callbacks": [handler]}); print(handler.tracker.report())
        >>> handler.tracker.totals().requests
        0
    """

    run_inline = True  # update from the caller's thread/loop, in order

    def __init__(self, tracker: UsageTracker | None = None) -> None:
        super().__init__()
        self.tracker = tracker if tracker is not None else UsageTracker()
        self._calls: dict[UUID, tuple[str | None, str | None]] = {}
        self._lock = threading.Lock()

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        invocation_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Remember the call's model and workspace (``invocation_params``)."""
        params = invocation_params or {}
        # Tongyi's params name the model `model_name`, as langchain-community's did.
        model = params.get("model") or params.get("model_name")
        workspace = params.get("workspace")
        with self._lock:
            self._calls[run_id] = (
                workspace if isinstance(workspace, str) else None,
                model if isinstance(model, str) else None,
            )

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        invocation_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """``Tongyi`` (a text LLM) starts here rather than in ``on_chat_model_start``."""
        self.on_chat_model_start(serialized, [], run_id=run_id, invocation_params=invocation_params)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """Add the usage of every generation of the finished call."""
        with self._lock:
            workspace, model = self._calls.pop(run_id, (None, None))
        llm_output = response.llm_output or {}
        for generations in response.generations:
            for generation in generations:
                message = getattr(generation, "message", None)
                usage = getattr(message, "usage_metadata", None) or _tongyi_usage(generation)
                if not usage:
                    continue
                metadata = getattr(message, "response_metadata", None) or {}
                self._add(usage, metadata, llm_output, workspace, model)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """A failed call used nothing we can count: forget it."""
        with self._lock:
            self._calls.pop(run_id, None)

    def _add(
        self,
        usage: Mapping[str, Any],
        metadata: Mapping[str, Any],
        llm_output: Mapping[str, Any],
        workspace: str | None,
        model: str | None,
    ) -> None:
        input_details = usage.get("input_token_details") or {}
        output_details = usage.get("output_token_details") or {}
        self.tracker.add(
            workspace=metadata.get("workspace") or llm_output.get("workspace") or workspace,
            model=str(metadata.get("model_name") or llm_output.get("model_name") or model or "?"),
            kind="chat",
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            cached_tokens=int(input_details.get("cache_read") or 0),
            reasoning_tokens=int(output_details.get("reasoning") or 0),
            total_tokens=usage.get("total_tokens"),
        )


def _tongyi_usage(generation: Any) -> Mapping[str, Any] | None:
    """``Tongyi``'s usage: DashScope's native ``token_usage`` in ``generation_info`` (a
    stream carries it on its last chunk only, so it counts once), read like a message's."""
    info = getattr(generation, "generation_info", None) or {}
    return usage_to_metadata(parse_usage(info.get("token_usage")))

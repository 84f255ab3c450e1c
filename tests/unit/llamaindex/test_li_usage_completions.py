"""The usage handler counts ``complete`` and its variants too (they emit completion events only)."""

from __future__ import annotations

from typing import Any

from llama_index.core.instrumentation import get_dispatcher

from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator
from llamaindex_dashscope_ws import DashScope, DashScopeUsageEventHandler


def _usage(response: Any) -> dict[str, Any]:
    usage = response.additional_kwargs["usage"]
    assert isinstance(usage, dict)
    return usage


async def test_every_completion_entry_point_is_counted_once(dashscope_emulator: Emulator) -> None:
    handler = DashScopeUsageEventHandler()
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(handler)
    try:
        llm = DashScope(model="qwen-turbo", api_key=SUB_KEY, base_url=dashscope_emulator.base_url)
        call = {"workspace": SUB_WORKSPACE}
        usages = [_usage(llm.complete("hello", **call))]
        usages.append(_usage(await llm.acomplete("hello", **call)))
        *_, last = llm.stream_complete("hello", **call)
        usages.append(_usage(last))
        responses = [r async for r in await llm.astream_complete("hello", **call)]
        usages.append(_usage(responses[-1]))
    finally:
        dispatcher.event_handlers.remove(handler)
    (row,) = handler.tracker.to_dict()["rows"]
    assert (row["workspace"], row["model"], row["requests"]) == (SUB_WORKSPACE, "qwen-turbo", 4)
    assert (row["input_tokens"], row["output_tokens"]) == (
        sum(u["input_tokens"] for u in usages),
        sum(u["output_tokens"] for u in usages),
    )

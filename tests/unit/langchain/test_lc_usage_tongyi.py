"""``DashScopeUsageCallbackHandler`` counts ``Tongyi`` calls too (issue 15: every call).

``ChatDashScope`` is covered in tests/unit/workspace/test_ws_usage.py; ``Tongyi`` is a text
LLM: its runs start in ``on_llm_start`` and its usage is DashScope's native ``token_usage``
in ``generation_info``, not a message's ``usage_metadata``.
"""

from __future__ import annotations

from typing import Any

from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.emulator.script import ScriptedReply
from langchain_dashscope_ws import DashScopeUsageCallbackHandler, Tongyi

DETAILED = {
    "input_tokens": 40,
    "output_tokens": 30,
    "total_tokens": 70,
    "prompt_tokens_details": {"cached_tokens": 16},
    "output_tokens_details": {"reasoning_tokens": 12},
}


async def test_every_tongyi_entry_point_is_counted_once(dashscope_emulator: Emulator) -> None:
    handler = DashScopeUsageCallbackHandler()
    config: Any = {"callbacks": [handler]}
    llm = Tongyi(
        model="qwen-plus",
        api_key=SUB_KEY,
        workspace=SUB_WORKSPACE,
        base_url=dashscope_emulator.base_url,
    )
    for _ in range(4):
        dashscope_emulator.enqueue(ScriptedReply(text="a b c", usage=DETAILED))
    assert llm.invoke("hello", config=config)
    assert await llm.ainvoke("async hello", config=config)
    assert "".join(llm.stream("stream me", config=config))
    assert "".join([piece async for piece in llm.astream("astream me", config=config)])
    totals = handler.tracker.totals(workspace=SUB_WORKSPACE, model="qwen-plus")
    assert totals.requests == 4
    assert (totals.input_tokens, totals.output_tokens) == (160, 120)
    assert (totals.cached_tokens, totals.reasoning_tokens) == (64, 48)
    llm.close()

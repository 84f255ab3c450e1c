"""Both adapters take every declared setting and parameter, validated the same way."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dashscope_ws import Usage
from dashscope_ws.settings import CONNECTION_SETTINGS, GENERATION_PARAMETERS
from dashscope_ws.transports import AsyncMockTransport, MockRequest, MockTransport

REPLY = {
    "output": {
        "choices": [
            {"message": {"role": "assistant", "content": "mocked"}, "finish_reason": "stop"}
        ]
    },
    "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
}


def _classes() -> list[type[Any]]:
    from langchain_dashscope_ws import ChatDashScope, DashScopeEmbeddings, DashScopeRerank
    from llamaindex_dashscope_ws import DashScope, DashScopeEmbedding
    from llamaindex_dashscope_ws import DashScopeRerank as LIRerank

    return [
        ChatDashScope,
        DashScopeEmbeddings,
        DashScopeRerank,
        DashScope,
        DashScopeEmbedding,
        LIRerank,
    ]


def _chat_classes() -> list[type[Any]]:
    from langchain_dashscope_ws import ChatDashScope
    from llamaindex_dashscope_ws import DashScope

    return [ChatDashScope, DashScope]


@pytest.mark.parametrize("index", range(6))
def test_every_class_has_every_connection_setting(index: int) -> None:
    cls = _classes()[index]
    fields = set(cls.model_fields)
    assert {s.name for s in CONNECTION_SETTINGS} <= fields
    assert {"transport", "async_transport", "usage_tracker"} <= fields


@pytest.mark.parametrize("index", range(2))
@pytest.mark.parametrize("parameter", GENERATION_PARAMETERS, ids=lambda p: p.name)
def test_generation_parameters_validate_identically(index: int, parameter: Any) -> None:
    cls = _chat_classes()[index]
    step = 1 if parameter.type is int else 0.001
    outside = {"ge": -step, "gt": 0, "le": step, "lt": 0}
    values = [
        getattr(parameter, b) + d for b, d in outside.items() if getattr(parameter, b) is not None
    ]
    for value in values:
        with pytest.raises(ValidationError):
            cls(api_key="sk-test", **{parameter.name: parameter.type(value)})
    if values:  # the bound itself (where allowed) is accepted by both
        inside = parameter.ge if parameter.ge is not None else parameter.le
        if inside is not None:
            cls(api_key="sk-test", **{parameter.name: parameter.type(inside)})


@pytest.mark.parametrize("index", range(2))
def test_chat_classes_run_on_a_mock_transport(index: int) -> None:
    import asyncio

    seen: list[MockRequest] = []
    usages: list[Usage] = []

    class Sink:
        def record(self, *, workspace: str | None, model: str, usage: Usage, kind: str) -> None:
            usages.append(usage)

    def handler(request: MockRequest) -> dict[str, Any]:
        seen.append(request)
        return REPLY

    cls = _chat_classes()[index]
    model = cls(
        api_key="sk-test",
        temperature=0.5,
        transport=MockTransport(handler),
        async_transport=AsyncMockTransport(handler),
        usage_tracker=Sink(),
    )
    if index == 0:
        assert model.invoke("hi").content == "mocked"
        assert asyncio.run(model.ainvoke("hi")).content == "mocked"
    else:
        from llama_index.core.llms import ChatMessage

        assert model.chat([ChatMessage(role="user", content="hi")]).message.content == "mocked"
    assert seen[0].json["parameters"]["temperature"] == 0.5
    assert usages
    assert "transport" not in model.model_dump_json()  # objects are never serialised

"""Native structured output for the LlamaIndex ``DashScope`` LLM (json_schema, not tools).

``structured_predict`` uses DashScope's own ``response_format`` json_schema where the model
supports it (the registry's ``json_schema`` flag) and falls back to tool calling elsewhere.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import ChatResponse
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.llm import LLMStructuredPredictEndEvent
from llama_index.core.types import Model, PydanticProgramMode

from dashscope_ws.models import lookup
from llamaindex_dashscope_ws._convert import response_format_for

__all__ = ["json_schema_kwargs", "structured_result"]

dispatcher = get_dispatcher(__name__)


def json_schema_kwargs(
    output_cls: type[Model],
    llm_kwargs: dict[str, Any] | None,
    *,
    model: str,
    thinking: bool | None,
    mode: PydanticProgramMode,
) -> dict[str, Any] | None:
    """Chat kwargs for DashScope's native json_schema output, or None to use tools.

    Native only with ``pydantic_program_mode=DEFAULT``, on a model flagged ``json_schema`` in
    :mod:`dashscope_ws.models`, and without thinking (the service documents JSON output for
    non-thinking mode only). ``model`` and ``thinking`` are the LLM's; ``llm_kwargs`` wins.

    Example:
        >>> from pydantic import BaseModel
        >>> class Person(BaseModel):
        ...     name: str
        >>> kwargs = json_schema_kwargs(
        ...     Person, {"tools": []}, model="qwen-plus", thinking=None,
        ...     mode=PydanticProgramMode.DEFAULT,
        ... )
        >>> sorted(kwargs), kwargs["response_format"]["type"]
        (['response_format'], 'json_schema')
    """
    kwargs = dict(llm_kwargs or {})
    chosen = kwargs.get("model") or model
    if mode != PydanticProgramMode.DEFAULT or kwargs.get("enable_thinking", thinking):
        return None
    if not lookup(chosen).json_schema:
        return None
    for name in ("tools", "tool_choice", "parallel_tool_calls"):
        kwargs.pop(name, None)
    kwargs["response_format"] = response_format_for(output_cls)
    return kwargs


def structured_result(output_cls: type[Model], response: ChatResponse) -> Model:
    """Validate the reply against ``output_cls`` and announce the result."""
    result = output_cls.model_validate_json(response.message.content or "")
    dispatcher.event(LLMStructuredPredictEndEvent(output=result))
    return result

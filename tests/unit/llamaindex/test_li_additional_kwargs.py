"""LlamaIndex ``additional_kwargs`` follow LangChain's ``model_kwargs`` rule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dashscope_ws._arguments import ArgumentError
from langchain_dashscope_ws import ChatDashScope
from llamaindex_dashscope_ws import DashScope


def test_a_declared_parameter_moves_to_its_validated_field() -> None:
    llm = DashScope(api_key="sk-x", additional_kwargs={"temperature": 0.3, "search_options": {}})
    assert llm.temperature == 0.3
    assert llm.additional_kwargs == {"search_options": {}}
    with pytest.raises(ValidationError, match="temperature"):
        DashScope(api_key="sk-x", additional_kwargs={"temperature": 5})  # out of range
    with pytest.raises(ArgumentError, match="not both"):
        DashScope(api_key="sk-x", temperature=0.1, additional_kwargs={"temperature": 0.2})


@pytest.mark.parametrize("name", ["workspace", "model", "api_key", "stream"])
def test_a_field_hidden_in_the_extra_parameters_is_refused_in_both_frameworks(name: str) -> None:
    with pytest.raises(ValueError, match=rf"additional_kwargs \['{name}'\] must be passed"):
        DashScope(api_key="sk-x", additional_kwargs={name: "x"})
    with pytest.raises(ValidationError, match=rf"model_kwargs \['{name}'\] must be passed"):
        ChatDashScope(api_key="sk-x", model_kwargs={name: "x"})

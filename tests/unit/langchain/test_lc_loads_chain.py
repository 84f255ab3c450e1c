"""Reloading a serialised chain with ``loads()``, as docs/langchain.md documents (issue 12)."""

from __future__ import annotations

import pytest
from langchain_core.load import dumps, loads
from langchain_core.prompts import ChatPromptTemplate, HumanMessagePromptTemplate, PromptTemplate
from langchain_core.runnables import RunnableSequence

from langchain_dashscope_ws import ChatDashScope

pytestmark = [
    pytest.mark.filterwarnings("ignore:The function `loads` is in beta"),
    pytest.mark.filterwarnings("ignore:The default value of `allowed_objects`"),
]


def test_a_chain_reloads_only_with_chatdashscope_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-secret")
    chain = ChatPromptTemplate.from_template("Say hi to {name}") | ChatDashScope(
        model="qwen-max", workspace="ws-1"
    )
    text = dumps(chain)
    assert "sk-secret" not in text
    options = {"secrets_from_env": True, "valid_namespaces": ["langchain_dashscope_ws"]}
    for refused in (None, "all"):  # langchain-core revives only its own classes by default
        with pytest.raises(ValueError, match="ChatDashScope"):
            loads(text, allowed_objects=refused, **options)  # type: ignore[arg-type]
    allowed = [ChatDashScope, RunnableSequence, ChatPromptTemplate, HumanMessagePromptTemplate,
               PromptTemplate]  # fmt: skip
    revived = loads(text, allowed_objects=allowed, **options)  # type: ignore[arg-type]
    assert isinstance(revived.last, ChatDashScope)
    assert (revived.last.model, revived.last.workspace) == ("qwen-max", "ws-1")
    assert revived.last.api_key.get_secret_value() == "sk-secret"

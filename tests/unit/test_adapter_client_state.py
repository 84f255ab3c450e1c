"""The per-call shortcut of ``_get_client`` (``client_state`` + ``ClientHolder.cached``).

An unchanged adapter object gets its client back without the settings being rebuilt; any
field changed after construction (every connection setting, the client objects, the key)
still rebuilds it, in both frameworks, and the resolved location is shown again.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_adapter_settings_reach_client import VALUES

from dashscope_ws._adapter_settings import CLIENT_OBJECTS, ClientHolder
from dashscope_ws.transports import MockTransport


def _models() -> list[Any]:
    from langchain_dashscope_ws import ChatDashScope
    from llamaindex_dashscope_ws import DashScope

    return [
        ChatDashScope(api_key="sk-state", workspace="ws-1"),
        DashScope(api_key="sk-state", workspace="ws-1"),
    ]


@pytest.mark.parametrize("index", [0, 1], ids=["langchain", "llamaindex"])
@pytest.mark.parametrize("name", [*VALUES, *CLIENT_OBJECTS])
def test_a_field_changed_after_the_first_call_rebuilds_the_client(index: int, name: str) -> None:
    llm = _models()[index]
    first = llm._get_client()
    assert llm._get_client() is first  # unchanged: the held client
    value = MockTransport(lambda r: None) if name in CLIENT_OBJECTS else VALUES[name]
    setattr(llm, name, value)
    second = llm._get_client()
    assert second is not first
    assert llm._get_client() is second
    if name not in CLIENT_OBJECTS and name != "region":  # base_url wins over region
        assert getattr(second.config, name) == value
    llm.close()


@pytest.mark.parametrize("index", [0, 1], ids=["langchain", "llamaindex"])
def test_a_new_key_rebuilds_the_client(index: int) -> None:
    llm = _models()[index]
    first = llm._get_client()
    if index == 0:
        llm.api_key = type(llm.api_key)("sk-other")
    else:
        llm._set_api_key("sk-other")
    second = llm._get_client()
    assert second is not first
    assert second.config.api_key.get_secret_value() == "sk-other"
    llm.close()


@pytest.mark.parametrize("index", [0, 1], ids=["langchain", "llamaindex"])
def test_workspace_set_to_none_after_a_call_shows_the_resolved_one_again(
    index: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASHSCOPE_WORKSPACE", "ws-env")
    llm = _models()[index]
    assert llm._get_client().config.workspace == "ws-1"
    llm.workspace = None  # "no choice": the environment's workspace applies again
    assert llm._get_client().config.workspace == "ws-env"
    assert llm.workspace == "ws-env"
    llm.close()


def test_cached_answers_only_the_state_of_the_last_get() -> None:
    holder = ClientHolder()
    assert holder.cached(("s",)) is None
    client = holder.get({"api_key": "sk-test"}, state=("s",))
    assert holder.cached(("s",)) is client
    assert holder.cached(("t",)) is None
    assert holder.get({"api_key": "sk-test"}) is client  # no state: nothing to answer
    assert holder.cached(("s",)) is None
    holder.get({"api_key": "sk-test"}, state=("s",))
    holder.close()
    assert holder.cached(("s",)) is None

"""Token counting on ChatDashScope: Qwen vocabulary, offline, usable by trim_messages."""

from __future__ import annotations

import pytest

# tiktoken comes with the [tokens] extra that [dev] installs: a missing extra must fail here,
# not skip (pyproject: the tokenizer tests never skip).
import tiktoken  # noqa: F401
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, trim_messages

from dashscope_ws import tokens
from langchain_dashscope_ws import ChatDashScope


@pytest.fixture
def llm() -> ChatDashScope:
    # A base_url nothing listens on: counting must never touch the network.
    return ChatDashScope(api_key="sk-emu-main", base_url="http://127.0.0.1:9/api/v1")


def test_token_ids_are_qwen_ids(llm: ChatDashScope) -> None:
    assert llm.get_token_ids("你好？") == [108386, 11319]
    assert llm.get_num_tokens("通义千问具有强大的能力。") == 8


def test_messages_are_counted_with_the_chat_template(llm: ChatDashScope) -> None:
    messages = [SystemMessage("You are a helpful assistant."), HumanMessage("你是什么东西？")]
    assert llm.get_num_tokens_from_messages(messages) == 23  # published service usage

    def get_weather(city: str) -> str:
        """Weather in a city."""
        return city

    assert llm.get_num_tokens_from_messages(messages, tools=[get_weather]) > 23
    call = AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "杭州"}, "id": "c"}])
    assert llm.get_num_tokens_from_messages([*messages, call]) > 23 + 5


def test_trim_messages_uses_qwen_counts_offline(llm: ChatDashScope) -> None:
    history = [
        SystemMessage("你是一个乐于助人的助手。"),
        HumanMessage("北京有哪些好玩地方？"),
        AIMessage("故宫、颐和园、天坛等都是可以去游玩的景点哦。"),
        HumanMessage("帮我安排一些行程"),
    ]
    full = llm.get_num_tokens_from_messages(history)
    expected = tokens.count_message_tokens(
        [
            {"role": "system", "content": "你是一个乐于助人的助手。"},
            {"role": "user", "content": "北京有哪些好玩地方？"},
            {"role": "assistant", "content": "故宫、颐和园、天坛等都是可以去游玩的景点哦。"},
            {"role": "user", "content": "帮我安排一些行程"},
        ]
    )
    assert full == expected
    trimmed = trim_messages(
        history, token_counter=llm, max_tokens=full - 1, strategy="last", include_system=True
    )
    assert trimmed == [history[0], history[2], history[3]]  # the oldest question goes
    # trim_messages counts the system message on its own, so the 3-token reply opener
    # (<|im_start|>assistant\n) is counted twice.
    few = llm.get_num_tokens_from_messages([history[0], history[3]]) + 3
    short = trim_messages(
        history, token_counter=llm, max_tokens=few, strategy="last", include_system=True
    )
    assert short == [history[0], history[3]]
    assert trim_messages(history, token_counter=llm, max_tokens=full, strategy="last") == history

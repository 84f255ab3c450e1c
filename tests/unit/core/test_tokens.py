"""Qwen token counting: offline vocabulary and the service's tokenization endpoint."""

from __future__ import annotations

import pytest

# tiktoken comes with the [tokens] extra that [dev] installs: a missing extra must fail here,
# not skip (pyproject: the tokenizer tests never skip).
import tiktoken  # noqa: F401

from dashscope_ws import DashScopeClient, tokens
from dashscope_ws.emulator import Emulator
from dashscope_ws.errors import AuthenticationError


def test_encode_matches_a_published_service_answer() -> None:
    # dashscope.Tokenization.call(model="qwen-turbo", messages=[{"content": "你好？"}])
    # answered token_ids [108386, 11319] (published SDK sample, see tokens.py).
    assert tokens.encode("你好？") == [108386, 11319]
    assert tokens.decode([108386, 11319]) == "你好？"


def test_published_usage_counts_are_reproduced() -> None:
    # Generation usage published with the SDK samples cited in tokens.py.
    assert tokens.count_tokens("我是来自阿里云的超大规模语言模型，我叫通义千问。") == 17
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "你是什么东西？"},
    ]
    assert tokens.count_message_tokens(messages) == 23


def test_chinese_is_counted_with_the_qwen_vocabulary_not_gpt2() -> None:
    text = "通义千问具有强大的能力。" * 4
    qwen = tokens.count_tokens(text)
    gpt2_like = len(text.encode("utf-8")) // 2  # GPT-2 spends 1-3 tokens per CJK character
    assert qwen == 32
    assert qwen < gpt2_like


def test_message_count_includes_template_tool_calls_and_tools() -> None:
    plain = [{"role": "user", "content": "hi"}]
    base = tokens.count_message_tokens(plain)
    assert base == tokens.count_message_tokens(plain, add_generation_prompt=False) + 3
    call = {"function": {"name": "get_weather", "arguments": '{"city": "杭州"}'}}
    with_call = [*plain, {"role": "assistant", "content": "", "tool_calls": [call]}]
    assert tokens.count_message_tokens(with_call) > base + 5
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    assert tokens.count_message_tokens(plain, tools=[tool]) > base
    parts = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert tokens.count_message_tokens(parts) == base


def test_special_token_text_in_content_is_plain_text() -> None:
    assert 151644 not in tokens.encode("<|im_start|>")


def test_missing_vocabulary_raises_a_clear_import_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("DASHSCOPE_WS_QWEN_VOCAB", "/nonexistent/qwen.tiktoken")
    tokens.qwen_encoding.cache_clear()
    try:
        with pytest.raises(FileNotFoundError):
            tokens.qwen_encoding()
    finally:
        monkeypatch.delenv("DASHSCOPE_WS_QWEN_VOCAB")
        tokens.qwen_encoding.cache_clear()
    monkeypatch.setattr(tokens.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"dashscope-ws\[tokens\]"):
        tokens._vocab_path()


def test_tokenize_asks_the_service(dashscope_emulator: Emulator) -> None:
    client = DashScopeClient(api_key="sk-emu-main", base_url=dashscope_emulator.base_url)
    with client:
        result = tokens.tokenize(client, "Hello, 通义 world!")
        messages = tokens.tokenize(client, [{"role": "user", "content": "你好？"}])
    # The emulator's documented tokenizer: a word, a CJK character, a mark each.
    assert result.tokens == ("Hello", ",", "通", "义", "world", "!")
    assert result.count == len(result.token_ids) == 6
    assert result.request_id
    assert messages.count == 3
    sent = dashscope_emulator.requests[-1]
    assert sent.path == "/api/v1/tokenizer"
    assert sent.json == {
        "model": "qwen-plus",
        "input": {"messages": [{"role": "user", "content": "你好？"}]},
        "parameters": {},
    }


async def test_atokenize_and_errors_are_typed(dashscope_emulator: Emulator) -> None:
    async with DashScopeClient(api_key="sk-emu-main", base_url=dashscope_emulator.base_url) as c:
        assert (await tokens.atokenize(c, "a b")).count == 2
    bad = DashScopeClient(api_key="sk-wrong", base_url=dashscope_emulator.base_url, max_retries=0)
    with bad, pytest.raises(AuthenticationError):
        tokens.tokenize(bad, "a")

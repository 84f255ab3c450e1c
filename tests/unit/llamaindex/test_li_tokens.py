"""The Qwen tokenizer plugs into LlamaIndex's token counting."""

from __future__ import annotations

# tiktoken comes with the [tokens] extra that [dev] installs: a missing extra must fail here,
# not skip (pyproject: the tokenizer tests never skip).
import tiktoken  # noqa: F401
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.utilities.token_counting import TokenCounter

from llamaindex_dashscope_ws import qwen_tokenizer


def test_qwen_tokenizer_gives_qwen_ids() -> None:
    assert qwen_tokenizer("你好？") == [108386, 11319]


def test_token_counting_handler_counts_chinese_with_qwen() -> None:
    text = "通义千问具有强大的能力。"
    handler = TokenCountingHandler(tokenizer=qwen_tokenizer)
    CallbackManager([handler])
    assert TokenCounter(tokenizer=qwen_tokenizer).get_string_tokens(text) == 8
    default = TokenCounter().get_string_tokens(text)  # GPT's cl100k_base
    assert default != 8


def test_settings_tokenizer_accepts_it() -> None:
    from llama_index.core import Settings

    previous = Settings._tokenizer
    try:
        Settings.tokenizer = qwen_tokenizer
        assert Settings.tokenizer("你好？") == [108386, 11319]
    finally:
        Settings._tokenizer = previous

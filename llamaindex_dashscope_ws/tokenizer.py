"""A Qwen tokenizer for LlamaIndex: ``Settings.tokenizer`` and ``TokenCountingHandler``.

LlamaIndex takes any ``Callable[[str], list]`` as a tokenizer and counts ``len(...)`` of
its result; the default is GPT's ``cl100k_base``, which miscounts Chinese for Qwen.
Counting is offline (see :mod:`dashscope_ws.tokens` for the vocabulary and accuracy).
"""

from __future__ import annotations

from dashscope_ws.tokens import encode

__all__ = ["qwen_tokenizer"]


def qwen_tokenizer(text: str) -> list[int]:
    """Qwen token ids of ``text`` (needs ``pip install "dashscope-ws[tokens]"``).

    Args:
        text: the text to tokenize.

    Example:
        >>> from llama_index.core import Settings
        >>> from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
        >>> from llamaindex_dashscope_ws import qwen_tokenizer
        >>> Settings.tokenizer = qwen_tokenizer  # doctest: +SKIP
        >>> counter = TokenCountingHandler(tokenizer=qwen_tokenizer)
        >>> Settings.callback_manager = CallbackManager([counter])  # doctest: +SKIP
    """
    return encode(text)

"""A constructor error's message never shows the API key, in either framework.

pydantic quotes the whole input in the error of a model-level check (a bad region or
``base_url``, a field hidden in ``model_kwargs``), and there the key is still the plain
string the user passed. LlamaIndex classes take the key out before validating; the LangChain
classes hide the input in their error messages (``errors()`` still holds it, as the
caller's own arguments do).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

KEY = "sk-3f9c2a71d4e8b605c1a9e7f2d3b4c5a6"


def _shows_key(text: str) -> bool:
    # pydantic shortens a long input to its first and last characters: look for either end.
    return KEY[:10] in text or KEY[-8:] in text


def _langchain() -> dict[str, Callable[..., Any]]:
    from langchain_dashscope_ws import (
        ChatDashScope,
        ChatDashScopeApp,
        DashScopeEmbeddings,
        DashScopeRerank,
        Tongyi,
    )

    return {
        "ChatDashScope": ChatDashScope,
        "Tongyi": Tongyi,
        "DashScopeEmbeddings": DashScopeEmbeddings,
        "DashScopeRerank": DashScopeRerank,
        "ChatDashScopeApp": lambda **kw: ChatDashScopeApp(app_id="app-1", **kw),
    }


def _llamaindex() -> dict[str, Callable[..., Any]]:
    from llamaindex_dashscope_ws import DashScope, DashScopeEmbedding, DashScopeRerank

    return {"DashScope": DashScope, "DashScopeEmbedding": DashScopeEmbedding,
            "DashScopeRerank": DashScopeRerank}  # fmt: skip


BAD = {"region": {"region": "mars"}, "base_url": {"base_url": "ftp://example.test"}}
CLASSES = [*(f"lc:{n}" for n in _langchain()), *(f"li:{n}" for n in _llamaindex())]


def _build(label: str, **kwargs: Any) -> Any:
    framework, name = label.split(":")
    return (_langchain() if framework == "lc" else _llamaindex())[name](**kwargs)


@pytest.mark.parametrize("spelling", ["api_key", "dashscope_api_key"])
@pytest.mark.parametrize("bad", sorted(BAD))
@pytest.mark.parametrize("label", CLASSES)
def test_a_rejected_setting_does_not_quote_the_key(label: str, bad: str, spelling: str) -> None:
    with pytest.raises(ValidationError) as info:
        _build(label, **{spelling: KEY}, **BAD[bad])
    assert bad.split("_")[0] in str(info.value)  # the error still says what was wrong
    assert not _shows_key(str(info.value))
    assert not _shows_key(repr(info.value))


@pytest.mark.parametrize("name", ["ChatDashScope", "Tongyi"])
def test_a_field_in_model_kwargs_is_refused_without_quoting_the_key(name: str) -> None:
    with pytest.raises(ValidationError, match=r"model_kwargs \['workspace'\]") as info:
        _langchain()[name](api_key=KEY, model_kwargs={"workspace": "ws-1"})
    assert not _shows_key(str(info.value))


@pytest.mark.parametrize("name", sorted(_langchain()))
def test_no_key_in_repr_or_dumpd(name: str) -> None:
    from langchain_core.load import dumpd

    model = _langchain()[name](api_key=KEY)
    assert model.api_key.get_secret_value() == KEY  # the key is there, only never shown
    assert not _shows_key(repr(model))
    assert not _shows_key(str(dumpd(model)))

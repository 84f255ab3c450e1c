"""One way to spell each setting in both frameworks, and no silently ignored argument (issue 12).

Every adapter class of both frameworks rejects an unknown constructor argument naming the
closest valid one, accepts every spelling in ``SPELLINGS`` for a setting it has, and
refuses two spellings of one setting. The table in docs/configuration.md is checked
against the declaration here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dashscope_ws._arguments import SPELLINGS, ArgumentError
from dashscope_ws.emulator import SUB_KEY

LANGCHAIN = ("ChatDashScope", "Tongyi", "DashScopeEmbeddings", "DashScopeRerank",
             "ChatDashScopeApp", "DashScopeKnowledgeBaseRetriever")  # fmt: skip
LLAMAINDEX = ("DashScope", "DashScopeEmbedding", "DashScopeRerank", "DashScopeAppQueryEngine",
              "DashScopeAppChatEngine", "DashScopeKnowledgeBaseRetriever")  # fmt: skip
# Required arguments of the classes that have some.
REQUIRED: dict[str, dict[str, Any]] = {
    "ChatDashScopeApp": {"app_id": "app-1"},
    "DashScopeAppQueryEngine": {"app_id": "app-1"},
    "DashScopeAppChatEngine": {"app_id": "app-1"},
    "DashScopeKnowledgeBaseRetriever": {"index_id": "idx-1"},
}
DOC = Path(__file__).parents[2] / "docs" / "configuration.md"


def _classes() -> list[tuple[str, type]]:
    import langchain_dashscope_ws as lc
    import llamaindex_dashscope_ws as li

    return [(f"langchain:{n}", getattr(lc, n)) for n in LANGCHAIN] + [
        (f"llamaindex:{n}", getattr(li, n)) for n in LLAMAINDEX
    ]


def _build(cls: type, **kwargs: Any) -> Any:
    return cls(**{**REQUIRED.get(cls.__name__, {}), "api_key": SUB_KEY, **kwargs})


def _settings(obj: Any) -> Any:
    return getattr(obj, "connection", obj)  # the engines hold their settings in .connection


@pytest.mark.parametrize(("label", "cls"), _classes(), ids=[label for label, _ in _classes()])
def test_unknown_argument_names_the_closest_valid_one(label: str, cls: type) -> None:
    with pytest.raises(
        ArgumentError, match=r"got an unexpected argument 'worksapce'; did you mean 'workspace'\?"
    ):
        _build(cls, worksapce="ws-1")
    with pytest.raises(
        ArgumentError, match=f"{cls.__name__}\\(\\) got an unexpected argument 'zzz'$"
    ):
        _build(cls, zzz=1)


@pytest.mark.parametrize(("label", "cls"), _classes(), ids=[label for label, _ in _classes()])
def test_every_spelling_is_accepted_and_two_at_once_refused(label: str, cls: type) -> None:
    assert _settings(_build(cls, workspace_id="ws-7")).workspace == "ws-7"
    assert _settings(_build(cls, dashscope_base_url="http://127.0.0.1:1/api/v1")).base_url == (
        "http://127.0.0.1:1/api/v1"
    )
    key_only = cls(**REQUIRED.get(cls.__name__, {}), dashscope_api_key=SUB_KEY)
    assert SUB_KEY not in repr(key_only)
    with pytest.raises(ArgumentError, match="pass workspace or workspace_id, not both"):
        _build(cls, workspace="ws-1", workspace_id="ws-2")


@pytest.mark.parametrize(
    ("label", "cls"),
    [
        c
        for c in _classes()
        if c[0].split(":")[1]
        in (
            "ChatDashScope",
            "Tongyi",
            "DashScope",
            "DashScopeEmbeddings",
            "DashScopeEmbedding",
            "DashScopeRerank",
        )
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_model_spellings(label: str, cls: type) -> None:
    model = (
        "text-embedding-v3"
        if "Embedding" in cls.__name__
        else "gte-rerank"
        if "Rerank" in cls.__name__
        else "qwen-max"
    )
    for spelling in ("model", "model_name"):
        obj = _build(cls, **{spelling: model})
        assert getattr(obj, "model", None) == model or getattr(obj, "model_name", None) == model
    with pytest.raises(ArgumentError, match="pass model or model_name, not both"):
        _build(cls, model=model, model_name=model)


def test_the_issue_examples_fail_or_do_what_they_say() -> None:
    from llamaindex_dashscope_ws import DashScope, DashScopeEmbedding, DashScopeRerank

    assert _build(DashScopeEmbedding, model="text-embedding-v3").model_name == "text-embedding-v3"
    assert _build(DashScopeRerank, model_name="gte-rerank").model == "gte-rerank"
    assert _build(DashScopeEmbedding, dimension=256).dimensions == 256
    with pytest.raises(ArgumentError, match="did you mean 'temperature'"):
        _build(DashScope, temprature=0.1)
    assert _build(DashScope, max_output_tokens=64).max_tokens == 64


def test_settings_from_the_environment_are_visible_at_construction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langchain_dashscope_ws import ChatDashScope
    from llamaindex_dashscope_ws import DashScope

    monkeypatch.setenv("DASHSCOPE_WORKSPACE", "ws-from-env")
    monkeypatch.setenv("DASHSCOPE_REGION", "ap-southeast-1")
    monkeypatch.delenv("DASHSCOPE_BASE_URL", raising=False)
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    for llm in (ChatDashScope(), DashScope()):  # no key needed to see where a call would go
        assert llm.workspace == "ws-from-env"
        assert llm.base_url == "https://dashscope-intl.aliyuncs.com/api/v1"
        assert "ws-from-env" in repr(llm)
    lc = ChatDashScope(workspace="ws-arg")
    assert lc.workspace == "ws-arg"
    assert lc._get_ls_params()["dashscope_workspace"] == "ws-arg"  # type: ignore[typeddict-item]
    assert ChatDashScope()._get_ls_params(workspace="ws-call")["dashscope_workspace"] == "ws-call"  # type: ignore[typeddict-item]
    assert "workspace" not in ChatDashScope().model_fields_set  # resolved, not "set by the user"
    assert ChatDashScope(workspace=None).workspace == "ws-from-env"
    # A copy with another region shows (and calls) that region once its client is built.
    copy = ChatDashScope(api_key="k").model_copy(update={"region": "cn-beijing"})
    assert copy._get_client().config.base_url == "https://dashscope.aliyuncs.com/api/v1"
    assert copy.base_url == "https://dashscope.aliyuncs.com/api/v1"
    in_host = DashScope(api_key="k", workspace="ws-1", workspace_in_host=True, region="cn-beijing")
    assert in_host.base_url is None  # the host follows the workspace
    assert (
        in_host._get_client().config.base_url == "https://ws-1.cn-beijing.maas.aliyuncs.com/api/v1"
    )


def spellings_table() -> str:
    """The docs table, rendered from SPELLINGS and the classes' own fields."""
    rows = [
        "| setting | accepted spellings (every class, both frameworks) | stored as |",
        "|---|---|---|",
    ]
    for group in SPELLINGS:
        others = sorted(
            f"`{name}` on {label.replace(':', ' ')}"
            for label, cls in _classes()
            for name in group[1:]
            if name in getattr(cls, "model_fields", {})
        )
        stored = f"`{group[0]}`" + (f"; {', '.join(others)}" if others else "")
        rows.append(f"| {group[0]} | {', '.join(f'`{n}`' for n in group)} | {stored} |")
    return "\n".join(rows)


def test_the_documented_table_matches_the_declaration() -> None:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- spellings:begin -->\n(.*?)\n<!-- spellings:end -->", text, re.S)
    assert match, "docs/configuration.md lost its spellings markers"
    assert match.group(1) == spellings_table(), "regenerate: python tests/unit/test_spellings.py"


if __name__ == "__main__":
    print(spellings_table())

"""The apps, knowledge-base, workspace and usage types are importable from the package root."""

from __future__ import annotations

import pytest

import dashscope_ws
from dashscope_ws import apps, knowledge, usage, workspace

NEW = {
    "AppChunk": apps,
    "AppResult": apps,
    "AppThought": apps,
    "DocReference": apps,
    "ModelUsage": apps,
    "WorkflowMessage": apps,
    "RetrievedNode": knowledge,
    "Price": usage,
    "UsageTotals": usage,
    "UsageTracker": usage,
    "GrantedModel": workspace,
    "ModelQuota": workspace,
    "RateLimit": workspace,
}


def test_root_re_exports_the_defining_modules_classes() -> None:
    for name, module in NEW.items():
        assert name in dashscope_ws.__all__
        assert getattr(dashscope_ws, name) is getattr(module, name)
        assert name in dir(dashscope_ws)


def test_every_public_name_resolves_and_unknown_names_fail() -> None:
    for name in dashscope_ws.__all__:
        assert getattr(dashscope_ws, name) is not None
    assert sorted(dashscope_ws.__all__) == dashscope_ws.__all__
    with pytest.raises(AttributeError, match="NoSuchThing"):
        dashscope_ws.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018

"""Notebook runs (``pytest --nbmake``) never see a developer's real DashScope settings.

The notebooks pick the real service whenever ``DASHSCOPE_API_KEY`` is set. A key that happens to
be in your shell must not turn the plain ``pytest`` run into paid calls, so, like the unit tests,
each notebook kernel starts without ``DASHSCOPE_*`` variables (and therefore runs against the
emulator it starts itself) unless ``DASHSCOPE_LIVE=1`` opts in, as for ``tests/live``.

The kernel is a child process that inherits this process's environment when it starts, and
nbmake items are not fixture-aware, so the variables are removed around the item's call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        if os.environ.get("DASHSCOPE_LIVE") != "1":
            for name in [n for n in os.environ if n.startswith("DASHSCOPE_")]:
                patch.delenv(name)
        return (yield)

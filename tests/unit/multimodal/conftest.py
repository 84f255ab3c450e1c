"""Shared fixture of the multimodal / routing tests: a clean registry (see media_testkit)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dashscope_ws import models


@pytest.fixture(autouse=True)
def registry() -> Iterator[None]:
    """Each test starts from the built-in registry and leaves nothing learned behind."""
    saved = dict(models._registry)
    models.forget_endpoints()
    yield
    models._update(lambda table: (table.clear(), table.update(saved)))
    models.forget_endpoints()

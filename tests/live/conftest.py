"""Opt-in tests against the real DashScope service.

Every module here sets ``pytestmark = pytest.mark.live``; the top-level conftest keeps
``DASHSCOPE_*`` variables only for tests carrying that marker. The autouse fixture below
skips each test, naming the missing variable, unless both ``DASHSCOPE_API_KEY`` and
``DASHSCOPE_LIVE=1`` are set.

Environment (see docs/live-tests.md):

* ``DASHSCOPE_API_KEY`` (required) and ``DASHSCOPE_LIVE=1`` (required: a key alone in the
  environment never spends money);
* ``DASHSCOPE_BASE_URL`` — API root (a region's endpoint, or the local emulator to check
  the tests themselves); else the core's default resolution (``DASHSCOPE_REGION`` ...);
* ``DASHSCOPE_WORKSPACE`` — workspace id; enables the workspace tests;
* ``DASHSCOPE_LIVE_MODEL`` (default ``qwen-turbo``), ``DASHSCOPE_LIVE_EMBEDDING_MODEL``
  (default ``text-embedding-v4``), ``DASHSCOPE_LIVE_RERANK_MODEL`` (default ``gte-rerank-v2``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from dashscope_ws import DashScopeClient


@dataclass(frozen=True)
class LiveSettings:
    """What the live tests call, from the environment (the key is never printed)."""

    api_key: str
    base_url: str | None
    workspace: str | None
    model: str
    embedding_model: str
    rerank_model: str

    def __repr__(self) -> str:
        return (
            f"LiveSettings(base_url={self.base_url!r}, workspace={self.workspace!r}, "
            f"model={self.model!r}, api_key='**********')"
        )


def _skip_reason() -> str | None:
    if os.environ.get("DASHSCOPE_LIVE") != "1":
        return "live test: set DASHSCOPE_LIVE=1 (and DASHSCOPE_API_KEY) to call the real service"
    if not os.environ.get("DASHSCOPE_API_KEY"):
        return "live test: set DASHSCOPE_API_KEY (DASHSCOPE_LIVE=1 is set)"
    return None


@pytest.fixture(autouse=True)
def _require_live(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("live") is None:
        pytest.fail("tests under tests/live/ must be marked live (pytestmark = pytest.mark.live)")
    reason = _skip_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture
def live() -> LiveSettings:
    """The live settings; only reached once ``_require_live`` let the test run."""
    env = os.environ
    return LiveSettings(
        api_key=env["DASHSCOPE_API_KEY"],
        base_url=env.get("DASHSCOPE_BASE_URL") or None,
        workspace=env.get("DASHSCOPE_WORKSPACE") or None,
        model=env.get("DASHSCOPE_LIVE_MODEL") or "qwen-turbo",
        embedding_model=env.get("DASHSCOPE_LIVE_EMBEDDING_MODEL") or "text-embedding-v4",
        rerank_model=env.get("DASHSCOPE_LIVE_RERANK_MODEL") or "gte-rerank-v2",
    )


@pytest.fixture
def workspace(live: LiveSettings) -> str:
    """``DASHSCOPE_WORKSPACE``; tests that need one skip without it."""
    if live.workspace is None:
        pytest.skip("workspace test: set DASHSCOPE_WORKSPACE to a workspace id the key may use")
    return live.workspace


@pytest.fixture
def client(live: LiveSettings) -> Iterator[DashScopeClient]:
    """A sync client; one retry so a transient 429 does not fail the run."""
    with DashScopeClient(
        api_key=live.api_key, base_url=live.base_url, workspace=live.workspace, max_retries=1
    ) as c:
        yield c


@pytest.fixture
async def aclient(live: LiveSettings) -> AsyncIterator[DashScopeClient]:
    """An async client, closed on the test's own event loop."""
    c = DashScopeClient(
        api_key=live.api_key, base_url=live.base_url, workspace=live.workspace, max_retries=1
    )
    try:
        yield c
    finally:
        await c.aclose()

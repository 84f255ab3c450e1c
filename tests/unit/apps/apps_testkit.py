"""Helpers of the app tests: one function to call a client method sync or async."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from dashscope_ws import DashScopeClient

MakeClient = Callable[..., DashScopeClient]


def call(mode: str, client: DashScopeClient, method: str, *args: Any, **kwargs: Any) -> Any:
    """``client.<method>(...)`` in sync mode, or ``await client.a<method>(...)`` on a fresh loop."""
    if mode == "sync":
        return getattr(client, method)(*args, **kwargs)

    async def go() -> Any:
        try:
            return await getattr(client, "a" + method)(*args, **kwargs)
        finally:
            await client.aclose()

    return asyncio.run(go())

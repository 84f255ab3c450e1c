"""One helper that runs a DashScopeClient call synchronously or on asyncio.

Every client test is parametrised over ``mode`` and goes through :func:`run` (or
:func:`stream`), so each behaviour is checked for both driver loops. In async mode each
call runs in a fresh ``asyncio.run`` loop and closes that loop's session afterwards: the
client must cope with a new event loop per call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dashscope_ws import DashScopeClient, RetryPolicy
from dashscope_ws.emulator import MAIN_KEY, Emulator
from dashscope_ws.types import ChatChunk

MODES = pytest.mark.parametrize("mode", ["sync", "async"])
USER = [{"role": "user", "content": "Hello"}]
_ASYNC = {
    "chat": "achat",
    "stream_chat": "astream_chat",
    "embed": "aembed",
    "rerank": "arerank",
}


def run(mode: str, client: DashScopeClient, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``client.<method>`` (or its async twin); streams come back as a list of chunks."""
    chunks, error = _call(mode, client, method, args, kwargs)
    if error is not None:
        raise error
    return chunks


def stream(
    mode: str, client: DashScopeClient, *args: Any, **kwargs: Any
) -> tuple[list[ChatChunk], BaseException | None]:
    """Consume a chat stream; return the chunks received and the error that ended it, if any."""
    received: list[ChatChunk] = []
    _, error = _call(mode, client, "stream_chat", args, kwargs, received)
    return received, error


def _call(
    mode: str,
    client: DashScopeClient,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    sink: list[ChatChunk] | None = None,
) -> tuple[Any, BaseException | None]:
    collected: list[ChatChunk] = [] if sink is None else sink
    if mode == "sync":
        try:
            result = getattr(client, method)(*args, **kwargs)
            if method == "stream_chat":
                collected.extend(result)
                return collected, None
            return result, None
        except Exception as exc:
            return None, exc

    async def go() -> tuple[Any, BaseException | None]:
        try:
            result = getattr(client, _ASYNC[method])(*args, **kwargs)
            if method == "stream_chat":
                async for chunk in result:
                    collected.append(chunk)
                return collected, None
            return await result, None
        except Exception as exc:
            return None, exc
        finally:
            await client.aclose()

    return asyncio.run(go())


def fast_retries(max_retries: int = 2) -> RetryPolicy:
    """Real policy, tiny backoff: retry counts are what the tests check, not waiting."""
    return RetryPolicy(max_retries, base_delay=0.01, max_delay=0.05, jitter=0)


@pytest.fixture(name="make_client")
def make_client_fixture(dashscope_emulator: Emulator) -> Iterator[Callable[..., DashScopeClient]]:
    """Factory of clients pointed at the emulator (main key unless told otherwise).

    Test modules import ``make_client_fixture``; pytest registers it as ``make_client``.
    """
    clients: list[DashScopeClient] = []

    def make(**settings: Any) -> DashScopeClient:
        settings.setdefault("api_key", MAIN_KEY)
        settings.setdefault("base_url", dashscope_emulator.base_url)
        settings.setdefault("retry_policy", fast_retries())
        client = DashScopeClient(**settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()

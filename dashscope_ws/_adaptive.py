"""Adaptive concurrency for the async batch calls (embeddings): fill the pipe, back off on 429.

One :class:`AdaptiveConcurrency` per client drives the AIMD limiter of
:mod:`dashscope_ws.ratelimit`: it starts wide (``INITIAL``), grows by one per successful
call (so the limit doubles per round trip while the service keeps up, like TCP slow start,
up to ``MAXIMUM``), halves on every 429 and, when the 429 carries ``Retry-After``, lets no
new call start until it has passed. The limit it has learned is shared by every async
embedding call of the client, so LlamaIndex's one-call-per-batch pattern and one big
``aembed`` adapt alike.

The numbers are ours, not the service's: DashScope publishes per-model RPM/TPM limits
pooled over the main account (``dashscope_ws/samples/rate_limits.md``), not a concurrency
limit, so the limiter learns it from 429s instead of assuming one.

Example:
    >>> adaptive = AdaptiveConcurrency(maximum=100)
    >>> adaptive.limiter.limit, adaptive.limiter.maximum
    (32, 100)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ._calls import Call
from .errors import DashScopeError, RateLimitError
from .ratelimit import AIMDLimiter, AsyncGate

__all__ = ["INITIAL", "MAXIMUM", "AdaptiveConcurrency", "gated"]

T = TypeVar("T")
"""The policy of a gated attempt: :func:`gated` retries, outside the gate."""

INITIAL = 32
"""Batches in flight when a client starts (one round trip sends 320 v3/v4 texts)."""
MAXIMUM = 256
"""The most batches in flight however well the service keeps up."""


class AdaptiveConcurrency:
    """A client's AIMD limit on concurrent batch calls, with one gate per event loop.

    Args:
        initial: starting limit (clamped to ``maximum``).
        maximum: the ceiling (``max_concurrency`` given by a caller, or the default).

    Example:
        >>> async def demo() -> int:
        ...     adaptive = AdaptiveConcurrency(initial=2, maximum=4)
        ...     async with adaptive.gate() as gate:
        ...         gate.report(throttled=False)
        ...     return adaptive.limiter.limit
        >>> asyncio.run(demo())
        3
    """

    def __init__(self, *, initial: int = INITIAL, maximum: int = MAXIMUM) -> None:
        self.limiter = AIMDLimiter(initial=min(initial, maximum), maximum=maximum, window=1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate: AsyncGate | None = None

    def gate(self) -> AsyncGate:
        """The gate of the running event loop (a new loop starts with nothing in flight)."""
        loop = asyncio.get_running_loop()
        if self._gate is None or self._loop is not loop:
            self.limiter.in_flight = 0
            self._loop, self._gate = loop, AsyncGate(self.limiter)
        return self._gate


async def gated(gate: AsyncGate, call: Call, attempt: Callable[[], Awaitable[T]]) -> T:
    """Run ``attempt`` through ``gate`` until it succeeds, retrying as ``call``'s policy says.

    Every 429 is reported to the gate (halve; Retry-After pauses new starts) and every
    success too (grow). A throttled call gives its slot back while it backs off, so the
    halved limit bounds the retries as well; other failures (5xx, network) keep their
    slot and retry in place. ``call.backoff`` logs each retry and re-raises once retries
    are used up.
    """
    while True:
        async with gate:
            while True:
                try:
                    result = await attempt()
                except RateLimitError as error:
                    gate.report(throttled=True, retry_after=error.retry_after)
                    delay = call.backoff(error)
                    break  # back off outside the gate
                except DashScopeError as error:
                    await asyncio.sleep(call.backoff(error))
                else:
                    gate.report(throttled=False)
                    return result
        await asyncio.sleep(delay)

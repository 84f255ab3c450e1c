"""Framework-free rate limiting: a token bucket and an AIMD concurrency limiter.

DashScope's rate limits are per model and pooled across the whole main account (every
workspace and key share them; see ``dashscope_ws/samples/rate_limits.md``), so many workers
must share one budget of requests and tokens per minute. Two pieces, both pure state machines
driven by an injectable clock so they can be unit-tested without sleeping:

* :class:`TokenBucket` / :class:`RateBudget` answer "how long must I wait before sending a
  request costing ``n``?" by *reserving* capacity (the debt model of GCRA): a reservation
  always succeeds and returns the delay, so one shared bucket (e.g. inside a Ray actor) never
  blocks and callers sleep on their own side.
* :class:`AIMDLimiter` adapts how many requests run at once: +1 after ``window`` successes
  in a row, halved on a 429, and closed until a ``Retry-After`` has passed.

:class:`SyncGate` and :class:`AsyncGate` are the few-line blocking/awaiting drivers.

Example:
    >>> clock = FakeClock()
    >>> bucket = TokenBucket(per_minute=60, burst=1, clock=clock)
    >>> bucket.reserve(), bucket.reserve()
    (0.0, 1.0)
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["AIMDLimiter", "AsyncGate", "FakeClock", "RateBudget", "SyncGate", "TokenBucket"]

Clock = Callable[[], float]


@dataclass
class FakeClock:
    """A manual clock for tests: ``clock()`` returns ``now``; ``advance`` moves it.

    Example:
        >>> clock = FakeClock(); clock.advance(2.5); clock()
        2.5
    """

    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


class TokenBucket:
    """``per_minute`` units refilled continuously, at most ``burst`` saved up.

    Args:
        per_minute: sustained rate (units per minute); must be positive.
        burst: the bucket's capacity (default: one second's worth, at least 1).
        clock: monotonic seconds.

    Example:
        >>> clock = FakeClock()
        >>> bucket = TokenBucket(per_minute=120, burst=2, clock=clock)
        >>> [bucket.reserve() for _ in range(4)]
        [0.0, 0.0, 0.5, 1.0]
    """

    def __init__(
        self, per_minute: float, *, burst: float | None = None, clock: Clock = time.monotonic
    ) -> None:
        if per_minute <= 0:
            raise ValueError(f"per_minute must be positive, got {per_minute!r}")
        self.rate = per_minute / 60.0
        self.burst = max(1.0, burst if burst is not None else self.rate)
        self._clock = clock
        self._level = self.burst
        self._stamp = clock()

    def _refill(self) -> float:
        now = self._clock()
        self._level = min(self.burst, self._level + (now - self._stamp) * self.rate)
        self._stamp = now
        return now

    def reserve(self, units: float = 1.0) -> float:
        """Take ``units`` now (going into debt if needed); return the seconds to wait first.

        A request larger than the burst is allowed (else it could never run); it simply
        waits for the debt to be repaid.
        """
        self._refill()
        self._level -= units
        return 0.0 if self._level >= 0 else -self._level / self.rate

    def refund(self, units: float) -> None:
        """Give back units reserved but not spent (e.g. a request that was never sent)."""
        self._refill()
        self._level = min(self.burst, self._level + units)


class RateBudget:
    """Requests-per-minute and tokens-per-minute buckets reserved together.

    Example:
        >>> budget = RateBudget(rpm=60, tpm=600, clock=FakeClock())
        >>> budget.reserve(tokens=10)
        0.0
    """

    def __init__(
        self,
        *,
        rpm: float | None = None,
        tpm: float | None = None,
        burst_seconds: float = 1.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.requests = (
            TokenBucket(rpm, burst=rpm / 60 * burst_seconds, clock=clock) if rpm else None
        )
        self.tokens = TokenBucket(tpm, burst=tpm / 60 * burst_seconds, clock=clock) if tpm else None

    def reserve(self, tokens: float = 0.0) -> float:
        """Reserve one request and ``tokens`` tokens; the seconds to wait before sending."""
        waits = [0.0]
        if self.requests is not None:
            waits.append(self.requests.reserve(1))
        if self.tokens is not None and tokens:
            waits.append(self.tokens.reserve(tokens))
        return max(waits)


@dataclass
class AIMDLimiter:
    """Additive-increase / multiplicative-decrease limit on requests in flight.

    Attributes:
        limit: the current concurrency limit (starts at ``initial``).
        blocked_until: clock time before which no new request may start (Retry-After).

    Example:
        >>> aimd = AIMDLimiter(initial=4, window=1, clock=FakeClock())
        >>> aimd.on_success(); aimd.limit
        5
        >>> aimd.on_throttle(retry_after=2.0); aimd.limit, aimd.wait()
        (2, 2.0)
    """

    initial: int = 4
    minimum: int = 1
    maximum: int = 64
    window: int = 4
    clock: Clock = time.monotonic
    limit: int = field(init=False)
    blocked_until: float = field(init=False, default=0.0)
    in_flight: int = field(init=False, default=0)
    _streak: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if not 1 <= self.minimum <= self.initial <= self.maximum:
            raise ValueError("need 1 <= minimum <= initial <= maximum")
        self.limit = self.initial

    def wait(self) -> float:
        """Seconds until a new request may start because of a Retry-After (0 if none)."""
        return max(0.0, self.blocked_until - self.clock())

    def can_start(self) -> bool:
        """True when a request may start now."""
        return self.in_flight < self.limit and self.wait() == 0.0

    def started(self) -> None:
        """Count a request as in flight."""
        self.in_flight += 1

    def finished(self) -> None:
        """Count a request as done (call once per :meth:`started`)."""
        self.in_flight = max(0, self.in_flight - 1)

    def on_success(self) -> None:
        """A call succeeded: grow the limit by one after ``window`` successes in a row."""
        self._streak += 1
        if self._streak >= self.window:
            self._streak = 0
            self.limit = min(self.maximum, self.limit + 1)

    def on_throttle(self, retry_after: float | None = None) -> None:
        """A 429: halve the limit and, with ``retry_after``, pause new starts that long."""
        self._streak = 0
        self.limit = max(self.minimum, self.limit // 2)
        if retry_after:
            self.blocked_until = max(self.blocked_until, self.clock() + retry_after)


class SyncGate:
    """Blocks threads until :class:`AIMDLimiter` lets them start.

    Example:
        >>> gate = SyncGate(AIMDLimiter(initial=1))
        >>> with gate:
        ...     gate.limiter.in_flight
        1
    """

    def __init__(self, limiter: AIMDLimiter) -> None:
        self.limiter = limiter
        self._cond = threading.Condition()

    def __enter__(self) -> SyncGate:
        with self._cond:
            while not self.limiter.can_start():
                self._cond.wait(timeout=self.limiter.wait() or 0.05)
            self.limiter.started()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self.limiter.finished()
            self._cond.notify_all()

    def report(self, *, throttled: bool, retry_after: float | None = None) -> None:
        """Feed a call's outcome to the limiter."""
        with self._cond:
            if throttled:
                self.limiter.on_throttle(retry_after)
            else:
                self.limiter.on_success()
            self._cond.notify_all()


class AsyncGate:
    """The asyncio twin of :class:`SyncGate` (one event loop).

    Waiters queue in FIFO order and are woken only as slots free up (not all at once on
    every release), so hundreds of queued calls cost O(1) wake-ups per finished call.

    Example:
        >>> async def one() -> int:
        ...     gate = AsyncGate(AIMDLimiter(initial=1))
        ...     async with gate:
        ...         return gate.limiter.in_flight
        >>> asyncio.run(one())
        1
    """

    def __init__(self, limiter: AIMDLimiter) -> None:
        self.limiter = limiter
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> AsyncGate:
        limiter = self.limiter
        while not limiter.can_start():
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            self._wake_after(limiter.wait())
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # we were given a slot we will not take: pass it on
                else:
                    self._waiters.remove(waiter)
                raise
        limiter.started()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.limiter.finished()
        self._wake()

    def _wake_after(self, delay: float) -> None:
        """While a Retry-After blocks starts, wake the queue once it has passed."""
        if delay > 0 and self._timer is None:

            def fire() -> None:
                self._timer = None
                self._wake()

            self._timer = asyncio.get_running_loop().call_later(delay, fire)

    def _wake(self) -> None:
        """Wake as many waiters as there are free slots (they re-check on waking)."""
        limiter = self.limiter
        if limiter.wait() > 0:
            self._wake_after(limiter.wait())
            return
        free = limiter.limit - limiter.in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def report(self, *, throttled: bool, retry_after: float | None = None) -> None:
        """Feed a call's outcome to the limiter (no await needed: state is loop-local)."""
        if throttled:
            self.limiter.on_throttle(retry_after)
        else:
            self.limiter.on_success()
            self._wake()  # the limit may have grown

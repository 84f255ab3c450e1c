"""One thread that fires every blocking call's deadline (not a timer thread per call).

``requests`` only has per-read timeouts, so the sync transport keeps each attempt's total
deadline itself (see :mod:`dashscope_ws._sync`). Starting a ``threading.Timer`` per call
costs about 0.1 ms, a tenth of a loopback round trip; this scheduler costs a heap push and
a flag. Cancelled entries are dropped lazily and the heap is compacted when they are the
majority, so memory stays proportional to the calls in flight. After ``fork`` the child
starts its own thread and forgets the parent's entries.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from collections.abc import Callable
from contextlib import suppress

__all__ = ["Deadline", "schedule"]


class Deadline:
    """A scheduled call of ``action``; :meth:`cancel` before it fires makes it a no-op."""

    __slots__ = ("action", "cancelled")

    def __init__(self, action: Callable[[], None]) -> None:
        self.action = action
        self.cancelled = False

    def cancel(self) -> None:
        """Do not fire (idempotent)."""
        if not self.cancelled:
            self.cancelled = True
            _scheduler.cancelled()


class _Scheduler:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._dead = 0
        self._pid = -1

    def add(self, seconds: float, deadline: Deadline) -> None:
        with self._cond:
            if self._pid != os.getpid():  # first use, or a forked child: own thread, own heap
                self._pid, self._heap, self._dead = os.getpid(), [], 0
                threading.Thread(target=self._run, name="dashscope-deadlines", daemon=True).start()
            entry = (time.monotonic() + seconds, next(self._order), deadline)
            heapq.heappush(self._heap, entry)
            if self._heap[0] is entry:
                self._cond.notify()

    def cancelled(self) -> None:
        with self._cond:
            self._dead += 1
            if self._dead > 64 and self._dead * 2 > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].cancelled]
                heapq.heapify(self._heap)
                self._dead = 0

    def _next(self) -> Deadline:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                    self._dead = max(self._dead - 1, 0)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                return heapq.heappop(self._heap)[2]

    def _run(self) -> None:
        pid = os.getpid()
        while pid == os.getpid():
            deadline = self._next()
            if not deadline.cancelled:
                with suppress(Exception):  # one failing action must not stop the others
                    deadline.action()


_scheduler = _Scheduler()


def schedule(seconds: float, action: Callable[[], None]) -> Deadline:
    """Call ``action`` (on the scheduler thread) in ``seconds`` unless cancelled first.

    Example:
        >>> fired = []
        >>> schedule(60, lambda: fired.append(1)).cancel()
        >>> fired
        []
    """
    deadline = Deadline(action)
    _scheduler.add(seconds, deadline)
    return deadline

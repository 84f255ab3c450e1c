"""Pure retry policy: how long to wait before the next attempt, or not to retry.

The transports own the loop; this module only answers "retry after how many
seconds?". Streams are never retried once a chunk was yielded: the driver loop
enforces that, since the policy cannot know.
"""

from __future__ import annotations

import random

from .errors import APIConnectionError, APIStatusError

__all__ = ["MAX_RETRY_AFTER", "RetryPolicy"]

MAX_RETRY_AFTER = 60.0
"""A server-sent ``Retry-After`` is honoured up to this many seconds."""


class RetryPolicy:
    """Exponential backoff with jitter for connection errors, 429 and 5xx.

    Example:
        >>> from dashscope_ws.errors import error_from_response
        >>> policy = RetryPolicy(max_retries=2, jitter=0)
        >>> policy.delay(1, error_from_response(503, "ModelUnavailable", "busy"))
        0.5
        >>> policy.delay(1, error_from_response(401, "InvalidApiKey", "bad key")) is None
        True
    """

    def __init__(
        self,
        max_retries: int = 2,
        *,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        jitter: float = 0.25,
        rng: random.Random | None = None,
    ) -> None:
        if max_retries < 0 or base_delay < 0 or max_delay < 0 or jitter < 0:
            raise ValueError("max_retries, base_delay, max_delay and jitter must be >= 0")
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.jitter = jitter
        self._rng = rng or random.Random()

    @staticmethod
    def is_retryable(error: BaseException) -> bool:
        """Connection errors (incl. timeouts), and status errors whose ``retryable`` is set
        (rate limits and server errors: see :mod:`dashscope_ws.errors`)."""
        if isinstance(error, APIStatusError):
            return bool(error.retryable)
        return isinstance(error, APIConnectionError)

    def delay(self, attempt: int, error: BaseException) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up.

        Args:
            attempt: attempts made so far (1 after the first failure).
            error: what the last attempt raised.
        """
        if attempt < 1:
            raise ValueError(f"attempt counts from 1, got {attempt}")
        if attempt > self.max_retries or not self.is_retryable(error):
            return None
        retry_after: float | None = error.retry_after if isinstance(error, APIStatusError) else None
        if retry_after is not None:
            return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER)
        backoff = min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)
        return backoff + backoff * self.jitter * self._rng.random()

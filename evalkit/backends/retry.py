"""Calling a backend under the run's limits: concurrency (adaptive), timeouts, retries.

The rate limiters and the budget are the call path's (:mod:`evalkit.run.call`): it passes
``pace``, awaited before every attempt.

Only transient failures are retried (``RetryDecision.retry`` / ``rate_limit``), with capped
exponential backoff and full jitter; a server's ``Retry-After`` is honoured up to the cap, and
one longer than the retries left could wait ends the retries at once. A server that has not
answered once in the run gets two retries of a connection failure. On a rate limit the number
of requests in flight halves, then grows back by one per run of successes.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from evalkit.backends.base import Backend, RetryDecision, default_classify, storable
from evalkit.config import LimitsConfig
from evalkit.errors import BackendError, Timeout, Unreachable
from evalkit.records import Completion, Request

__all__ = ["AdaptiveConcurrency", "Caller", "default_classify", "in_flight_for"]

log = logging.getLogger(__name__)

UNREACHED_RETRIES = 2
"""Retries of a connection failure while the server has not answered once in the run."""


class AdaptiveConcurrency:
    """A semaphore whose size halves on rate limits and recovers one slot per ``size`` successes."""

    def __init__(self, limit: int, *, adaptive: bool = True) -> None:
        self.maximum = limit
        self.limit = limit
        self._adaptive = adaptive
        self._in_flight = 0
        self._streak = 0
        self._cond = asyncio.Condition()

    async def __aenter__(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self._in_flight < self.limit)
            self._in_flight += 1

    async def __aexit__(self, *exc: object) -> None:
        async with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def throttled(self) -> None:
        """A 429 arrived: halve the limit."""
        if self._adaptive:
            self.limit = max(1, self.limit // 2)
            self._streak = 0

    async def succeeded(self) -> None:
        """A success: after ``limit`` of them in a row, allow one more request in flight."""
        if not self._adaptive or self.limit >= self.maximum:
            return
        self._streak += 1
        if self._streak >= self.limit:
            self._streak = 0
            async with self._cond:
                self.limit += 1
                self._cond.notify_all()


def in_flight_for(backend: Backend, configured: int) -> int:
    """Requests in flight: ``limits.concurrency``, raised to the backend's floor, then capped."""
    floor, cap = backend.min_concurrency, backend.max_concurrency
    wanted = max(configured, floor or 0)
    return wanted if cap is None else min(cap, wanted)


class Caller:
    """Sends requests through a backend under one run's :class:`LimitsConfig`."""

    def __init__(
        self,
        backend: Backend,
        limits: LimitsConfig,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.backend = backend
        self.limits = limits
        in_flight = in_flight_for(backend, limits.concurrency)
        self.concurrency = AdaptiveConcurrency(
            in_flight, adaptive=limits.adaptive and backend.adaptive
        )
        self.timeout_s = backend.attempt_timeout(limits.timeout_s)
        """The per-attempt timeout the backend asks for (``None``: none)."""
        self.reached = False
        """Whether the server has answered anything (a success or a status) in this run."""
        self._sleep = sleep
        self._rng = rng or random.Random()

    def _delay(self, attempt: int, error: BackendError) -> float:
        cap = self.limits.backoff_max_s
        if error.retry_after is not None:
            return min(cap, error.retry_after)
        return self._rng.uniform(0, min(cap, self.limits.backoff_base_s * 2**attempt))

    def _stop_reason(
        self, error: BackendError, decision: RetryDecision, attempt: int
    ) -> str | None:
        """``None`` to retry, else why not (``""`` when the reason is the error itself).

        Besides permanent errors and spent retries: a ``Retry-After`` longer than all the retries
        left could wait (each waits at most ``limits.backoff_max_s``: a day's wait would only
        be refused again), and a server that could not be reached on the first requests of a
        run, which gets :data:`UNREACHED_RETRIES` retries (a dead server fails in seconds).
        """
        if decision is RetryDecision.fail or attempt >= self.limits.max_retries:
            return ""
        cap, left = self.limits.backoff_max_s, self.limits.max_retries - attempt
        if error.retry_after is not None and error.retry_after > cap * left:
            return (f"; the server asked to wait {error.retry_after:g}s, more than the "
                    f"{left} retries left can wait at limits.backoff_max_s={cap:g}")  # fmt: skip
        if isinstance(error, Unreachable) and not self.reached and attempt >= UNREACHED_RETRIES:
            return "; the server has not answered once in this run"
        return None

    async def call(
        self, request: Request, *, pace: Callable[[], Awaitable[None]] | None = None
    ) -> Completion:
        """Answer one request, retrying transient failures; raises the last error otherwise.

        ``pace`` is awaited before each attempt (the call path's rate limiters).
        """
        attempt = 0
        while True:
            if pace is not None:
                await pace()
            started = time.perf_counter()
            try:
                async with self.concurrency:
                    try:
                        async with asyncio.timeout(self.timeout_s):
                            completion = await self.backend.generate(request)
                    except TimeoutError:
                        raise Timeout(
                            f"no answer within limits.timeout_s={self.timeout_s:g}s"
                        ) from None
            except BackendError as error:
                self.reached = self.reached or error.status is not None
                decision = self.backend.classify(error)
                if decision is RetryDecision.rate_limit:
                    self.concurrency.throttled()
                stop = self._stop_reason(error, decision, attempt)
                if stop is not None:
                    if attempt or stop:
                        tried = f"after {attempt + 1} attempts" if attempt else "not retried"
                        raise type(error)(
                            f"{error} ({tried}{stop})",
                            status=error.status,
                            retry_after=error.retry_after,
                        ) from error
                    raise
                delay = self._delay(attempt, error)
                log.debug(
                    "retry %s of %s in %.2fs: %s", attempt + 1, request.sample_id, delay, error
                )
                attempt += 1
                await self._sleep(delay)
                continue
            self.reached = True
            await self.concurrency.succeeded()
            latency = time.perf_counter() - started
            return replace(
                storable(completion),
                latency_s=completion.latency_s or latency,
                attempts=attempt + 1,
            )

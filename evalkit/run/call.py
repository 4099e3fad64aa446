"""One request's way from the run to the backend and back, in the order it happens.

:meth:`CallPath.answer` is the whole policy, read top to bottom:

1. **cache**: a stored answer is returned as it is; nothing is sent, limited or paid; a
   request identical to one in flight waits for that one's answer (sent once);
2. **admission**: the request is estimated once (:func:`evalkit.cost.estimate_request`, with
   DashScope's high-resolution option when it is on) and the budget reserves that cost;
3. **retry**: each attempt waits for the RPM and TPM limiters (the same estimate's tokens)
   and a slot of the adaptive concurrency, then asks the backend
   (:class:`evalkit.backends.retry.Caller`);
4. **settle**: the answer's cost is computed once; the budget takes it in place of the
   reservation and the sample's row records it;
5. **store**: the answer goes into the response cache at once.

An estimate (``evalkit estimate``) uses steps 1 and 2 without sending: :meth:`cached` and
:meth:`estimate`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiolimiter import AsyncLimiter

from evalkit.backends.base import Backend
from evalkit.backends.retry import Caller
from evalkit.cache.key import cache_key
from evalkit.cache.store import ResponseCache
from evalkit.config import CacheMode, LimitsConfig, Price
from evalkit.cost import estimate_request, usage_cost
from evalkit.errors import BudgetExhausted, is_disk_full
from evalkit.records import Completion, Request, Usage

__all__ = ["Answer", "Budget", "CacheTally", "CallPath"]

log = logging.getLogger("evalkit")


@dataclass(frozen=True, slots=True)
class Answer:
    """A request's answer, where it came from and what it cost."""

    completion: Completion
    cache_hit: bool
    cost: float | None
    """What it cost (a cached answer: what it would have cost); ``None`` when unpriced."""


@dataclass
class CacheTally:
    """Hits, misses and what the hits saved."""

    hits: int = 0
    misses: int = 0
    saved: Usage = Usage()


class Budget:
    """``limits.max_cost``: nothing more is sent once spent plus in-flight cost would pass it.

    Once a request does not fit, no further request is sent in the run; cached answers are
    free and still served.
    """

    def __init__(self, cap: float, currency: str) -> None:
        self.cap = cap
        self.currency = currency
        self.spent = 0.0
        self.reserved = 0.0
        self.exhausted = False

    def reserve(self, estimate: float) -> None:
        """Reserve a request's estimated cost, or raise :class:`BudgetExhausted`."""
        if self.exhausted or self.spent + self.reserved + estimate > self.cap:
            self.exhausted = True
            raise BudgetExhausted(
                f"limits.max_cost={self.cap:g} {self.currency} reached "
                f"(spent {self.spent:.4f}, in flight {self.reserved:.4f}): not sent"
            )
        self.reserved += estimate

    def settle(self, reserved: float, cost: float | None) -> None:
        """Release a reservation and add what the answer cost (nothing when it failed)."""
        self.reserved -= reserved
        if cost is not None:
            self.spent += cost


class CallPath:
    """The response cache, the budget, the rate limiters and the retrying caller of one run.

    ``limits=None`` builds a path that never sends (an estimate): only :meth:`cached` and
    :meth:`estimate` are used.
    """

    def __init__(
        self,
        backend: Backend,
        cache: ResponseCache | None,
        mode: CacheMode,
        *,
        price: Price | None,
        limits: LimitsConfig | None,
        high_resolution: bool = False,
        key_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.backend = backend
        self.cache = cache if mode is not CacheMode.off else None
        self.mode = mode
        self.price = price
        self.high_resolution = high_resolution
        self.tally = CacheTally()
        self._in_flight: dict[str, asyncio.Future[Completion]] = {}
        """Cache key → the answer of the identical request in flight."""
        self._options = {**backend.cache_options(), **(key_options or {})}
        """The backend's options in the cache key, and the caller's own (a judge's template)."""
        self.caller = Caller(backend, limits) if limits is not None else None
        self.budget: Budget | None = None
        self._rpm = self._tpm = None
        if limits is not None:
            if limits.max_cost is not None and price is not None:
                self.budget = Budget(limits.max_cost, price.currency)
            self._rpm = AsyncLimiter(limits.rpm, 60) if limits.rpm else None
            self._tpm = AsyncLimiter(limits.tpm, 60) if limits.tpm else None

    # ------------------------------------------------------------------------- the policy
    async def answer(self, request: Request) -> Answer:
        """The completion of ``request``: cached, or sent under the run's limits and stored.

        A request identical to one in flight (same cache key) waits for that one's answer
        instead of being sent again, and counts as a cache hit: a judge asked the same
        question about the same answer twice in a run is asked, and paid, once.
        """
        key = self._cache_key(request)
        if key is not None:
            assert self.cache is not None
            hit = self.cache.get(key)  # 1. cache
            if hit is not None:
                return self._hit(hit)
            shared = self._in_flight.get(key)
            if shared is not None:
                try:
                    return self._hit(await asyncio.shield(shared))
                except Exception:  # noqa: BLE001 (that one failed: this one tries on its own)
                    pass
        if key is None or key in self._in_flight:
            return await self._send(request, key)
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            answer = await self._send(request, key)
        except BaseException as exc:
            future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
            future.exception()  # retrieved: nobody waiting is not an error
            raise
        finally:
            self._in_flight.pop(key, None)
        future.set_result(answer.completion)
        return answer

    def _hit(self, completion: Completion) -> Answer:
        self.tally.hits += 1
        self.tally.saved = self.tally.saved + completion.usage
        return Answer(completion, True, self.cost(completion.usage))

    async def _send(self, request: Request, key: str | None = None) -> Answer:
        """Steps 2 to 5: admission, retry, settle, store (under ``key`` when it is known)."""
        assert self.caller is not None, "a call path built without limits cannot send"
        reserved, tokens = 0.0, 0
        if self.budget is not None or self._tpm is not None:  # 2. admission: one estimate,
            usage = self.estimate(request)  # made only when the budget or the TPM limiter reads it
            tokens = (usage.input_tokens or 0) + (usage.output_tokens or 0)
            if self.budget is not None:
                reserved = self.cost(usage) or 0.0
                self.budget.reserve(reserved)
        limited = self._rpm is not None or self._tpm is not None
        pace = (lambda: self._pace(tokens)) if limited else None
        try:
            completion = await self.caller.call(request, pace=pace)  # 3. retry
        except BaseException:
            if self.budget is not None:
                self.budget.settle(reserved, None)
            raise
        cost = self.cost(completion.usage)  # 4. settle, once
        if self.budget is not None:
            self.budget.settle(reserved, cost if cost is not None else reserved)
        self.tally.misses += 1
        self.store(request, completion, key)  # 5. store
        return Answer(completion, False, cost)

    def _cache_key(self, request: Request) -> str | None:
        """The key under which ``request``'s answer is read, when the cache is read for it."""
        if self.cache is None or self.mode is not CacheMode.use:
            return None
        if not self.backend.may_cache(request):
            return None
        return self.key(request)

    # -------------------------------------------------------------------------- the steps
    def key(self, request: Request) -> str:
        """The request's cache key."""
        return cache_key(self.backend.identity, request, self._options)

    def cached(self, request: Request) -> Completion | None:
        """The cached answer, when the mode reads the cache and the backend may have one.

        ``mode=use`` reads and writes, ``refresh`` only writes, ``off`` neither; a request
        the backend does not cache (``Backend.may_cache``: a sampled answer, the baseline's)
        is neither looked up nor stored.
        """
        if self.cache is None or self.mode is not CacheMode.use:
            return None
        if not self.backend.may_cache(request):
            return None
        return self.cache.get(self.key(request))

    def estimate(self, request: Request) -> Usage:
        """The request's expected usage: estimated input and image tokens, ``max_tokens`` out."""
        model = self.backend.identity.model
        return estimate_request(request, model, high_resolution=self.high_resolution)

    def cost(self, usage: Usage) -> float | None:
        """What ``usage`` costs: 0 on a free backend, ``None`` when the model has no price."""
        if not self.backend.priced:
            return 0.0
        return usage_cost(usage, self.price)

    async def _pace(self, tokens: int) -> None:
        """Wait for the RPM and TPM limiters before an attempt (each attempt is a request)."""
        if self._rpm is not None:
            await self._rpm.acquire()
        if self._tpm is not None:
            await self._tpm.acquire(min(tokens, self._tpm.max_rate))

    def store(self, request: Request, completion: Completion, key: str | None = None) -> None:
        """Keep a new answer, when the mode writes and the backend allows it.

        ``key``: the request's cache key when the caller has computed it already.

        A cache whose disk is full stops taking answers, with one warning; the run goes on
        (its rows are written elsewhere, or the run's own disk-full error follows).
        """
        if self.cache is None or not self.backend.may_cache(request):
            return
        try:
            self.cache.put(key or self.key(request), self.backend.identity.model, completion)
        except (OSError, sqlite3.Error) as exc:
            if not is_disk_full(exc):
                raise
            log.warning("cache %s: the disk is full; answers from now on are not cached "
                        "(free some space, or set cache.path=FILE elsewhere)",
                        self.cache.path)  # fmt: skip
            self.cache = None

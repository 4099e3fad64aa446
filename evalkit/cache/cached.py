"""A caller that looks in the response cache first and stores every new success at once."""

from __future__ import annotations

from dataclasses import dataclass

from evalkit.backends.budget import Budget
from evalkit.backends.retry import Caller
from evalkit.cache.key import cache_key
from evalkit.cache.store import ResponseCache
from evalkit.config import CacheMode
from evalkit.records import Completion, Request, Usage

__all__ = ["CachedCaller", "CacheTally"]


@dataclass
class CacheTally:
    """Hits, misses and what the hits saved."""

    hits: int = 0
    misses: int = 0
    saved: Usage = Usage()


class CachedCaller:
    """``mode=use`` reads and writes, ``refresh`` only writes, ``off`` (or no cache) neither."""

    def __init__(
        self,
        caller: Caller,
        cache: ResponseCache | None,
        mode: CacheMode,
        budget: Budget | None = None,
    ) -> None:
        self.caller = caller
        self.budget = budget
        self.cache = cache if mode is not CacheMode.off else None
        self.mode = mode
        self.tally = CacheTally()
        self._options = caller.backend.cache_options()

    def key(self, request: Request) -> str:
        """The request's cache key."""
        return cache_key(self.caller.backend.identity, request, self._options)

    def cached(self, request: Request) -> Completion | None:
        """The cached answer, when the mode reads the cache and has one."""
        if self.cache is None or self.mode is not CacheMode.use:
            return None
        return self.cache.get(self.key(request))

    async def answer(self, request: Request) -> tuple[Completion, bool]:
        """The completion and whether it came from the cache."""
        hit = self.cached(request)
        if hit is not None:
            self.tally.hits += 1
            self.tally.saved = self.tally.saved + hit.usage
            return hit, True
        reserved = self.budget.reserve(request) if self.budget is not None else 0.0
        try:
            completion = await self.caller.call(request)
        except BaseException:
            if self.budget is not None:
                self.budget.settle(reserved, None)
            raise
        if self.budget is not None:
            self.budget.settle(reserved, completion.usage)
        self.tally.misses += 1
        if self.cache is not None:
            self.cache.put(self.key(request), self.caller.backend.identity.model, completion)
        return completion, False

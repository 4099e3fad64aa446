"""A caller that looks in the response cache first and stores every new success at once."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

from evalkit.backends.base import Backend
from evalkit.backends.budget import Budget
from evalkit.backends.retry import Caller
from evalkit.cache.key import cache_key
from evalkit.cache.store import ResponseCache
from evalkit.config import CacheMode
from evalkit.errors import is_disk_full
from evalkit.records import Completion, Request, Usage

__all__ = ["CacheTally", "CacheView", "CachedCaller"]

log = logging.getLogger("evalkit")


@dataclass
class CacheTally:
    """Hits, misses and what the hits saved."""

    hits: int = 0
    misses: int = 0
    saved: Usage = Usage()


class CacheView:
    """One backend's entries of the response cache: look up and store answers by request.

    ``mode=use`` reads and writes, ``refresh`` only writes, ``off`` (or no cache) neither. A
    request the backend will not have cached (``Backend.may_cache``: a sampled answer, the
    baseline's) is neither looked up nor stored.
    """

    def __init__(self, backend: Backend, cache: ResponseCache | None, mode: CacheMode) -> None:
        self.backend = backend
        self.cache = cache if mode is not CacheMode.off else None
        self.mode = mode
        self.tally = CacheTally()
        self._options = backend.cache_options()

    def key(self, request: Request) -> str:
        """The request's cache key."""
        return cache_key(self.backend.identity, request, self._options)

    def cached(self, request: Request) -> Completion | None:
        """The cached answer, when the mode reads the cache and has one."""
        if self.cache is None or self.mode is not CacheMode.use:
            return None
        if not self.backend.may_cache(request):
            return None
        return self.cache.get(self.key(request))

    def store(self, request: Request, completion: Completion) -> None:
        """Keep a new answer, when the mode writes and the backend allows it.

        A cache whose disk is full stops taking answers, with one warning; the run goes on
        (its rows are written elsewhere, or the run's own disk-full error follows).
        """
        if self.cache is None or not self.backend.may_cache(request):
            return
        try:
            self.cache.put(self.key(request), self.backend.identity.model, completion)
        except (OSError, sqlite3.Error) as exc:
            if not is_disk_full(exc):
                raise
            log.warning("cache %s: the disk is full; answers from now on are not cached "
                        "(free some space, or set cache.path=FILE elsewhere)",
                        self.cache.path)  # fmt: skip
            self.cache = None


class CachedCaller:
    """Answers from the cache first; sends the rest (within the budget) and stores each at once."""

    def __init__(self, caller: Caller, view: CacheView, budget: Budget | None = None) -> None:
        self.caller = caller
        self.view = view
        self.budget = budget

    @property
    def tally(self) -> CacheTally:
        """Hits, misses and saved tokens so far."""
        return self.view.tally

    async def answer(self, request: Request) -> tuple[Completion, bool]:
        """The completion and whether it came from the cache."""
        hit = self.view.cached(request)
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
        self.view.store(request, completion)
        return completion, False

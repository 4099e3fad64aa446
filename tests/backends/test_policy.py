"""The backend contract's policy hooks and cache rules, as the caller and the cache read them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from evalkit.backends.base import Backend, BackendIdentity
from evalkit.backends.baseline import BaselineBackend
from evalkit.backends.retry import Caller
from evalkit.cache import ResponseCache
from evalkit.config import BaselineConfig, CacheMode, LimitsConfig
from evalkit.errors import RateLimited
from evalkit.records import Completion, GenerationParams, Message, Request, TextPart, Usage
from evalkit.run.call import CallPath


class LocalModel(Backend):
    """What a local model backend says of itself: free, cacheable, its own concurrency,
    no per-attempt timeout, no 429-driven shrinking."""

    priced = False
    max_concurrency = 2
    adaptive = False

    def __init__(self) -> None:
        self.identity = BackendIdentity("local", "tiny")
        self.in_flight = self.peak = self.calls = 0

    def attempt_timeout(self, configured: float) -> float | None:
        return None

    def cache_options(self) -> dict[str, Any]:
        return {}

    async def generate(self, request: Request) -> Completion:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        if request.sample_id == "throttled" and self.calls == 1:
            raise RateLimited("busy", retry_after=0)
        return Completion("ok", Usage(3, 1, 0))

    async def aclose(self) -> None:
        pass


def _request(sample_id: str, temperature: float | None = 0.0) -> Request:
    return Request(sample_id, (Message("user", (TextPart(f"q {sample_id}"),)),),
                   GenerationParams(max_tokens=4, temperature=temperature))  # fmt: skip


def test_the_caller_honours_the_backends_policy() -> None:
    backend = LocalModel()
    caller = Caller(backend, LimitsConfig(concurrency=16, timeout_s=0.001, backoff_base_s=0.0))
    assert caller.concurrency.limit == 2 and caller.timeout_s is None

    async def go() -> None:
        await caller.call(_request("throttled"))
        await asyncio.gather(*(caller.call(_request(str(i))) for i in range(8)))

    asyncio.run(go())  # a 1 ms limits.timeout_s would have failed every 10 ms answer
    assert backend.peak == 2
    assert caller.concurrency.limit == 2  # a rate limit did not halve it: adaptive is off


def test_a_free_backend_may_be_cached_and_a_sampled_request_never_is(tmp_path) -> None:  # type: ignore[no-untyped-def]
    backend = LocalModel()
    cache = ResponseCache(tmp_path / "c.sqlite")
    calls = CallPath(backend, cache, CacheMode.use, price=None, limits=LimitsConfig())

    async def ask(request: Request) -> bool:
        return (await calls.answer(request)).cache_hit

    greedy, sampled = _request("g"), _request("s", temperature=0.7)
    assert [asyncio.run(ask(greedy)), asyncio.run(ask(greedy))] == [False, True]
    assert [asyncio.run(ask(sampled)), asyncio.run(ask(sampled))] == [False, False]
    assert len(cache) == 1 and calls.key(greedy) in cache
    assert backend.calls == 3


def test_the_baseline_is_free_and_never_cached() -> None:
    baseline = BaselineBackend.from_config(BaselineConfig(name="baseline", model="baseline"))
    assert baseline.priced is False
    assert baseline.may_cache(_request("g")) is False


@pytest.mark.parametrize("temperature", [0.0, None])
def test_greedy_and_server_default_requests_may_be_cached(temperature: float | None) -> None:
    assert LocalModel().may_cache(_request("g", temperature)) is True

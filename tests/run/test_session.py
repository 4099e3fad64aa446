"""Opening a run's session alone: what it holds, and that it closes what it opened."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from evalkit.errors import ConfigError
from evalkit.run.session import open_session

from ..conftest import compose_run

API = ["backend=openai", "backend.base_url=http://127.0.0.1:1/v1", "backend.api_key_env=null"]


def test_a_priced_backend_with_its_price_cache_and_caller(tmp_path: Path) -> None:
    cfg = compose_run([*API, "backend.model=qwen-vl-plus", f"cache.path={tmp_path / 'c.sqlite'}"])

    async def go() -> None:
        async with open_session(cfg) as session:
            assert session.backend.priced and session.price is not None
            assert session.price.currency == "CNY"
            assert session.sends and session.calls.cache is not None
            assert session.cache_path == str(tmp_path / "c.sqlite")
            cache = session.calls.cache
        with pytest.raises(Exception, match="closed"):
            len(cache)  # the session closed its cache

    asyncio.run(go())


def test_an_estimate_session_sends_nothing_and_creates_no_cache(tmp_path: Path) -> None:
    cfg = compose_run([*API, "backend.model=m", f"cache.path={tmp_path / 'c.sqlite'}"])

    async def go() -> None:
        async with open_session(cfg, send=False) as session:
            assert not session.sends and session.calls.cache is None
            assert session.price is None and not session.priced

    asyncio.run(go())
    assert not (tmp_path / "c.sqlite").exists()


def test_the_baseline_is_free_and_its_costs_are_known() -> None:
    async def go() -> None:
        async with open_session(compose_run()) as session:
            assert not session.backend.priced and session.priced and session.price is None

    asyncio.run(go())


def test_a_budget_without_a_price_fails_before_anything_opens(tmp_path: Path) -> None:
    cfg = compose_run([*API, "backend.model=unpriced", "limits.max_cost=1",
                       f"cache.path={tmp_path / 'c.sqlite'}"])  # fmt: skip

    async def go() -> None:
        async with open_session(cfg):
            pass

    with pytest.raises(ConfigError, match="limits.max_cost needs a price"):
        asyncio.run(go())
    assert not (tmp_path / "c.sqlite").exists()

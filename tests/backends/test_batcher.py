"""The micro-batcher: who shares a batch, in what order, and what a failure touches."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from evalkit.backends.batcher import MicroBatcher


def _batcher(
    calls: list[list[Any]], *, batch_size: int = 4, wait_s: float = 0.05, delay_s: float = 0.0
) -> MicroBatcher[Any, Any]:
    def run(items: list[Any]) -> list[Any]:
        calls.append(list(items))
        time.sleep(delay_s)
        return [ValueError(f"bad {i}") if str(i).startswith("bad") else f"done {i}" for i in items]

    return MicroBatcher(run, batch_size=batch_size, wait_s=wait_s,
                        executor=ThreadPoolExecutor(max_workers=1))  # fmt: skip


def test_requests_that_arrive_together_run_together_up_to_the_batch_size() -> None:
    calls: list[list[Any]] = []
    batcher = _batcher(calls, batch_size=4)

    async def main() -> list[Any]:
        return await asyncio.gather(*(batcher.submit(i, key="greedy") for i in range(10)))

    assert asyncio.run(main()) == [f"done {i}" for i in range(10)]
    assert batcher.sizes == [4, 4, 2] and [c for call in calls for c in call] == list(range(10))


def test_different_keys_never_share_a_batch() -> None:
    calls: list[list[Any]] = []
    batcher = _batcher(calls, batch_size=8)

    async def main() -> None:
        await asyncio.gather(*(batcher.submit(i, key=i % 2) for i in range(6)))

    asyncio.run(main())
    assert sorted(calls) == [[0, 2, 4], [1, 3, 5]]


def test_a_batch_gathers_the_items_closest_in_length() -> None:
    calls: list[list[Any]] = []
    batcher = _batcher(calls, batch_size=2)
    sizes = {"short-a": 10, "long-a": 900, "short-b": 12, "long-b": 880}

    async def main() -> None:
        await asyncio.gather(*(batcher.submit(n, key=0, size=s) for n, s in sizes.items()))

    asyncio.run(main())
    assert calls == [["short-a", "short-b"], ["long-a", "long-b"]]


def test_a_failed_item_fails_alone_and_a_failed_batch_fails_its_items_only() -> None:
    calls: list[list[Any]] = []
    batcher = _batcher(calls, batch_size=3)

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(batcher.submit(i, key=0) for i in ("a", "bad", "c")), return_exceptions=True
        )

    done = asyncio.run(main())
    assert done[0] == "done a" and done[2] == "done c"
    assert isinstance(done[1], ValueError) and str(done[1]) == "bad bad"

    def broken(items: list[Any]) -> list[Any]:
        if "boom" in items:
            raise RuntimeError("the model fell over")
        return [f"ok {i}" for i in items]

    others = MicroBatcher(broken, batch_size=1, wait_s=0.0, executor=ThreadPoolExecutor(1))

    async def again() -> list[Any]:
        return await asyncio.gather(
            others.submit("boom", key=0), others.submit("fine", key=0), return_exceptions=True
        )

    first, second = asyncio.run(again())
    assert isinstance(first, RuntimeError) and second == "ok fine"


def test_the_event_loop_keeps_running_while_a_batch_runs_and_the_next_one_gathers() -> None:
    calls: list[list[Any]] = []
    batcher = _batcher(calls, batch_size=8, wait_s=0.01, delay_s=0.3)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        for _ in range(20):
            await asyncio.sleep(0.01)
            ticks += 1

    async def main() -> None:
        first = asyncio.ensure_future(batcher.submit("first", key=0))
        await asyncio.sleep(0.05)  # the first batch is running in its thread now
        late = [asyncio.ensure_future(batcher.submit(f"late {i}", key=0)) for i in range(3)]
        await asyncio.gather(ticker(), first, *late)

    started = time.perf_counter()
    asyncio.run(main())
    assert ticks == 20  # the loop ticked through the 0.3 s batch
    assert calls == [["first"], ["late 0", "late 1", "late 2"]]
    assert time.perf_counter() - started < 1.5
    assert threading.active_count() >= 1


def test_a_cancelled_request_leaves_the_queue() -> None:
    calls: list[list[Any]] = []
    batcher = _batcher(calls, batch_size=4, wait_s=0.2)

    async def main() -> Any:
        gone = asyncio.ensure_future(batcher.submit("gone", key=0))
        kept = asyncio.ensure_future(batcher.submit("kept", key=0))
        await asyncio.sleep(0.01)
        gone.cancel()
        return await kept

    assert asyncio.run(main()) == "done kept"
    assert calls == [["kept"]]


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        MicroBatcher(lambda items: items, batch_size=0, wait_s=0, executor=ThreadPoolExecutor(1))


def test_one_batcher_serves_one_event_loop_after_another() -> None:
    calls: list[list[Any]] = []
    batcher = _batcher(calls, batch_size=2)
    for round_ in range(3):

        async def main(r: int = round_) -> list[Any]:
            return await asyncio.gather(
                batcher.submit(f"{r}a", key=0), batcher.submit(f"{r}b", key=0)
            )

        assert asyncio.run(main()) == [f"done {round_}a", f"done {round_}b"]
    assert batcher.sizes == [2, 2, 2]

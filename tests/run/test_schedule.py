"""The scheduler alone: items in, answers out, at most ``workers`` in flight, nothing lost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from evalkit.run.schedule import schedule


def test_every_item_is_answered_once_with_bounded_concurrency() -> None:
    in_flight = peak = 0
    recorded: list[int] = []

    async def ask(item: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001 * (item % 3))
        in_flight -= 1
        return item * 10

    asyncio.run(schedule(iter(range(50)), ask, recorded.append, workers=4))
    assert sorted(recorded) == [i * 10 for i in range(50)]
    assert peak == 4


def test_stop_ends_asking_and_keeps_what_arrived() -> None:
    recorded: list[int] = []

    async def ask(item: int) -> int:
        await asyncio.sleep(0)
        return item

    asyncio.run(schedule(iter(range(1000)), ask, recorded.append, workers=2,
                         stop=lambda: len(recorded) >= 10))  # fmt: skip
    assert 10 <= len(recorded) < 1000
    assert len(set(recorded)) == len(recorded)


def test_a_reader_failure_is_raised_after_the_items_before_it() -> None:
    recorded: list[int] = []

    def items() -> Iterator[int]:
        yield from range(5)
        raise OSError("disk gone")

    async def ask(item: int) -> int:
        return item

    with pytest.raises(OSError, match="disk gone"):
        asyncio.run(schedule(items(), ask, recorded.append, workers=3))
    assert sorted(recorded) == [0, 1, 2, 3, 4]


def test_a_recorder_failure_is_the_runs() -> None:
    def record(answer: int) -> None:
        if answer == 3:
            raise RuntimeError("bookkeeping bug")

    async def ask(item: int) -> int:
        return item

    with pytest.raises(RuntimeError, match="bookkeeping bug"):
        asyncio.run(schedule(iter(range(100)), ask, record, workers=2))


def test_an_answer_that_halts_stops_the_asking_before_it_is_recorded() -> None:
    asked: list[int] = []
    recorded: list[int] = []

    async def ask(item: int) -> int:
        asked.append(item)
        await asyncio.sleep(0.001)
        return item

    asyncio.run(schedule(iter(range(100)), ask, recorded.append, workers=3,
                         halts=lambda answer: answer == 0))  # fmt: skip
    assert len(asked) <= 3  # the three first requests, in flight together
    assert sorted(recorded) == sorted(asked)  # every answer that came is recorded

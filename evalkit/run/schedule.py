"""Items in, answers out: ``workers`` askers fed by a read-ahead producer, one recorder.

Knows nothing of scoring. A worker only asks (``ask``) and hands the answer on; the one
recorder (``record``) runs everything else, so a worker whose answer came sends its next
request at once and the bookkeeping happens while requests are in flight (at C=64 the answers
of a round arrive together; ``docs/design/pipeline-concurrency.md``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from itertools import islice
from typing import Any, TypeVar

__all__ = ["schedule"]

T = TypeVar("T")
R = TypeVar("R")


def _take(items: Iterator[T], size: int) -> tuple[list[T], Exception | None]:
    """Up to ``size`` items, and the reader's failure if it failed after some of them."""
    batch: list[T] = []
    try:
        batch.extend(islice(items, size))
    except Exception as exc:
        return batch, exc
    return batch, None


async def schedule(
    items: Iterator[T],
    ask: Callable[[T], Awaitable[R]],
    record: Callable[[R], None],
    *,
    workers: int,
    stop: Callable[[], bool] = lambda: False,
    halts: Callable[[R], bool] = lambda answer: False,
) -> None:
    """Ask every item, at most ``workers`` at once; ``record`` each answer as it arrives.

    ``items`` is read in a thread (file or network I/O, image checks stay off the event loop),
    8 items on the first trip so the first requests leave sooner, then ``max(16, workers)``.
    ``stop()`` is checked after each answer: once true, no further item is asked; an answer
    for which ``halts(answer)`` is true stops the asking at once, before it is recorded (a bad
    key: only the requests already in flight get the same answer). A failure of
    the reader or of ``record`` is raised here; answers that arrived are recorded unless
    ``record`` itself failed.
    """
    chunk = max(16, workers)
    queue: asyncio.Queue[T | None] = asyncio.Queue(maxsize=2 * chunk)
    answered: asyncio.Queue[R] = asyncio.Queue()

    async def end_markers() -> None:
        for _ in range(workers):  # one per worker
            await queue.put(None)

    async def produce() -> None:
        size = min(8, chunk)
        try:
            while True:
                batch, failure = await asyncio.to_thread(_take, items, size)
                for item in batch:  # what was read before a failure is still asked
                    await queue.put(item)
                if failure is not None:
                    raise failure
                if len(batch) < size:
                    break
                size = chunk
        except asyncio.CancelledError:
            raise  # the run is ending and no worker waits for an end marker
        except BaseException:
            await end_markers()
            raise  # after the workers are told: the run re-raises it
        await end_markers()

    halted = False

    async def work() -> None:
        nonlocal halted
        while (item := await queue.get()) is not None and not (halted or stop()):
            answer = await ask(item)
            answered.put_nowait(answer)
            halted = halted or halts(answer)

    async def recorder() -> None:
        while True:
            record(await answered.get())

    producer = asyncio.create_task(produce())
    recording = asyncio.create_task(recorder())
    asking = asyncio.gather(*(asyncio.create_task(work()) for _ in range(workers)))
    try:
        either: list[asyncio.Future[Any]] = [asking, recording]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if recording.done():
            recording.result()  # the recorder only ends by failing: that failure is the run's
        await asking
        if not (halted or stop()):
            await producer  # re-raises a reader failure
    finally:
        for task in (asking, producer, recording):  # cancelling the gather cancels the pool
            task.cancel()
        # collect every outcome (a failure worth raising was raised above)
        await asyncio.gather(asking, producer, recording, return_exceptions=True)
        recorder_failed = recording.done() and not recording.cancelled()
        while not recorder_failed and not answered.empty():  # an answer is never lost
            record(answered.get_nowait())

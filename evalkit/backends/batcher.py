"""Micro-batching: requests that arrive together are answered by one call, off the event loop.

A local model answers a batch of prompts in about the time of one, so a backend that runs one
collects what arrives: :meth:`MicroBatcher.submit` queues an item with a *key* (items with
different keys, such as different generation settings, never share a batch) and a *size*
(a length estimate). One batch runs at a time, in a worker thread, so the event loop keeps
reading and writing while the model works, and the next batch gathers meanwhile.

A batch is formed around the oldest waiting item (so none starves): up to ``batch_size``
items of its key, the ones closest to it in size (a long document does not pad a batch of
short questions), after waiting at most ``wait_s`` from its arrival for the batch to fill.
The function that runs a batch returns one result per item, in order; a result that is an
exception fails that item alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["MicroBatcher"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Waiting(Generic[T, R]):
    item: T
    key: Hashable
    size: float
    future: asyncio.Future[R]
    arrived: float = field(default_factory=time.monotonic)


class MicroBatcher(Generic[T, R]):
    """Collect items into batches of one key and run each batch in ``executor``."""

    def __init__(
        self,
        run_batch: Callable[[list[T]], Sequence[R | BaseException]],
        *,
        batch_size: int,
        wait_s: float,
        executor: Executor,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.run_batch = run_batch
        self.batch_size = batch_size
        self.wait_s = wait_s
        self.executor = executor
        self.sizes: list[int] = []
        """The size of every batch run so far, in order (what a test or a report counts)."""
        self._waiting: list[_Waiting[T, R]] = []
        self._arrived = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, item: T, *, key: Hashable, size: float = 0.0) -> R:
        """The result for ``item``, once the batch it joins has run."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (asyncio.run again): start afresh
            self._loop, self._waiting, self._arrived, self._pump = loop, [], asyncio.Event(), None
        waiting: _Waiting[T, R] = _Waiting(item, key, size, loop.create_future())
        self._waiting.append(waiting)
        self._arrived.set()
        if self._pump is None or self._pump.done():
            self._pump = loop.create_task(self._run())
        return await waiting.future

    async def _run(self) -> None:
        try:
            await self._batches()
        except BaseException as exc:  # never leave a request waiting forever
            for waiting in self._waiting:
                if not waiting.future.done():
                    waiting.future.set_exception(
                        exc if isinstance(exc, Exception) else RuntimeError(repr(exc))
                    )
            raise

    async def _batches(self) -> None:
        while True:
            self._waiting = [w for w in self._waiting if not w.future.done()]  # cancelled
            if not self._waiting:
                return
            oldest = self._waiting[0]
            await self._fill(oldest)
            if oldest.future.done():  # cancelled while its batch gathered
                continue
            batch = self._pick(oldest)
            self.sizes.append(len(batch))
            try:
                results = await asyncio.get_running_loop().run_in_executor(
                    self.executor, self.run_batch, [w.item for w in batch]
                )
            except Exception as exc:  # the whole batch failed: each item reports it
                results = [exc] * len(batch)
            if len(results) != len(batch):
                results = [RuntimeError(f"{len(results)} results for a batch of {len(batch)}")]
                results *= len(batch)
            for waiting, result in zip(batch, results, strict=True):
                if waiting.future.done():
                    continue
                if isinstance(result, BaseException):
                    waiting.future.set_exception(result)
                else:
                    waiting.future.set_result(result)

    async def _fill(self, oldest: _Waiting[T, R]) -> None:
        """Wait until ``oldest``'s batch is full or it has waited ``wait_s``."""
        while sum(w.key == oldest.key for w in self._waiting) < self.batch_size:
            left = oldest.arrived + self.wait_s - time.monotonic()
            if left <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                return

    def _pick(self, oldest: _Waiting[T, R]) -> list[_Waiting[T, R]]:
        """``oldest`` and the items of its key closest to it in size, in arrival order."""
        same = [w for w in self._waiting if w.key == oldest.key and not w.future.done()]
        chosen = {id(oldest)}
        rest = sorted((w for w in same if w is not oldest), key=lambda w: abs(w.size - oldest.size))
        chosen.update(id(w) for w in rest[: self.batch_size - 1])
        batch = [w for w in self._waiting if id(w) in chosen]
        self._waiting = [w for w in self._waiting if id(w) not in chosen]
        return batch

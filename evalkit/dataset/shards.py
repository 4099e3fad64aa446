"""Deterministic shards: which of the run's dataset rows one part (``shard.index``) evaluates.

A row's part depends only on its place in the stream of rows the run reads (rows a subset
list leaves out do not count; a row that cannot be read does), never on timing or on how many
machines there are:

* **contiguous**: when the number of rows is known before reading (Parquet metadata, a subset
  list, ``dataset.limit``, a Hub split's declared size), part ``k`` of ``S`` takes rows
  ``k·N//S`` up to ``(k+1)·N//S``; rows past ``N`` (a Hub copy that grew) go to the last part.
* **round-robin**: otherwise (a streamed split of unknown size, rows that become several
  samples), part ``k`` takes rows ``k``, ``k+S``, ``k+2S``, ...

All the samples of one row stay in one part (a circular question's passes, a row's
questions). Every part still reads every row, in order, and numbers every sample (so a
duplicated id, a few-shot draw or ``dataset.limit`` behave as in the whole run); a row of
another part is neither decoded nor scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Shard"]


@dataclass
class Shard:
    """Part ``index`` of ``count``, and the running count of rows seen."""

    count: int
    index: int
    units: int | None = None
    """Rows the whole run reads, when known before reading (then the parts are ranges)."""
    _seen: int = field(default=0, repr=False)

    @property
    def rule(self) -> str:
        """``contiguous`` or ``round-robin``."""
        return "contiguous" if self.units is not None else "round-robin"

    def bounds(self) -> tuple[int, int | None]:
        """The contiguous part's first row and the row it stops before (``None``: no end).

        >>> Shard(3, 0, 10).bounds(), Shard(3, 1, 10).bounds(), Shard(3, 2, 10).bounds()
        ((0, 3), (3, 6), (6, None))
        """
        assert self.units is not None
        first = self.index * self.units // self.count
        if self.index == self.count - 1:
            return first, None
        return first, (self.index + 1) * self.units // self.count

    def owns(self, row: int) -> bool:
        """Whether row ``row`` (its place among the rows read, from 0) is this part's.

        >>> [Shard(2, 1).owns(r) for r in range(4)], [Shard(2, 1, 4).owns(r) for r in range(5)]
        ([False, True, False, True], [False, False, True, True, True])
        """
        if self.units is None:
            return row % self.count == self.index
        first, stop = self.bounds()
        return first <= row and (stop is None or row < stop)

    def take(self) -> bool:
        """Whether the next row read is this part's (and count it)."""
        row, self._seen = self._seen, self._seen + 1
        return self.owns(row)

    def expected(self, rows: int | None) -> int | None:
        """How many of ``rows`` rows (one sample each) this part evaluates; ``None``: unknown.

        >>> Shard(3, 2, 10).expected(10), Shard(3, 2).expected(10), Shard(3, 2).expected(None)
        (4, 3, None)
        """
        if rows is None:
            return None
        if self.units is None:
            return len(range(self.index, rows, self.count))
        first, stop = self.bounds()
        return max(0, min(rows, rows if stop is None else stop) - first)

    def record(self) -> dict[str, Any]:
        """``run.json``'s ``shard``: the rule and the part (merge checks the parts agree)."""
        record: dict[str, Any] = {"count": self.count, "index": self.index, "rule": self.rule,
                                  "units": self.units}  # fmt: skip
        if self.units is not None:
            first, stop = self.bounds()
            record["rows"] = [first, stop]
        return record

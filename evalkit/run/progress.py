"""Progress people can read: a tqdm bar on a terminal, a plain line every few seconds elsewhere.

In a CI log a bar's carriage-return frames are noise, so when stderr is not a terminal the run
prints ``progress: 120/500 samples (24%), 11.8/s, ETA 0:32, errors 2, tokens 40800, cost
0.0310`` every ``report.progress_every_s`` seconds and once at the end. The total is known when
the source says (Parquet metadata) or ``dataset.limit`` bounds it.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol, TextIO, cast

__all__ = ["PlainProgress", "Progress", "progress_bar"]


class Progress(Protocol):
    """What the recorder drives."""

    def update(self, n: int = 1) -> None:
        """``n`` more samples are done."""

    def set_postfix(self, **kwargs: Any) -> None:
        """Running figures shown beside the count (errors, tokens, cost)."""

    def close(self) -> None:
        """The run is over."""


class _NoProgress:
    """``report.progress=false`` (a disabled tqdm would still build a multiprocessing lock)."""

    def update(self, n: int = 1) -> None:
        """Nothing to show."""

    def set_postfix(self, **kwargs: Any) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""


def _clock(seconds: float) -> str:
    """``h:mm:ss`` or ``m:ss``.

    >>> _clock(32.4), _clock(3725)
    ('0:32', '1:02:05')
    """
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class PlainProgress:
    """One plain line every ``interval_s`` seconds, and one when the run ends."""

    def __init__(self, total: int | None, *, interval_s: float, out: TextIO | None = None) -> None:
        self.total, self.interval_s = total, interval_s
        self.out = out or sys.stderr
        self.n = 0
        self.figures: dict[str, Any] = {}
        self._start = self._last = time.monotonic()

    def line(self) -> str:
        """The current state as one line."""
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = self.n / elapsed
        done = f"{self.n}/{self.total} samples ({self.n / self.total:.0%})" if self.total else (
            f"{self.n} samples"
        )  # fmt: skip
        parts = [done, f"{rate:.1f}/s"]
        if self.total and rate > 0 and self.n < self.total:
            parts.append(f"ETA {_clock((self.total - self.n) / rate)}")
        parts += [f"{k} {v}" for k, v in self.figures.items()]
        return "progress: " + ", ".join(parts)

    def update(self, n: int = 1) -> None:
        """Count ``n`` samples; print a line when the interval has passed."""
        self.n += n
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            print(self.line(), file=self.out, flush=True)

    def set_postfix(self, **kwargs: Any) -> None:
        """Keep the figures for the next line (``refresh`` is tqdm's and ignored)."""
        kwargs.pop("refresh", None)
        self.figures.update(kwargs)

    def close(self) -> None:
        """The last line."""
        if self.n:
            print(self.line(), file=self.out, flush=True)


def progress_bar(
    total: int | None, *, enabled: bool, interval_s: float = 5.0, out: TextIO | None = None
) -> Progress:
    """A tqdm bar on a terminal, :class:`PlainProgress` otherwise, nothing when disabled."""
    if not enabled:
        return _NoProgress()
    stream = out or sys.stderr
    if not stream.isatty():
        return PlainProgress(total, interval_s=interval_s, out=stream)
    from tqdm import tqdm

    bar: Any = tqdm(total=total, unit="sample", file=stream, dynamic_ncols=True)
    return cast(Progress, bar)

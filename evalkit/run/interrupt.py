"""Stopping cleanly: the first SIGINT or SIGTERM stops asking and seals the run; a second exits.

On the first signal no further sample is asked; the answers in flight get
:data:`GRACE_S` seconds to arrive (each lands in the response cache the moment it does), then
the rest are cancelled, and the run seals its folder as usual (``samples.parquet``,
``summary.parquet``, ``run.json`` with ``interrupted``) and ends with
:class:`~evalkit.errors.Interrupted` (exit code 130). A second signal exits at once with 130,
leaving the folder unsealed (``run.partial.json`` and the journal): ``evalkit rescore RUN_DIR``
seals it.
Rerunning the same command resumes: what was answered comes from the cache.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

__all__ = ["GRACE_S", "Interrupt"]

GRACE_S = 3.0
"""How long answers already in flight may take to arrive after the first signal."""

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupt:
    """Signal handling for one run, installed on the running loop (``with Interrupt(...)``).

    The run reads :attr:`signal` to stop asking; :data:`GRACE_S` seconds after the first
    signal ``on_grace_over`` runs (the run cancels what is still in flight).
    """

    def __init__(self, on_grace_over: Callable[[], object], *, grace_s: float = GRACE_S,
                 run_dir: Path | None = None) -> None:  # fmt: skip
        self.run_dir = run_dir
        """The run's folder, named when a second signal leaves it unsealed."""
        self.signal: str | None = None
        """The name of the first signal received (``SIGINT``, ``SIGTERM``), if any."""
        self._on_grace_over, self._grace_s = on_grace_over, grace_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._installed: list[signal.Signals] = []

    def __enter__(self) -> Interrupt:
        self._loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            try:
                self._loop.add_signal_handler(sig, self._received, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread, or a platform without loop signal handlers
            self._installed.append(sig)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        assert self._loop is not None
        for sig in self._installed:
            self._loop.remove_signal_handler(sig)
        self._installed.clear()

    def _received(self, sig: signal.Signals) -> None:
        if self.signal is not None:  # the second: leave now, the journal is crash-safe
            where = (f"; the rows recorded so far are in {self.run_dir}: evalkit rescore "
                     f"{self.run_dir} seals them" if self.run_dir is not None else "")  # fmt: skip
            print(f"\nevalkit: {sig.name} again: exiting now{where} (rerunning the command "
                  "resumes from the cache)", file=sys.stderr, flush=True)  # fmt: skip
            os._exit(130)
        self.signal = sig.name
        print(f"\nevalkit: {sig.name}: finishing the requests in flight (at most "
              f"{self._grace_s:g}s), then sealing the run; {sig.name} again exits at once",
              file=sys.stderr, flush=True)  # fmt: skip
        assert self._loop is not None
        self._loop.call_later(self._grace_s, self._on_grace_over)

"""Judges: a model in its own role, asked about the answers another model gave.

``protocols`` holds each benchmark's judge prompt and how its verdict is read (after the
benchmark's own script); ``backends`` builds the judge's backend from the ``judge`` group;
``stand_in`` is the bundled deterministic stand-in; ``judge`` asks it, through its own call
path (cache, limits, retries, price), and keeps the tally that ``run.json`` records.
"""

from evalkit.judge.protocols import PROTOCOLS, JudgeProtocol, JudgeQuery, Verdict

__all__ = ["PROTOCOLS", "JudgeProtocol", "JudgeQuery", "Verdict"]

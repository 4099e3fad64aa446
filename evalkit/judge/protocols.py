"""The judge protocols by name (a task names its own in ``judge.protocol``).

Each lives in its own module (``mmvet``); :mod:`evalkit.judge.base` says what one is.
Another package adds one through :mod:`evalkit.registry`'s entry points.
"""

from __future__ import annotations

from evalkit.judge.base import JudgeProtocol, JudgeQuery, Verdict
from evalkit.judge.hallusionbench import HALLUSIONBENCH
from evalkit.judge.llava_bench import LLAVA_BENCH
from evalkit.judge.mathvista import MATHVISTA
from evalkit.judge.mmbench import MMBENCH
from evalkit.judge.mmvet import MMVET
from evalkit.judge.yorn import YORN
from evalkit.registry import Registry

__all__ = ["PROTOCOLS", "JudgeProtocol", "JudgeQuery", "Verdict"]

PROTOCOLS: Registry[JudgeProtocol] = Registry("judge protocol", {
    p.name: p for p in (MMVET, MMBENCH, MATHVISTA, LLAVA_BENCH, YORN, HALLUSIONBENCH)
})  # fmt: skip
"""Protocol name → protocol."""

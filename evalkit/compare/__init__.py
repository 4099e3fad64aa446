"""``evalkit compare``: two runs of the same tasks, paired sample by sample, and a CI gate.

:mod:`~evalkit.compare.align` finds runs and pairs their samples,
:mod:`~evalkit.compare.stats` holds the paired tests, :mod:`~evalkit.compare.compare` makes
the per-metric comparison and applies the gate, :mod:`~evalkit.compare.render` writes it as
text, Markdown or JSON.
"""

from evalkit.compare.align import find_runs
from evalkit.compare.compare import Comparison, Gate, MetricDiff, Options, compare_runs

__all__ = ["Comparison", "Gate", "MetricDiff", "Options", "compare_runs", "find_runs"]

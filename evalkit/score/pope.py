"""POPE's reading of a yes/no answer and its counts, as ``evaluate.py`` of RUCAIBox/POPE does.

``evaluate.py`` (at f3ec604337f1d1c9723ef8d01b4accacf8badb3d) keeps the answer's first
sentence (up to the first ``.``), drops commas, splits on spaces, and reads ``no`` when one of
the words is ``No``, ``not`` or ``no``; anything else is ``yes``. The label ``no`` is negative,
anything else positive. From the counts: accuracy, precision TP/(TP+FP), recall TP/(TP+FN),
F1 and the yes-ratio (the share of answers read as yes).

evalkit computes each as a per-sample value whose mean is the script's figure: accuracy and
yes-ratio over every answer, precision over the answers read as yes, recall over the questions
whose label is yes (:data:`evalkit.score.registry.METRICS`: ``pope_*``); F1 from the last two.
The script pairs labels and answers by their line order; evalkit pairs them by id.
"""

from __future__ import annotations

from evalkit.parse.pope import pope_reads_yes

__all__ = ["pope_f1", "pope_reads_yes"]


def pope_f1(precision: float | None, recall: float | None) -> float | None:
    """F1 of a precision and a recall; ``None`` when either is unknown or both are 0.

    >>> pope_f1(0.8, 0.5), pope_f1(0.0, 0.0), pope_f1(None, 1.0)
    (0.6153846153846154, None, None)
    """
    if precision is None or recall is None or precision + recall == 0:
        return None
    return 2 * precision * recall / (precision + recall)

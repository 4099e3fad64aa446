"""ChartQA relaxed accuracy (pix2struct ``relaxed_correctness``).

A numeric answer is correct within ``tolerance`` of the gold value (``%`` stripped and divided by
100); a gold value of zero, or any non-numeric pair, needs a case-insensitive exact match.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["relaxed_accuracy"]


def _number(text: str) -> float | None:
    try:
        if text.endswith("%"):
            return float(text.rstrip("%")) / 100.0
        return float(text)
    except ValueError:
        return None


def _correct(prediction: str, target: str, tolerance: float) -> bool:
    pred, gold = _number(prediction), _number(target)
    if pred is not None and gold:
        return abs(pred - gold) / abs(gold) <= tolerance
    return prediction.lower() == target.lower()


def relaxed_accuracy(*, prediction: str, answers: Sequence[str], tolerance: float = 0.05) -> float:
    """1.0 when the prediction matches any gold answer under the relaxed rule, else 0.0.

    >>> relaxed_accuracy(prediction="10.4", answers=["10"])
    1.0
    >>> relaxed_accuracy(prediction="Yes", answers=["yes"])
    1.0
    """
    if not answers:
        raise ValueError("relaxed_accuracy needs at least one gold answer")
    pred = prediction.strip()
    return float(any(_correct(pred, a.strip(), tolerance) for a in answers))

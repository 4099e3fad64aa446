"""ChartQA relaxed accuracy, as pix2struct's ``relaxed_correctness`` defines it.

A prediction is correct when both strings read as numbers (``%`` stripped and divided by 100)
and the prediction is within ``tolerance`` of the **gold** value; a gold value of zero, or a
non-numeric pair, needs a case-insensitive exact match. Several gold answers: the best counts.
Strings are compared as given (pix2struct strips nothing; the pipeline strips the completion).

Modes: ``pix2struct`` (default) and ``qwen-vl``, which reproduces Qwen-VL's ``eval_mm`` call with
the arguments swapped, so the tolerance is relative to the *prediction*.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["RELAXED_MODES", "relaxed_accuracy"]

RELAXED_MODES = ("pix2struct", "qwen-vl")


def _number(text: str) -> float | None:
    try:
        if text.endswith("%"):
            return float(text.rstrip("%")) / 100.0
        return float(text)
    except ValueError:
        return None


def _correct(target: str, prediction: str, tolerance: float) -> bool:
    pred, gold = _number(prediction), _number(target)
    if pred is not None and gold:
        return abs(pred - gold) / abs(gold) <= tolerance
    return prediction.lower() == target.lower()


def relaxed_accuracy(
    *, prediction: str, answers: Sequence[str], tolerance: float = 0.05, mode: str = "pix2struct"
) -> float:
    """1.0 when the prediction matches any gold answer under the relaxed rule, else 0.0.

    >>> relaxed_accuracy(prediction="10.4", answers=["10"])
    1.0
    >>> relaxed_accuracy(prediction="Yes", answers=["yes"])
    1.0
    """
    if not answers:
        raise ValueError("relaxed_accuracy needs at least one gold answer")
    if mode == "pix2struct":
        return float(any(_correct(a, prediction, tolerance) for a in answers))
    if mode == "qwen-vl":
        return float(any(_correct(prediction, a, tolerance) for a in answers))
    raise ValueError(f"unknown relaxed-accuracy mode '{mode}' (known: {', '.join(RELAXED_MODES)})")

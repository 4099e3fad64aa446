"""Grounding scores: IoU of the predicted box with the gold box, and Acc@IoU thresholds."""

from __future__ import annotations

from evalkit.parse.boxes import iou
from evalkit.records import Box

__all__ = ["grounding_scores"]

THRESHOLDS = {"acc_iou25": 0.25, "acc_iou50": 0.5, "acc_iou75": 0.75}
"""Accuracy metric name → IoU threshold (a hit is IoU >= threshold)."""


def grounding_scores(*, predicted: Box | None, gold: Box) -> dict[str, float]:
    """IoU and the Acc@IoU hits of one predicted box; an unparsed box scores 0 everywhere.

    >>> grounding_scores(predicted=(0, 0, 10, 10), gold=(0, 0, 10, 20))["acc_iou50"]
    1.0
    """
    value = 0.0 if predicted is None else iou(a=predicted, b=gold)
    scores = {name: float(value >= t) for name, t in THRESHOLDS.items()}
    scores["iou"] = value
    return scores

"""Grounding scores: IoU of the predicted box with the gold box, and Acc@IoU thresholds."""

from __future__ import annotations

from evalkit.records import Box

__all__ = ["THRESHOLDS", "acc_iou", "grounding_scores", "iou"]

THRESHOLDS = {"acc_iou25": 0.25, "acc_iou50": 0.5, "acc_iou75": 0.75}
"""Accuracy metric name → IoU threshold (a hit is IoU >= threshold)."""


def iou(*, a: Box, b: Box) -> float:
    """Intersection over union of two pixel-corner boxes; a zero union scores 0.

    >>> iou(a=(0, 0, 10, 10), b=(5, 0, 15, 10))
    0.3333333333333333
    >>> iou(a=(1, 1, 1, 1), b=(1, 1, 1, 1))
    0.0
    """
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def acc_iou(*, predicted: Box | None, gold: Box, threshold: float) -> float:
    """1.0 when the predicted box overlaps the gold box with IoU >= ``threshold``, else 0.0.

    >>> acc_iou(predicted=(0, 0, 10, 10), gold=(0, 0, 10, 20), threshold=0.5)
    1.0
    """
    return float(predicted is not None and iou(a=predicted, b=gold) >= threshold)


def grounding_scores(*, predicted: Box | None, gold: Box) -> dict[str, float]:
    """IoU and the Acc@IoU hits of one predicted box; an unparsed box scores 0 everywhere.

    >>> grounding_scores(predicted=(0, 0, 10, 10), gold=(0, 0, 10, 20))["acc_iou50"]
    1.0
    """
    value = 0.0 if predicted is None else iou(a=predicted, b=gold)
    scores = {name: float(value >= t) for name, t in THRESHOLDS.items()}
    scores["iou"] = value
    return scores

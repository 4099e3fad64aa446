"""ANLS: Average Normalized Levenshtein Similarity (DocVQA, InfographicVQA).

As the official RRC script computes it, per question and gold answer: the edit distance between
the stripped, lowercased, whitespace-collapsed strings, divided by the longer of the two *raw*
strings' lengths after ``upper()`` (the script's quirk, kept for parity). The question scores
``1 - min`` over gold answers, and 0 when that is below the threshold tau (exactly tau is kept).
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein

__all__ = ["anls"]


def _norm(text: str) -> str:
    return " ".join(text.strip().lower().split())


def anls(*, prediction: str, answers: Sequence[str], threshold: float = 0.5) -> float:
    """ANLS of one prediction against its gold answers.

    >>> anls(prediction="The Tower", answers=["the tower"])
    1.0
    >>> round(anls(prediction="towers", answers=["tower"]), 4)
    0.8333
    """
    if not answers:
        raise ValueError("anls needs at least one gold answer")
    pred = _norm(prediction)
    pred_len = len(prediction.upper())
    values = []
    for answer in answers:
        length = max(len(answer.upper()), pred_len)
        values.append(0.0 if length == 0 else Levenshtein.distance(_norm(answer), pred) / length)
    score = 1.0 - min(values)
    return 0.0 if score < threshold else score

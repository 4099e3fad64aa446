"""Which samples the report shows: the worst, ties broken on a continuous score, one per item.

A 0/1 metric ties most samples at 0, and the first rows of a tie are often one image asked
several times (RefCOCO's expressions, OCR-VQA's questions). The worst are ordered by the score
column, then by a continuous one the run also has (IoU under Acc@IoU, ANLS, per-image CIDEr),
then by how far the answer is from its nearest reference; each source item (the id before
``#``) is shown once before any is shown twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rapidfuzz import fuzz

__all__ = ["continuous_column", "question_text", "similarity", "worst_samples"]


def _is_binary(values: Sequence[Any]) -> bool:
    return all(v in (0, 1, 0.0, 1.0) for v in values if v is not None)


def continuous_column(rows: Sequence[dict[str, Any]], columns: Sequence[str],
                      score: str | None) -> str | None:  # fmt: skip
    """The first metric column after ``score`` whose values are not all 0 or 1 (IoU)."""
    for name in columns:
        if name == score:
            continue
        values = [r.get(name) for r in rows]
        if any(v is not None for v in values) and not _is_binary(values):
            return name
    return None


def similarity(row: dict[str, Any]) -> float:
    """How close the answer is to its nearest reference, 0 to 1 (case ignored).

    >>> similarity({"parsed": "Paris", "references": ["paris", "London"]})
    1.0
    """
    answer = str(row.get("parsed") or row.get("prediction") or "").lower()
    refs = [str(r).lower() for r in (row.get("references") or [])]
    if not refs:
        return 0.0
    return max(fuzz.ratio(answer, r) for r in refs) / 100.0


def question_text(row: dict[str, Any]) -> str:
    """The question alone (its own column), else the whole prompt (older run folders)."""
    question = row.get("question")
    return str(question) if question else str(row.get("prompt") or "")


def _item(sample_id: Any) -> str:
    return str(sample_id).split("#", 1)[0]


def worst_samples(rows: Sequence[dict[str, Any]], score: str | None,
                  columns: Sequence[str], count: int,
                  item: Callable[[dict[str, Any]], str] | None = None,
                  ) -> list[dict[str, Any]]:  # fmt: skip
    """The ``count`` lowest-scoring rows on ``score``, ties broken as the module says.

    ``item``: what a row shows (default: its id before ``#``); the report passes the image's
    hash, so DocVQA's several questions on one page count as one item.

    >>> rows = [{"sample_id": "a#0", "acc": 0.0, "iou": 0.4}, {"sample_id": "a#1", "acc": 0.0,
    ...          "iou": 0.1}, {"sample_id": "b", "acc": 0.0, "iou": 0.3}, {"sample_id": "c",
    ...          "acc": 1.0, "iou": 0.9}]
    >>> [r["sample_id"] for r in worst_samples(rows, "acc", ["acc", "iou"], 3)]
    ['a#1', 'b', 'a#0']
    """
    if score is None:
        return []
    tie = continuous_column(rows, columns, score)

    def key(row: dict[str, Any]) -> tuple[bool, float, float, float]:
        value = row.get(score)
        second = row.get(tie) if tie is not None else None
        return (value is None, value or 0.0, second if second is not None else 0.0,
                similarity(row))  # fmt: skip

    item_of = item or (lambda row: _item(row["sample_id"]))
    ordered = sorted(rows, key=key)
    chosen: list[dict[str, Any]] = []
    seen: set[str] = set()
    start = 0
    while start < len(ordered) and len(chosen) < count:
        end = start  # a run of rows with the same score: items not yet shown go first
        while end < len(ordered) and ordered[end].get(score) == ordered[start].get(score):
            end += 1
        tied = ordered[start:end]
        fresh: list[dict[str, Any]] = []
        repeats: list[dict[str, Any]] = []
        for row in tied:
            shown = item_of(row)
            (repeats if shown in seen else fresh).append(row)
            seen.add(shown)
        chosen += (fresh + repeats)[: count - len(chosen)]
        start = end
    return chosen

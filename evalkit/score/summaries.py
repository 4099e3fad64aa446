"""Benchmark summaries beyond means: rows a benchmark's own script adds to the table.

A task names one (``summary: mme``); the aggregator hands it every scored sample (its metric
values and kept columns, in dataset order) and the failed ones' kept columns, and adds the rows
it returns to ``summary.parquet``. Such rows have no bootstrap interval and are not compared
pair by pair (``evalkit compare`` compares the per-sample metrics they come from).

``mme``: MME's ``calculation.py`` (BradyFU/Awesome-Multimodal-Large-Language-Models, branch
``Evaluation``, ``tools/eval_tool.zip`` at dd2950902889cd614d4edf606827240166d29381): per
subtask, ``acc`` (the share of questions right), ``acc+`` (the share of images whose two
questions are both right) and the score ``100 * (acc + acc+)``; the perception total (the
scores of its ten subtasks added) and the cognition total (its four). The script pairs an
image's two questions as consecutive lines of the subtask's file; evalkit pairs them by the
image (the Hub copy's ``question_id``). An image with a failed question is left out of acc+.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.registry import Registry

__all__ = ["SUMMARIES", "Scored", "Summary", "mme_summary"]


@dataclass(frozen=True, slots=True)
class Scored:
    """One sample as a summary sees it."""

    sample_id: str
    scores: Mapping[str, float]
    meta: Mapping[str, Any]


@dataclass(frozen=True)
class Summary:
    """A benchmark's extra summary rows."""

    needs: tuple[str, ...]
    """The kept columns it reads (the task must keep them)."""
    rows: Callable[[Sequence[Scored], Sequence[Mapping[str, Any]]], list[dict[str, Any]]]
    """``(scored samples, failed samples' kept columns) -> rows`` (``MetricValue`` fields)."""


PERCEPTION = ("existence", "count", "position", "color", "posters", "celebrity", "scene",
              "landmark", "artwork", "OCR")  # fmt: skip
COGNITION = ("commonsense_reasoning", "numerical_calculation", "text_translation",
             "code_reasoning")  # fmt: skip


def mme_summary(
    scored: Sequence[Scored], failed: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """MME's acc+, subtask scores and the perception and cognition totals.

    >>> s = [Scored(str(i), {"mme_accuracy": v}, {"category": "OCR", "question_id": f"{i // 2}"})
    ...      for i, v in enumerate([1.0, 1.0, 1.0, 0.0])]
    >>> [(r["metric"], r.get("group"), r["value"]) for r in mme_summary(s, [])]
    [('mme_acc_plus', 'OCR', 0.5), ('mme_score', 'OCR', 125.0), ('mme_perception', None, 125.0), ('mme_cognition', None, None)]
    """  # noqa: E501
    by_task: dict[str, list[Scored]] = defaultdict(list)
    for sample in scored:
        by_task[str(sample.meta.get("category"))].append(sample)
    broken: dict[str, set[str]] = defaultdict(set)  # images with a failed question
    failed_in: dict[str, int] = defaultdict(int)
    for meta in failed:
        broken[str(meta.get("category"))].add(str(meta.get("question_id")))
        failed_in[str(meta.get("category"))] += 1
    rows: list[dict[str, Any]] = []
    scores: dict[str, float] = {}
    for task in sorted(by_task):
        samples = by_task[task]
        acc = sum(s.scores.get("mme_accuracy", 0.0) for s in samples) / len(samples)
        images: dict[str, list[float]] = defaultdict(list)
        for s in samples:
            image = str(s.meta.get("question_id"))
            if image not in broken[task]:
                images[image].append(s.scores.get("mme_accuracy", 0.0))
        plus = (sum(all(v == 1.0 for v in vs) for vs in images.values()) / len(images)
                if images else None)  # fmt: skip
        where = {"kind": "group", "group_by": "category", "group": task,
                 "n_failed": failed_in[task]}  # fmt: skip
        rows.append({"metric": "mme_acc_plus", "value": plus, "n": len(images), **where})
        score = 100 * (acc + plus) if plus is not None else None
        rows.append({"metric": "mme_score", "value": score, "n": len(samples), **where})
        if score is not None:
            scores[task] = score
    for name, tasks in (("mme_perception", PERCEPTION), ("mme_cognition", COGNITION)):
        present = [scores[t] for t in tasks if t in scores]
        rows.append({"metric": name, "value": sum(present) if present else None,
                     "n": sum(len(by_task[t]) for t in tasks if t in by_task),
                     "n_failed": sum(failed_in[t] for t in tasks), "kind": "metric"})  # fmt: skip
    return rows


SUMMARIES: Registry[Summary] = Registry("summary", {
    "mme": Summary(("category", "question_id"), mme_summary),
})  # fmt: skip
"""Summary name → summary (a task names its own in ``summary``)."""

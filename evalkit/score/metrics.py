"""Which scorer each task family uses: per-sample scores, corpus scores, and the summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evalkit.config import TaskSpec
from evalkit.records import Family, Prediction, Sample
from evalkit.score.anls import anls
from evalkit.score.bootstrap import bootstrap_mean_ci
from evalkit.score.captions import CAPTION_METRICS, CaptionScores, caption_scores_per_image
from evalkit.score.grounding import grounding_scores
from evalkit.score.vqa import vqa_accuracy

__all__ = ["FAMILY_METRICS", "MetricValue", "corpus_scores", "sample_scores", "summarize"]

FAMILY_METRICS: dict[Family, tuple[str, ...]] = {
    Family.docvqa: ("anls",),
    Family.vqa: ("vqa_accuracy",),
    Family.captioning: CAPTION_METRICS,
    Family.grounding: ("acc_iou50", "acc_iou25", "acc_iou75", "iou"),
}
"""Metrics each family can report; a task lists the ones it wants."""


@dataclass(frozen=True, slots=True)
class MetricValue:
    """One row of ``summary.parquet``."""

    metric: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    n_failed: int


def sample_scores(*, task: TaskSpec, sample: Sample, prediction: Prediction) -> dict[str, float]:
    """Per-sample scores; captioning has none until the corpus is complete."""
    family = task.family
    if family is Family.docvqa:
        return {
            "anls": anls(
                prediction=prediction.answer,
                answers=sample.references,
                threshold=task.anls_threshold,
            )
        }
    if family is Family.vqa:
        value = vqa_accuracy(
            prediction=prediction.answer, answers=sample.references, mode=task.vqa_mode
        )
        return {"vqa_accuracy": value}
    if family is Family.grounding:
        assert sample.box is not None  # the dataset stage guarantees a gold box
        return grounding_scores(predicted=prediction.box, gold=sample.box)
    return {}


def corpus_scores(
    *,
    task: TaskSpec,
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    resamples: int,
    confidence: float,
    seed: int,
) -> CaptionScores:
    """Corpus-level scores, per-sample values and intervals; empty unless captioning."""
    if task.family is not Family.captioning or not predictions:
        return CaptionScores({}, {})
    return caption_scores_per_image(
        predictions=predictions,
        references=references,
        resamples=resamples,
        confidence=confidence,
        seed=seed,
    )


def summarize(
    *,
    task: TaskSpec,
    per_sample: Mapping[str, Sequence[float]],
    corpus: CaptionScores,
    n_failed: int,
    resamples: int,
    confidence: float,
    seed: int,
) -> list[MetricValue]:
    """One :class:`MetricValue` per task metric, with bootstrap intervals where defined."""
    rows = []
    for metric in task.metrics:
        values = per_sample.get(metric, ())
        low: float | None
        high: float | None
        if metric in corpus.corpus:
            value: float | None = corpus.corpus[metric]
            low, high = corpus.intervals.get(metric, (None, None))
        else:
            value = sum(values) / len(values) if values else None
            low, high = bootstrap_mean_ci(
                values, resamples=resamples, confidence=confidence, seed=seed
            )
        rows.append(MetricValue(metric, value, low, high, len(values), n_failed))
    return rows

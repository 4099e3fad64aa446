"""The aggregator: metric rows, per-group rows (list values in each group), corpus metrics."""

from __future__ import annotations

import pytest

from evalkit.config import MetricSpec
from evalkit.score.aggregate import Aggregator
from evalkit.score.registry import build_metrics


def _anls() -> list:  # type: ignore[type-arg]
    return build_metrics([MetricSpec("anls")], parser_output="text")


def test_metric_and_group_rows_with_list_values_and_failures() -> None:
    agg = Aggregator(_anls(), group_by=["question_types"], resamples=0)
    agg.add_scored("a", 0, {"anls": 1.0}, meta={"question_types": ["form", "table"]})
    agg.add_scored("b", 1, {"anls": 0.5}, meta={"question_types": ["form"]})
    agg.add_scored("c", 2, {"anls": 0.0}, meta={"question_types": None})
    agg.add_failed({"question_types": ["table"]})
    agg.add_failed(None)  # a row that failed before its columns were read
    rows = agg.finish().rows
    overall, *groups = rows
    assert (overall.kind, overall.metric, overall.value, overall.n, overall.n_failed) == (
        "metric", "anls", 0.5, 3, 2,
    )  # fmt: skip
    assert [(g.kind, g.group_by, g.group, g.value, g.n, g.n_failed) for g in groups] == [
        ("group", "question_types", "form", 0.75, 2, 0),
        ("group", "question_types", "table", 1.0, 1, 1),
    ]


def test_order_of_arrival_does_not_change_the_intervals() -> None:
    values = [0.1 * i for i in range(10)]

    def interval(order: list[int]) -> tuple[float | None, float | None]:
        agg = Aggregator(_anls(), resamples=200, seed=3)
        for i in order:
            agg.add_scored(str(i), i, {"anls": values[i]})
        row = agg.finish().rows[0]
        return row.ci_low, row.ci_high

    assert interval(list(range(10))) == interval([9, 3, 1, 0, 8, 2, 7, 6, 5, 4])


def test_nothing_scored_gives_empty_values_not_errors() -> None:
    agg = Aggregator(build_metrics([MetricSpec("CIDEr"), MetricSpec("anls")], parser_output="text"))
    agg.add_failed()
    rows = agg.finish().rows
    assert [(r.metric, r.value, r.n, r.n_failed) for r in rows] == [
        ("CIDEr", None, 0, 1), ("anls", None, 0, 1),
    ]  # fmt: skip


def test_unparsed_answers_are_counted() -> None:
    agg = Aggregator(build_metrics([MetricSpec("iou")], parser_output="box"), resamples=0)
    agg.add_scored("a", 0, {"iou": 0.0}, parsed=False)
    agg.add_scored("b", 1, {"iou": 0.5})
    assert agg.unparsed == 1
    assert agg.finish().rows[0].value == pytest.approx(0.25)

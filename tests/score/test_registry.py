"""Metric specs bound to the registry: defaults, parameters, columns, what each reads."""

from __future__ import annotations

import pytest

from evalkit.config import MetricSpec
from evalkit.errors import ConfigError
from evalkit.records import ImageRef, Prediction, Sample
from evalkit.score import anls, relaxed_accuracy, vqa_accuracy
from evalkit.score.registry import CORPUS_SCORERS, METRICS, build_metrics


def test_parameters_reach_the_scorer() -> None:
    [loose, strict] = build_metrics(
        [MetricSpec("anls", params={"threshold": 0.2}), MetricSpec("anls", column="strict")],
        parser_output="text",
    )
    sample = Sample("q", (), references=("abcde",))
    prediction = Prediction("ab")  # ANLS 0.4: kept at tau 0.2, zero at tau 0.5
    assert loose.score(prediction, sample) == anls(
        prediction="ab", answers=["abcde"], threshold=0.2
    )
    assert loose.score(prediction, sample) == pytest.approx(0.4)
    assert strict.score(prediction, sample) == 0.0
    assert (loose.column, strict.column) == ("anls", "strict")
    assert strict.describe()["params"] == {"threshold": 0.5}


@pytest.mark.parametrize("mode", ["standard", "gt-vision-lab-2021", "qwen-vl", "textvqa"])
def test_vqa_modes(mode: str) -> None:
    [metric] = build_metrics(
        [MetricSpec("vqa_accuracy", params={"mode": mode})], parser_output="text"
    )
    sample = Sample("q", (), references=("yes",) * 10)
    expected = vqa_accuracy(prediction="Yes", answers=["yes"] * 10, mode=mode)
    assert metric.score(Prediction("Yes"), sample) == expected


def test_relaxed_accuracy_modes_differ_where_the_scripts_do() -> None:
    specs = [
        MetricSpec("relaxed_accuracy"),
        MetricSpec("relaxed_accuracy", "q", {"mode": "qwen-vl"}),
    ]
    pix2struct, qwen = build_metrics(specs, parser_output="text")
    sample = Sample("q", (), references=("12.62",))
    assert pix2struct.score(Prediction("12"), sample) == 1.0
    assert qwen.score(Prediction("12"), sample) == 0.0
    assert qwen.score(Prediction("12"), sample) == relaxed_accuracy(
        prediction="12", answers=["12.62"], mode="qwen-vl"
    )


def test_box_metrics_read_the_box() -> None:
    metrics = build_metrics([MetricSpec("acc_iou", params={"threshold": 0.3}), MetricSpec("iou")],
                            parser_output="box")  # fmt: skip
    sample = Sample("r", (ImageRef.size_only(10, 10),), box=(0.0, 0.0, 10.0, 10.0))
    half = Prediction("", box=(0.0, 0.0, 10.0, 4.0))
    assert [m.score(half, sample) for m in metrics] == [1.0, pytest.approx(0.4)]
    none = Prediction("", box=None, parsed=False)
    assert [m.score(none, sample) for m in metrics] == [0.0, 0.0]


def test_corpus_metrics_have_no_per_sample_value() -> None:
    [cider] = build_metrics([MetricSpec("CIDEr")], parser_output="text")
    assert cider.score(Prediction("a dog"), Sample("c", ())) is None
    assert cider.corpus is CORPUS_SCORERS["coco-caption"]
    assert cider.corpus.unavailable == ("SPICE",)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (MetricSpec("anls", params={"threshold": "high"}), "threshold must be a float"),
        (MetricSpec("anls", params={"threshold": True}), "threshold must be a float"),
        (MetricSpec("relaxed_accuracy", params={"tolerance": -1}), "outside"),
        (MetricSpec("iou", params={"x": 1}), "unknown parameter 'x'"),
    ],
)
def test_bad_parameters_are_one_line_errors(spec: MetricSpec, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        build_metrics([spec], parser_output=METRICS[spec.name].reads)
    assert "\n" not in str(info.value)

"""Every public scorer: keyword-only, deterministic, total on empty and odd predictions."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from evalkit.config import MetricSpec
from evalkit.records import Prediction, Sample
from evalkit.score import anls, relaxed_accuracy, vqa_accuracy
from evalkit.score.registry import METRICS, Metric, build_metrics


def _variants() -> dict[str, Callable[..., float]]:
    """Every registered per-sample text metric, once per value of each of its choices (modes),
    as a task binds it through the registry."""
    out: dict[str, Callable[..., float]] = {}
    for name, kind in METRICS.items():
        if kind.per_sample is None or kind.reads != "text":
            continue
        options = [{}] + [{p: v} for p, param in kind.params.items() for v in param.choices]
        for params in options:
            [metric] = build_metrics([MetricSpec(name, params=params)], parser_output="text")
            label = ",".join(f"{v}" for v in params.values())
            out[f"{name}[{label}]" if label else name] = partial(_score, metric)
    return out


def _score(metric: Metric, *, prediction: str, answers: list[str]) -> float:
    sample = Sample(id="s", images=(), references=tuple(answers))
    if metric.params.get("target") == "option":  # the gold is a letter naming an option
        sample = Sample(id="s", images=(), references=("B",), choices=tuple(answers))
    # ``grade`` reads a judge's grade (given here); the others read the text alone
    value = metric.score(Prediction(answer=prediction, judged=0.5, judged_reference=0.5), sample)
    if value is None and metric.kind.conditional:  # outside its denominator: no value
        return 0.0
    assert value is not None
    return value


SCORERS = _variants()
ODD = ["", " ", "\n", "yes" * 1000, "合计金额", "1,000.", "N/A", "nan", "inf", "-0", "%", "\u2028"]


@pytest.mark.parametrize("name", SCORERS)
@pytest.mark.parametrize("prediction", ODD)
def test_scores_are_in_range_and_deterministic(name: str, prediction: str) -> None:
    scorer = SCORERS[name]
    answers = ["yes", "1000", "合计金额", "inf"]
    first = scorer(prediction=prediction, answers=answers)
    assert 0.0 <= first <= 1.0
    assert scorer(prediction=prediction, answers=answers) == first


def test_every_text_metric_and_mode_is_held_to_the_contract() -> None:
    assert {"vqa_accuracy[textvqa]", "anls", "relaxed_accuracy[qwen-vl]",
            "exact_match[strict]"} <= set(SCORERS)  # fmt: skip


@pytest.mark.parametrize("scorer", [vqa_accuracy, anls, relaxed_accuracy])
def test_keyword_only_and_no_empty_gold(scorer: Callable[..., Any]) -> None:
    with pytest.raises(TypeError):
        scorer("yes", ["yes"])
    with pytest.raises(ValueError, match="at least one gold answer"):
        scorer(prediction="yes", answers=[])


def test_missing_java_is_one_line_before_any_model_call(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    env = {"PATH": str(tmp_path), "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "evalkit", "task=coco_caption", f"results_dir={tmp_path}/r"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "evalkit: error: caption metrics need Java for the PTB tokenizer and METEOR: install a "
        "Java runtime (e.g. apt-get install default-jre-headless) and make sure 'java' is on PATH"
    ]
    assert not list((tmp_path / "r").rglob("samples.*"))  # nothing was evaluated

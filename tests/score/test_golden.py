"""Golden cases for every registered metric, one file each, driven by the registry.

``tests/score/golden/<metric>.jsonl``: one case per line, each citing the rule it comes from
(``source``). A case gives the prediction (``prediction``: the answer text; ``box``: the
predicted box; for ``grade``, ``judge_output`` read by the judge ``protocol`` named),
the sample (``references``, ``gold_box``, ``choices``, ``meta``: its kept
columns), the metric's
parameters (by their names) and the ``expected`` value; the metric is bound through the
registry (:func:`~evalkit.score.registry.build_metrics`) exactly as a task binds it. A
per-sample metric added to the registry without a golden file fails here. Corpus metrics
(the caption metrics) are held to pycocoevalcap itself in ``test_scorers.py``.

Box parsing (a parser, not a metric) keeps its own cases in ``golden/boxes.jsonl``, run by
``tests/parse/test_boxes.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evalkit.config import MetricSpec
from evalkit.judge.protocols import PROTOCOLS, JudgeQuery
from evalkit.records import Prediction, Sample
from evalkit.score.registry import METRICS, build_metrics

GOLDEN = Path(__file__).parent / "golden"  # tests/score/golden
TOL = 1e-9
PER_SAMPLE = [name for name, kind in METRICS.items() if kind.per_sample is not None]


def _read(name: str) -> list[dict[str, Any]]:
    lines = (GOLDEN / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines if line.strip()]
    assert all(case.get("source") for case in cases), f"{name}: every case cites its source"
    return cases


def _cases() -> list[Any]:
    return [pytest.param(name, case, id=f"{name}-{i}")
            for name in PER_SAMPLE if (GOLDEN / f"{name}.jsonl").exists()
            for i, case in enumerate(_read(name))]  # fmt: skip


def test_every_per_sample_metric_has_golden_cases() -> None:
    missing = [name for name in PER_SAMPLE if not (GOLDEN / f"{name}.jsonl").exists()]
    assert not missing, f"golden files missing for {missing}"
    assert all(_read(name) for name in PER_SAMPLE)


@pytest.mark.parametrize(("name", "case"), _cases())
def test_metric(name: str, case: dict[str, Any]) -> None:
    kind = METRICS[name]
    params = {k: v for k, v in case.items() if k in kind.params}
    [metric] = build_metrics([MetricSpec(name, params=params)], parser_output=kind.reads)
    box = tuple(case["box"]) if case.get("box") is not None else None
    judged = reference = None
    if "judge_output" in case:  # a grade: the judge's text as its protocol reads it
        query = JudgeQuery("", "", ())
        verdict = PROTOCOLS[case["protocol"]].read(case["judge_output"], query)
        judged = verdict.score if verdict is not None else None
        reference = verdict.reference if verdict is not None else None
    prediction = Prediction(
        answer=case.get("prediction", ""),
        box=box,  # type: ignore[arg-type]
        judged=judged,
        judged_reference=reference,
    )
    gold = tuple(case["gold_box"]) if case.get("gold_box") is not None else None
    sample = Sample(id="golden", images=(), references=tuple(case.get("references", ())),
                    box=gold, choices=tuple(case.get("choices", ())),
                    meta=case.get("meta", {}))  # type: ignore[arg-type]  # fmt: skip
    got = metric.score(prediction, sample)
    if case["expected"] is None:  # outside a conditional metric's denominator (POPE's recall)
        assert got is None and kind.conditional, case["source"]
        return
    assert got is not None and abs(got - case["expected"]) <= TOL, case["source"]

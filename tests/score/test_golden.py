"""Golden cases, one per line in tests/golden/*.jsonl, each citing the rule it comes from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evalkit.score import anls, iou, parse_box, relaxed_accuracy, vqa_accuracy

GOLDEN = Path(__file__).parent / "golden"  # tests/score/golden
TOL = 1e-9


def _cases(name: str) -> list[Any]:
    lines = (GOLDEN / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines if line.strip()]
    assert all(case.get("source") for case in cases), f"{name}: every case cites its source"
    return [pytest.param(case, id=f"{name}-{i}") for i, case in enumerate(cases)]


@pytest.mark.parametrize("case", _cases("vqa"))
def test_vqa(case: dict[str, Any]) -> None:
    got = vqa_accuracy(prediction=case["prediction"], answers=case["references"], mode=case["mode"])
    assert abs(got - case["expected"]) <= TOL, case["source"]


@pytest.mark.parametrize("case", _cases("anls"))
def test_anls(case: dict[str, Any]) -> None:
    got = anls(
        prediction=case["prediction"], answers=case["references"], threshold=case["threshold"]
    )
    assert abs(got - case["expected"]) <= TOL, case["source"]


@pytest.mark.parametrize("case", _cases("relaxed"))
def test_relaxed(case: dict[str, Any]) -> None:
    got = relaxed_accuracy(
        prediction=case["prediction"], answers=case["references"], mode=case["mode"]
    )
    assert got == case["expected"], case["source"]


@pytest.mark.parametrize("case", _cases("boxes"))
def test_boxes(case: dict[str, Any]) -> None:
    got = parse_box(text=case["text"], fmt=case["fmt"], width=case["width"], height=case["height"])
    if case["expected"] is None:
        assert got is None, case["source"]
    else:
        assert got is not None, case["source"]
        assert all(abs(g - e) <= TOL for g, e in zip(got, case["expected"], strict=True))


@pytest.mark.parametrize("case", _cases("iou"))
def test_iou(case: dict[str, Any]) -> None:
    assert abs(iou(a=tuple(case["a"]), b=tuple(case["b"])) - case["expected"]) <= TOL
    assert abs(iou(a=tuple(case["b"]), b=tuple(case["a"])) - case["expected"]) <= TOL


@pytest.mark.parametrize("case", _cases("exact"))
def test_exact(case: dict[str, Any]) -> None:
    from evalkit.score.exact import exact_match

    got = exact_match(prediction=case["prediction"], answers=case["references"], mode=case["mode"])
    assert got == case["expected"], case["source"]

"""Stage ⑤: boxes read from answers in each family's convention (golden/boxes.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evalkit.score import parse_box

GOLDEN = Path(__file__).resolve().parent.parent / "score" / "golden" / "boxes.jsonl"
TOL = 1e-9


def _read() -> list[dict[str, Any]]:
    cases = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line]
    assert all(case.get("source") for case in cases), "every case cites its source"
    return cases


@pytest.mark.parametrize("case", [pytest.param(c, id=f"boxes-{i}") for i, c in enumerate(_read())])
def test_boxes(case: dict[str, Any]) -> None:
    got = parse_box(text=case["text"], fmt=case["fmt"], width=case["width"], height=case["height"])
    if case["expected"] is None:
        assert got is None, case["source"]
    else:
        assert got is not None, case["source"]
        assert all(abs(g - e) <= TOL for g, e in zip(got, case["expected"], strict=True))

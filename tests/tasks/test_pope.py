"""POPE scored as its evaluate.py scores it, per negative-sampling set, paired by id."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from evalkit import load_run
from evalkit.resources import sample_data_dir

from ..conftest import predictions_file

SAMPLE = pd.read_parquet(sample_data_dir() / "pope" / "test.parquet")


def _official(answers: list[str], labels: list[str]) -> dict[str, float]:
    """evaluate.py of RUCAIBox/POPE @ f3ec6043, restated: answers and labels in one order."""
    preds = []
    for text in answers:
        if text.find(".") != -1:
            text = text.split(".")[0]
        words = text.replace(",", "").split(" ")
        preds.append(0 if ("No" in words or "not" in words or "no" in words) else 1)
    truth = [0 if label == "no" else 1 for label in labels]
    tp = sum(p == 1 and t == 1 for p, t in zip(preds, truth, strict=True))
    fp = sum(p == 1 and t == 0 for p, t in zip(preds, truth, strict=True))
    tn = sum(p == 0 and t == 0 for p, t in zip(preds, truth, strict=True))
    fn = sum(p == 0 and t == 1 for p, t in zip(preds, truth, strict=True))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return {"pope_accuracy": (tp + tn) / len(preds), "pope_precision": precision,
            "pope_recall": recall, "pope_f1": 2 * precision * recall / (precision + recall),
            "pope_yes_ratio": preds.count(1) / len(preds)}  # fmt: skip


def _answers() -> dict[str, str]:
    """A mixed answerer: right, wrong, hedged (evaluate.py's traps: "don't", "NO")."""
    rng = random.Random(5)
    forms = {"yes": ["Yes, there is.", "yes", "I don't think so.", "NO"],
             "no": ["No, there is not.", "no", "Yes.", "There is not one."]}  # fmt: skip
    return {r.id: rng.choice(forms[r.answer]) for r in SAMPLE.itertuples()}


def test_each_set_and_the_whole_match_the_official_script(run_eval, tmp_path) -> None:
    answers = _answers()
    shuffled = list(answers.items())
    random.Random(1).shuffle(shuffled)  # paired by id: the file's order does not matter
    path = predictions_file(tmp_path / "preds.jsonl", shuffled)
    outcome = run_eval("task=pope", "backend=replay", f"backend.predictions={path}")
    summary = load_run(outcome.run_dir).summary
    overall = summary[summary["kind"] == "metric"].set_index("metric")["value"]
    expected = _official([answers[i] for i in SAMPLE["id"]], list(SAMPLE["answer"]))
    assert overall.to_dict() == pytest.approx(expected, abs=1e-12)
    for category, rows in SAMPLE.groupby("category"):
        got = summary[(summary["kind"] == "group") & (summary["group"] == category)]
        official = _official([answers[i] for i in rows["id"]], list(rows["answer"]))
        assert got.set_index("metric")["value"].to_dict() == pytest.approx(official, abs=1e-12)
    assert set(summary.loc[summary["kind"] == "group", "group"]) == {
        "adversarial",
        "popular",
        "random",
    }


def test_compare_leaves_out_the_metrics_without_a_value_per_pair(run_eval, tmp_path, cli) -> None:
    base = run_eval("task=pope").run_dir
    cand = run_eval("task=pope", "backend.answer=no").run_dir
    proc = cli("compare", str(base), str(cand))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "pope_f1: not compared pair by pair" in out
    assert "pope_precision: not compared pair by pair" in out
    assert "pope_accuracy" in out and "pope_yes_ratio" in out

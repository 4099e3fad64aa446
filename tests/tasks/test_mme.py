"""MME scored as its calculation.py scores it: acc, acc+ and scores per subtask, the totals."""

from __future__ import annotations

import random
from collections import defaultdict

import pandas as pd
import pytest

from evalkit import load_run
from evalkit.resources import sample_data_dir

from ..conftest import predictions_file

SAMPLE = pd.read_parquet(sample_data_dir() / "mme" / "test.parquet")
PERCEPTION = ["existence", "count", "position", "color", "posters", "celebrity", "scene",
              "landmark", "artwork", "OCR"]  # fmt: skip
COGNITION = ["commonsense_reasoning", "numerical_calculation", "text_translation",
             "code_reasoning"]  # fmt: skip


def _parse(pred: str) -> str:
    """calculation.py's parse_pred_ans, restated."""
    if pred in ["yes", "no"]:
        return pred
    prefix = pred[:4]
    return "yes" if "yes" in prefix else "no" if "no" in prefix else "other"


def _official(lines_by_task: dict[str, list[tuple[str, str]]]) -> dict[str, float]:
    """calculation.py's process_result over (label, reply) lines, consecutive pairs an image."""
    out: dict[str, float] = {}
    totals = {"mme_perception": 0.0, "mme_cognition": 0.0}
    for task, lines in lines_by_task.items():
        right, plus = 0, 0
        for i in range(0, len(lines), 2):
            both = 0
            for gt, reply in lines[i : i + 2]:
                ok = gt.lower() == _parse(reply.lower())
                right += ok
                both += ok
            plus += both == 2
        acc, acc_plus = right / len(lines), plus / (len(lines) / 2)
        out[task] = 100 * acc + 100 * acc_plus
        totals["mme_perception" if task in PERCEPTION else "mme_cognition"] += out[task]
    return {**out, **totals}


def test_subtask_scores_and_totals_match_calculation_py(run_eval, tmp_path) -> None:
    rng = random.Random(7)
    replies = {str(i): rng.choice(["Yes", "No", "yes, it is", "Nope", "I think so", "no."])
               for i in range(len(SAMPLE))}  # fmt: skip
    order = list(replies.items())
    rng.shuffle(order)  # paired by id, never by the file's order
    path = predictions_file(tmp_path / "replies.jsonl", order)
    outcome = run_eval("task=mme", "backend=replay", f"backend.predictions={path}")
    summary = load_run(outcome.run_dir).summary
    lines: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for i, row in enumerate(SAMPLE.itertuples()):  # the official's file: an image's two lines
        lines[row.category].append((row.answer, replies[str(i)]))
    expected = _official(lines)
    scores = summary[summary["metric"] == "mme_score"].set_index("group")["value"].to_dict()
    assert scores == pytest.approx({t: v for t, v in expected.items() if not t.startswith("mme")})
    overall = summary[summary["kind"] == "metric"].set_index("metric")["value"]
    assert overall["mme_perception"] == pytest.approx(expected["mme_perception"])
    assert overall["mme_cognition"] == pytest.approx(expected["mme_cognition"])
    manifest = load_run(outcome.run_dir).manifest
    assert manifest["results"]["mme_perception"] == pytest.approx(expected["mme_perception"])


def test_an_image_with_a_failed_question_is_left_out_of_acc_plus(run_eval, tmp_path) -> None:
    path = predictions_file(
        tmp_path / "replies.jsonl", ((str(i), a) for i, a in enumerate(SAMPLE["answer"]) if i != 0)
    )
    outcome = run_eval("task=mme", "backend=replay", f"backend.predictions={path}")
    summary = load_run(outcome.run_dir).summary
    first = SAMPLE["category"].iloc[0]
    plus = summary[(summary["metric"] == "mme_acc_plus") & (summary["group"] == first)].iloc[0]
    images = SAMPLE.loc[SAMPLE["category"] == first, "question_id"].nunique()
    assert plus["value"] == 1.0 and plus["n"] == images - 1 and plus["n_failed"] == 1

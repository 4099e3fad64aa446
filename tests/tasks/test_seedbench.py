"""SEED-Bench's image part: the filter on ``data_type``, lists of pictures, the letter rule."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest

from evalkit import load_run
from evalkit.resources import sample_data_dir

from ..conftest import predictions_file

SAMPLE = pd.read_parquet(sample_data_dir() / "seedbench" / "test.parquet")
IMAGES = SAMPLE[SAMPLE["data_type"] == "image"]


def _official(predictions: list[str], rows: pd.DataFrame) -> dict[str, float]:
    """lmms-eval's seed_process_result then SEED-Bench eval.py's per-dimension accuracy,
    restated: the reply's first character against the letter, per question_type_id."""
    right: dict[str, list[bool]] = {}
    for reply, (_, row) in zip(predictions, rows.iterrows(), strict=True):
        pred = reply.strip()
        pred = pred[0] if len(pred) > 1 else pred
        right.setdefault(str(row["question_type_id"]), []).append(pred == row["answer"])
    return {k: sum(v) / len(v) for k, v in right.items()}


def _replies() -> dict[str, str]:
    rng = random.Random(11)
    forms = ["{a}", "{a}. yes", " {a}", "({a})", "{w}", "{a_lower}", "The answer is {a}"]
    out = {}
    for row in SAMPLE.itertuples():
        wrong = next(c for c in "ABCD" if c != row.answer)
        out[row.question_id] = rng.choice(forms).format(
            a=row.answer, w=wrong, a_lower=row.answer.lower()
        )
    return out


def test_the_image_rows_alone_are_scored_per_dimension(run_eval, tmp_path: Path) -> None:
    replies = _replies()
    path = predictions_file(tmp_path / "preds.jsonl", replies.items(), "question_id")
    outcome = run_eval("task=seedbench", "backend=replay", f"backend.predictions={path}",
                       "backend.id_column=question_id")  # fmt: skip
    run = load_run(outcome.run_dir)
    assert sorted(run.samples["sample_id"]) == sorted(IMAGES["question_id"])
    summary = run.summary
    groups = summary[summary["kind"] == "group"].set_index("group")["value"].to_dict()
    expected = _official([replies[i] for i in IMAGES["question_id"]], IMAGES)
    assert groups == pytest.approx(expected, abs=1e-12)
    overall = summary[summary["kind"] == "metric"]["value"].item()
    firsts = [replies[i].strip()[:1] for i in IMAGES["question_id"]]
    assert overall == pytest.approx((pd.Series(firsts).values == IMAGES["answer"].values).mean())
    manifest = json.loads((outcome.run_dir / "run.json").read_text())
    videos = int((SAMPLE["data_type"] == "video").sum())
    assert videos == 6
    assert manifest["dataset"]["where"] == {"data_type": ["image"]}
    assert (manifest["dataset"]["rows_seen"], manifest["dataset"]["rows_left_out"]) == (60, 6)
    # the video rows' answers match no sample: counted, not scored
    assert manifest["backend_record"]["unmatched"] == videos


def test_every_picture_of_a_row_is_sent_in_order(run_eval, server) -> None:
    """The video rows (kept by a filter set on the command line) carry three frames each."""
    outcome = run_eval("task=seedbench", "task.dataset.where.data_type=[video]",
                       "backend=openai", f"backend.base_url={server.openai_url}", "backend.model=m",
                       "backend.api_key_env=null")  # fmt: skip
    run = load_run(outcome.run_dir)
    assert len(run.samples) == 6 and run.samples["error"].isna().all()
    for body in (r.body for r in server.received):
        [message] = body["messages"]
        kinds = [p["type"] for p in message["content"]]
        assert kinds == ["image_url"] * 3 + ["text"]


def test_a_row_without_the_filtered_column_is_an_error_row(run_eval, tmp_path: Path) -> None:
    rows = SAMPLE.head(4).copy()
    rows = rows.drop(columns=["data_type"])
    path = tmp_path / "rows.parquet"
    rows.to_parquet(path)
    outcome = run_eval("task=seedbench", "dataset=local", f"dataset.path={path}",
                       "backend=baseline", "limits.max_error_rate=null")  # fmt: skip
    run = load_run(outcome.run_dir)
    assert len(run.samples) == 4
    assert set(run.samples["error_type"]) == {"MissingField"}
    assert run.samples["error"].str.contains("column 'data_type' is missing").all()

"""Offline end-to-end runs per family: the Parquet schema and the values in it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalkit import load_run
from evalkit.compose.tasks import load_task
from evalkit.resources import sample_data_dir
from evalkit.runfolder.schema import SUMMARY_SCHEMA, sample_schema
from evalkit.score import anls, vqa_accuracy

TASKS = {"docvqa": 60, "vqav2": 60, "textvqa": 50, "coco_caption": 50, "refcoco": 126}
TEXT, TEXTS = pa.string(), pa.list_(pa.string())
KEPT = {  # the kept dataset columns (columns.keep) and how they are stored
    "docvqa": {"question_types": TEXTS, "docId": TEXT},
    "vqav2": {
        "question_type": TEXT,
        "answer_type": TEXTS,
        "multiple_choice_answer": TEXT,
    },  # one type per name
    "textvqa": {"set_name": TEXT},
    "coco_caption": {"file_name": TEXT},
    "refcoco": {"file_name": TEXT},
}


def _names(task: str) -> list[str]:
    return [m.column or m.name for m in load_task(task).metrics]


def _check_folder(run_dir: Path, task: str, n: int) -> pd.DataFrame:
    metrics = _names(task)
    assert pq.read_schema(run_dir / "samples.parquet").remove_metadata() == sample_schema(
        metrics, KEPT[task]
    )
    assert pq.read_schema(run_dir / "summary.parquet").remove_metadata() == SUMMARY_SCHEMA
    run = load_run(run_dir)
    samples, summary, manifest = run.samples, run.summary, run.manifest
    assert summary is not None and manifest is not None
    assert len(samples) == n and samples["sample_id"].is_unique
    assert samples["error_type"].isna().all()
    assert (samples["task"] == task).all() and (samples["backend"] == "baseline").all()
    overall = summary[summary["kind"] != "group"]
    assert list(overall["metric"]) == [*metrics, "cost_spent", "cost_saved"]
    assert list(overall["kind"]) == ["metric"] * len(metrics) + ["cost", "cost"]
    assert (overall["n"] == n).all() and (summary["n_failed"] == 0).all()
    assert manifest["format_version"] == 3
    assert [m["column"] for m in manifest["scoring"]["metrics"]] == metrics
    costs = summary.set_index("metric").loc[["cost_spent", "cost_saved"], "value"]
    assert list(costs) == [0.0, 0.0]  # the baseline is free
    assert manifest["counts"] == {"samples": n, "failed": 0, "skipped": 0, "errors": {}}
    assert manifest["dataset"]["source"] == "sample"
    scores = overall[overall["metric"].isin(metrics)]
    assert manifest["results"] == dict(zip(scores["metric"], scores["value"], strict=True))
    return samples


@pytest.mark.parametrize("task", [t for t in TASKS if t != "coco_caption"])
def test_mean_metrics_equal_the_row_means(run_eval, task: str) -> None:
    outcome = run_eval(f"task={task}")
    samples = _check_folder(outcome.run_dir, task, TASKS[task])
    summary = load_run(outcome.run_dir).summary
    assert summary is not None
    for row in summary[summary["metric"].isin(_names(task))].itertuples():
        members = samples
        if row.kind == "group":  # a list value (DocVQA question_types) counts in each group
            members = samples[samples[row.group_by].map(
                lambda v, g=row.group: g in v if isinstance(v, (list, np.ndarray)) else v == g)]  # fmt: skip
        assert row.n == len(members)
        assert row.value == pytest.approx(members[row.metric].mean(), abs=1e-12)
        assert row.ci_low <= row.value <= row.ci_high


def test_docvqa_rows_carry_anls_of_the_baseline_answer(run_eval) -> None:
    samples = _check_folder(run_eval("task=docvqa").run_dir, "docvqa", 60)
    assert (samples["prediction"] == "1").all()
    for row in samples.itertuples():
        assert row.anls == anls(prediction="1", answers=list(row.references))
    assert samples["prompt"].iloc[0].endswith("Answer the question using a single word or phrase.")


def test_vqav2_reads_the_ten_answer_dicts(run_eval) -> None:
    samples = _check_folder(run_eval("task=vqav2").run_dir, "vqav2", 60)
    assert samples["references"].map(len).eq(10).all()
    yes_no = samples[samples["references"].map(lambda r: set(r) <= {"yes", "no"})]
    for row in yes_no.itertuples():
        expected = vqa_accuracy(prediction="yes", answers=list(row.references))
        assert row.vqa_accuracy == expected
    # nine "yes" and one "no": every leave-one-out subset still has >= 3 matches
    nine = yes_no[yes_no["references"].map(lambda r: list(r).count("yes") == 9)]
    assert not nine.empty and (nine["vqa_accuracy"] == 1.0).all()


def test_refcoco_boxes_are_xywh_converted_and_exploded(run_eval) -> None:
    samples = _check_folder(run_eval("task=refcoco").run_dir, "refcoco", 126)
    raw = pd.read_parquet(sample_data_dir() / "refcoco" / "val.parquet")
    first = raw.iloc[0]
    x, y, w, h = first["bbox"]
    rows = samples[samples["sample_id"].str.startswith(f"{first['question_id']}#")]
    assert list(rows["parsed"].str.len() > 0) == [True] * len(first["answer"])
    assert len(rows) == len(first["answer"])
    assert list(rows.iloc[0]["gold_box"]) == [x, y, x + w, y + h]
    # the baseline box is the whole 384 x 256 image, asked for as normalised corners
    assert list(rows.iloc[0]["pred_box"]) == [0.0, 0.0, 384.0, 256.0]
    assert rows.iloc[0]["iou"] == pytest.approx(w * h / (384 * 256))
    assert (samples["acc_iou50"] == (samples["iou"] >= 0.5)).all()


def test_refcoco_qwen_vl_prompt_family(run_eval) -> None:
    outcome = run_eval("task=refcoco", "backend.prompt_family=qwen-vl", "dataset.limit=4")
    samples = load_run(outcome.run_dir).samples
    assert samples["prompt"].iloc[0].startswith("<ref>") and samples["prompt"].iloc[0].endswith(
        "<box>"
    )
    assert samples["prediction"].iloc[0] == "<box>(0,0),(999,999)</box>"
    assert list(samples["pred_box"].iloc[0]) == [0.0, 0.0, 384.0, 256.0]
    manifest = json.loads((outcome.run_dir / "run.json").read_text())
    assert manifest["scoring"]["box_format"] == "qwen-vl"


@pytest.mark.parametrize("task", ["refcoco", "refcoco_plus", "refcocog"])
def test_refcoco_qwen2_vl_prompt_family(run_eval, task: str) -> None:
    outcome = run_eval(f"task={task}", "backend.prompt_family=qwen2-vl", "dataset.limit=3")
    samples = load_run(outcome.run_dir).samples
    first = samples.iloc[0]
    prompt = first["prompt"]
    assert prompt.startswith("Find <|object_ref_start|>") and prompt.endswith("<|object_ref_end|>")
    assert len(prompt) > len("Find <|object_ref_start|><|object_ref_end|>")  # the expression
    assert first["prediction"] == "<|box_start|>(0,0),(1000,1000)<|box_end|>"  # the whole image
    width, height = first["image_width"], first["image_height"]
    assert list(first["pred_box"]) == [0.0, 0.0, float(width), float(height)]
    manifest = json.loads((outcome.run_dir / "run.json").read_text())
    assert manifest["scoring"]["box_format"] == "qwen2-vl"


def test_coco_caption_matches_pycocoevalcap_called_directly(run_eval, reference_meteor) -> None:
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    outcome = run_eval("task=coco_caption")
    samples = _check_folder(outcome.run_dir, "coco_caption", 50)
    gts = {r.sample_id: [{"caption": c} for c in r.references] for r in samples.itertuples()}
    res = {r.sample_id: [{"caption": r.parsed}] for r in samples.itertuples()}
    tok = PTBTokenizer()
    gts_t, res_t = tok.tokenize(gts), tok.tokenize(res)
    cider, cider_each = Cider().compute_score(gts_t, res_t)
    bleu, _ = Bleu(4).compute_score(gts_t, res_t, verbose=0)
    summary = load_run(outcome.run_dir).summary
    assert summary is not None
    values = dict(zip(summary["metric"], summary["value"], strict=True))
    assert values["CIDEr"] == pytest.approx(float(cider), abs=1e-9)
    for n in range(4):
        assert values[f"Bleu_{n + 1}"] == pytest.approx(bleu[n], abs=1e-9)
    by_id = dict(zip(list(gts_t), cider_each, strict=True))
    for row in samples.itertuples():
        assert row.CIDEr == pytest.approx(by_id[row.sample_id], abs=1e-9)
    # every one of the seven, not just the cheap ones: METEOR's JVM and ROUGE-L as well
    rouge, rouge_each = Rouge().compute_score(gts_t, res_t)
    meteor, meteor_each = reference_meteor.compute_score(gts_t, res_t)  # pycocoevalcap's
    assert values["ROUGE_L"] == pytest.approx(float(rouge), abs=1e-9)
    assert values["METEOR"] == pytest.approx(float(meteor), abs=1e-9)
    rouge_by_id = dict(zip(list(gts_t), rouge_each, strict=True))
    meteor_by_id = dict(zip(list(gts_t), meteor_each, strict=True))
    for row in samples.itertuples():
        assert pytest.approx(rouge_by_id[row.sample_id], abs=1e-9) == row.ROUGE_L
        assert pytest.approx(meteor_by_id[row.sample_id], abs=1e-9) == row.METEOR


def test_runs_are_reproducible(run_eval) -> None:
    a = load_run(run_eval("task=vqav2").run_dir)
    b = load_run(run_eval("task=vqav2").run_dir)
    cols = ["sample_id", "prediction", "vqa_accuracy"]
    pd.testing.assert_frame_equal(a.samples[cols], b.samples[cols])
    assert a.summary is not None and b.summary is not None
    pd.testing.assert_frame_equal(
        a.summary.drop(columns="run_id"), b.summary.drop(columns="run_id")
    )


def test_a_prompt_family_the_task_lacks_falls_back_to_default(run_eval) -> None:
    samples = load_run(
        run_eval("task=docvqa", "backend.prompt_family=qwen-vl-chat-zh", "dataset.limit=2").run_dir
    ).samples
    assert samples["prompt"].iloc[0].endswith("Answer the question using a single word or phrase.")


def test_a_failure_while_recording_fails_the_run_and_keeps_earlier_rows(
    run_eval, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Scoring and journaling run in their own task: a bug there must stop the run loudly,
    not leave the workers asking while rows go nowhere."""
    from evalkit.run import record
    from evalkit.runfolder.writer import read_samples

    real_score = record.score_result
    seen: list[str] = []

    def failing_score(result, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(result.sample.id)
        if len(seen) == 5:
            raise RuntimeError("scorer bug")
        return real_score(result, **kwargs)

    monkeypatch.setattr(record, "score_result", failing_score)
    with pytest.raises(RuntimeError, match="scorer bug"):
        run_eval("task=docvqa", "report.flush_every=1")
    [run_dir] = tmp_path.iterdir()
    assert read_samples(run_dir).num_rows == 4

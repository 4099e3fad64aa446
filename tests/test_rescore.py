"""Rescoring a run folder reproduces its summary, without any backend call."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from evalkit import load_run
from evalkit.cli import main
from evalkit.run.rescore import rescore


@pytest.mark.parametrize(
    "overrides",
    [
        ["task=docvqa"],
        ["task=vqav2"],
        ["task=refcoco"],
        ["task=coco_caption"],
        # a prompt family that re-parameterises a metric, and one with its own box convention
        ["task=chartqa", "backend.prompt_family=qwen-vl"],
        ["task=refcoco", "backend.prompt_family=qwen-vl"],
        ["task=mmbench_en", "dataset.limit=6"],  # circular questions
    ],
    ids=" ".join,
)
def test_rescore_reproduces_the_summary(run_eval, overrides: list[str]) -> None:
    outcome = run_eval("dataset.limit=20", *overrides)
    before = load_run(outcome.run_dir)
    assert before.manifest is not None
    rescore(outcome.run_dir)
    after = load_run(outcome.run_dir)
    assert before.summary is not None and after.summary is not None
    pd.testing.assert_frame_equal(before.summary, after.summary)
    metrics = [m for m in after.summary["metric"].unique() if m in after.samples.columns]
    assert metrics
    pd.testing.assert_frame_equal(before.samples[metrics], after.samples[metrics])
    assert after.manifest is not None and len(after.manifest["rescored"]) == 1
    assert after.manifest["scoring"] == before.manifest["scoring"]  # scored by the run's rules


def test_rescore_uses_the_current_scorers(run_eval, capsys) -> None:
    outcome = run_eval("task=docvqa", "dataset.limit=5")
    path = outcome.run_dir / "samples.parquet"
    table = pq.read_table(path).to_pandas()
    table["prediction"] = [row[0] for row in table["references"]]  # as if the model had been right
    table["anls"] = 0.0  # stale scores from an older scorer
    table.to_parquet(path)
    main(["rescore", str(outcome.run_dir)])
    assert "rescored:" in capsys.readouterr().out
    after = load_run(outcome.run_dir)
    assert (after.samples["anls"] == 1.0).all()
    assert json.loads((outcome.run_dir / "run.json").read_text())["results"]["anls"] == 1.0


def test_rescore_a_folder_that_is_not_a_run(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["rescore", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "is not a finished run folder" in capsys.readouterr().err


def test_rescore_reads_a_format_1_run_folder(run_eval) -> None:
    """A folder written before metrics had parameters (no format_version, vqa_mode on the
    task, no kind column): rescored with the same numbers, written back in format 2."""
    outcome = run_eval("task=textvqa", "dataset.limit=12")
    folder = outcome.run_dir
    before = load_run(folder)
    manifest = json.loads((folder / "run.json").read_text())
    manifest.pop("format_version")
    task = manifest["config"]["task"]
    task["metrics"] = ["vqa_accuracy"]
    task["vqa_mode"], task["anls_threshold"] = "textvqa", 0.5
    task["family"] = task.pop("kind")  # formats 1 and 2 called a task's kind its family
    manifest["family"] = manifest.pop("kind")
    task.pop("parser"), task.pop("group_by")
    manifest["scoring"] = {"metrics": ["vqa_accuracy"], "vqa_mode": "textvqa", "box_format": None}
    (folder / "run.json").write_text(json.dumps(manifest))
    summary = pq.read_table(folder / "summary.parquet")
    summary.drop_columns(["kind", "group_by", "group"]).to_pandas().to_parquet(
        folder / "summary.parquet"
    )
    rescore(folder)
    after = load_run(folder)
    assert after.manifest is not None and after.manifest["format_version"] == 3
    assert after.manifest["kind"] == "vqa" and "family" not in after.manifest
    assert after.manifest["config"]["task"]["kind"] == "vqa"
    assert after.manifest["scoring"]["metrics"][0]["params"] == {"mode": "textvqa"}
    assert "vqa_mode" not in after.manifest["scoring"]
    assert before.summary is not None and after.summary is not None
    pd.testing.assert_frame_equal(before.summary, after.summary)

"""Rescoring a run folder reproduces its summary, without any backend call."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from evalkit import load_run
from evalkit.rescore import main, rescore


@pytest.mark.parametrize("task", ["docvqa", "vqav2", "refcoco", "coco_caption"])
def test_rescore_reproduces_the_summary(run_eval, task: str) -> None:
    outcome = run_eval(f"task={task}", "dataset.limit=20")
    before = load_run(outcome.run_dir)
    rescore(outcome.run_dir)
    after = load_run(outcome.run_dir)
    assert before.summary is not None and after.summary is not None
    pd.testing.assert_frame_equal(before.summary, after.summary)
    metrics = [m for m in after.summary["metric"] if not m.startswith("cost_")]
    pd.testing.assert_frame_equal(before.samples[metrics], after.samples[metrics])
    assert after.manifest is not None and len(after.manifest["rescored"]) == 1


def test_rescore_uses_the_current_scorers(run_eval, capsys) -> None:
    outcome = run_eval("task=docvqa", "dataset.limit=5")
    path = outcome.run_dir / "samples.parquet"
    table = pq.read_table(path).to_pandas()
    table["prediction"] = [row[0] for row in table["references"]]  # as if the model had been right
    table["anls"] = 0.0  # stale scores from an older scorer
    table.to_parquet(path)
    main([str(outcome.run_dir)])
    assert "rescored:" in capsys.readouterr().out
    after = load_run(outcome.run_dir)
    assert (after.samples["anls"] == 1.0).all()
    assert json.loads((outcome.run_dir / "run.json").read_text())["results"]["anls"] == 1.0


def test_rescore_a_folder_that_is_not_a_run(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path)])
    assert exit_info.value.code == 2
    assert "is not a finished run folder" in capsys.readouterr().err

"""Several splits in one run (``dataset.splits``): RefCOCO's breakdown in one summary."""

from __future__ import annotations

import pandas as pd
import pytest

from evalkit import load_run
from evalkit.errors import ConfigError
from evalkit.run.rescore import rescore

SPLITS = ["val", "testA", "testB"]


def _overall(summary: pd.DataFrame, metric: str) -> float:
    [row] = summary[(summary["metric"] == metric) & summary["group_by"].isna()]["value"]
    return float(row)


def test_each_split_is_a_summary_group_scored_as_its_own_run(run_eval) -> None:
    run = load_run(run_eval("task=refcoco", "dataset.splits=[val,testA,testB]",
                            "dataset.limit=12").run_dir)  # fmt: skip
    samples, summary = run.samples, run.summary
    assert summary is not None
    assert list(dict.fromkeys(samples["split"])) == SPLITS  # in order
    assert (samples["split"].value_counts() == 12).all()  # dataset.limit applies to each
    pairs = zip(samples["sample_id"], samples["split"], strict=True)
    assert all(i.startswith(f"{s}/") for i, s in pairs)
    by_split = summary[(summary["metric"] == "acc_iou50") & (summary["group_by"] == "split")]
    assert sorted(by_split["group"]) == sorted(SPLITS)  # groups are listed sorted
    for split in SPLITS:  # a split's row is what a run of that split alone reports
        alone = load_run(run_eval("task=refcoco", f"dataset.split={split}",
                                  "dataset.limit=12").run_dir)  # fmt: skip
        assert alone.summary is not None
        [value] = by_split[by_split["group"] == split]["value"]
        assert value == pytest.approx(_overall(alone.summary, "acc_iou50"))
        assert list(alone.samples["prediction"]) == list(
            samples[samples["split"] == split]["prediction"])  # fmt: skip
    assert _overall(summary, "acc_iou50") == pytest.approx(samples["acc_iou50"].mean())

    assert run.manifest is not None
    data = run.manifest["dataset"]
    assert data["split"] == "val+testA+testB"
    assert [s["split"] for s in data["splits"]] == SPLITS
    assert data["samples"] == 36
    assert run.manifest["scoring"]["group_by"][0] == "split"


def test_a_rescore_keeps_the_split_groups(run_eval) -> None:
    outcome = run_eval("task=refcoco", "dataset.splits=[val,testB]", "dataset.limit=5")
    before = load_run(outcome.run_dir).summary
    rescore(outcome.run_dir)
    after = load_run(outcome.run_dir).summary
    assert before is not None and after is not None
    cols = ["metric", "group_by", "group", "value", "n"]
    assert after[cols].to_dict("records") == before[cols].to_dict("records")
    assert set(after["group"].dropna()) >= {"val", "testB"}


def test_the_report_finds_each_splits_images(run_eval) -> None:
    from evalkit.page.images import sample_images
    from evalkit.runfolder import read_run

    outcome = run_eval("task=refcoco", "dataset.splits=[testA,testB]", "dataset.limit=2")
    ids = list(load_run(outcome.run_dir).samples["sample_id"])
    found, note = sample_images(read_run(outcome.run_dir), ids)
    assert note is None and sorted(found) == sorted(ids)


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        (["dataset.split=val"], "give dataset.split or dataset.splits, not both"),
        (["dataset=local", "dataset.path=x.parquet"], "a local source is one set of files"),
        ([], "names a split twice"),
    ],
)
def test_splits_that_cannot_be_read_together_are_one_line(
    run_eval, overrides: list[str], said: str
) -> None:
    splits = "dataset.splits=[val,val]" if not overrides else "dataset.splits=[val,testA]"
    with pytest.raises(ConfigError, match=said):
        run_eval("task=refcoco", splits, *overrides)
    with pytest.raises(ConfigError, match="split"):  # a split the bundled sample lacks
        run_eval("task=refcoco", "dataset.splits=[val,nope]")


def test_the_printed_table_shows_each_split(cli) -> None:
    proc = cli("task=refcoco", "dataset.splits=[val,testA]", "dataset.limit=2")
    assert proc.returncode == 0, proc.stderr
    assert "acc_iou50 [split=testA]" in proc.stdout and "acc_iou50 [split=val]" in proc.stdout
    single = cli("task=refcoco", "dataset.limit=2")
    assert "[split=" not in single.stdout  # one split: the overall rows alone, as before

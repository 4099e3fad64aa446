"""Deterministic shards and ``evalkit merge``: the parts of a run make the whole run again."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from evalkit.errors import ConfigError
from evalkit.run.merge import merge
from evalkit.run.pipeline import RunOutcome
from evalkit.runfolder.positions import POSITIONS_NAME
from evalkit.testing.fake_server import FakeVLMServer
from tests.conftest import main_in_process

HOW_FETCHED = {"run_id", "latency_s", "ttft_s", "cache_hit", "attempts", "batch_size"}
"""What may differ between a merged run and the plain run: how each answer was fetched."""

RunEval = Callable[..., RunOutcome]


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def assert_same_run(merged: Path, plain: Path, *, runner: bool = False) -> None:
    """Row for row, metric for metric (1e-9), and the same totals in run.json.

    ``runner``: the merged run ran on another runner (its config and overrides say so).
    """
    rows = pq.read_table(merged / "samples.parquet").to_pylist()
    whole = pq.read_table(plain / "samples.parquet").to_pylist()
    assert [r["sample_id"] for r in rows] == [r["sample_id"] for r in whole]
    assert pq.read_schema(merged / "samples.parquet") == pq.read_schema(plain / "samples.parquet")
    for row, other in zip(rows, whole, strict=True):
        differ = [k for k in row if k not in HOW_FETCHED and not _close(row[k], other[k])]
        assert not differ, (row["sample_id"], {k: (row[k], other[k]) for k in differ})
    summary = pq.read_table(merged / "summary.parquet").drop(["run_id"]).to_pylist()
    plain_summary = pq.read_table(plain / "summary.parquet").drop(["run_id"]).to_pylist()
    assert len(summary) == len(plain_summary)
    for row, other in zip(summary, plain_summary, strict=True):
        assert all(_close(row[k], other[k]) for k in row), (row, other)
    a, b = (json.loads((d / "run.json").read_text()) for d in (merged, plain))
    for key in ("task", "results", "counts", "usage", "scoring", "overrides", "config"):
        if runner and key in ("overrides", "config"):  # how and where it ran may differ
            free = ("runner", "results_dir", "report")
            a[key], b[key] = (
                [o for o in x if not o.startswith(free)] if key == "overrides"
                else {k: v for k, v in x.items() if k not in free} for x in (a[key], b[key])
            )  # fmt: skip
        assert _close(a[key], b[key]) if key == "results" else a[key] == b[key], key
    assert {k: v for k, v in a["dataset"].items()} == b["dataset"]
    assert a["aborted"] is None and a["shard"] is None
    made = ("evalkit.log", ".hydra", "shards")  # by the command line, or kept on request

    def ours(name: str) -> bool:  # and the log of each server started (one per Ray worker)
        return name not in made and not (name.startswith("server") and name.endswith(".log"))

    files = [sorted(p.name for p in d.iterdir() if ours(p.name)) for d in (merged, plain)]
    assert files[0] == files[1]


def _shards(run_eval: RunEval, count: int, *overrides: str) -> list[Path]:
    return [run_eval(*overrides, f"shard.count={count}", f"shard.index={k}").run_dir
            for k in range(count)]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        (("task=vqav2",), "contiguous"),
        pytest.param(
            ("task=vqav2", "task.fewshot.k=2"), "contiguous", marks=pytest.mark.slow
        ),  # a second contiguous case: make test-all
        (("task=coco_karpathy", "dataset.limit=24"), "contiguous"),  # CIDEr's document
        # frequencies, BLEU and METEOR over the whole corpus
        (("task=mmbench_en",), "contiguous"),  # a question's circular passes in other shards
        (("task=ocrvqa",), "round-robin"),  # a row becomes several questions
        pytest.param(
            ("task=ai2d", "task.circular=true"), "round-robin", marks=pytest.mark.slow
        ),  # evalkit's own rotation: make test-all
        (("task=seedbench",), "round-robin"),  # dataset.where: the kept rows unknown ahead
    ],
    ids=["vqav2", "fewshot", "captions", "mmbench-passes", "exploded", "rotation", "filtered"],
)
def test_merged_shards_are_the_whole_run(
    run_eval: RunEval, server: FakeVLMServer, tmp_path: Path, overrides: tuple[str, ...],
    rule: str,
) -> None:  # fmt: skip
    server.vary = True  # answers differ by request, so every score is not the same
    api = ("backend=openai", f"backend.base_url={server.openai_url}", "backend.model=m",
           "report.bootstrap=200")  # fmt: skip
    shards, asked = [], []
    for k in range(3):  # a part asks for its own samples only
        before = len(server.received)
        shards.append(run_eval(*overrides, *api, "shard.count=3", f"shard.index={k}").run_dir)
        asked.append(len(server.received) - before)
    fresh = [pq.read_table(s / "samples.parquet", columns=["cache_hit"]).column(0).to_pylist()
             for s in shards]  # fmt: skip
    assert asked == [hits.count(False) for hits in fresh] and min(asked) > 0
    sent = len(server.received)
    records = [json.loads((s / "run.json").read_text())["shard"] for s in shards]
    assert {r["rule"] for r in records} == {rule} and [r["index"] for r in records] == [0, 1, 2]
    plain = run_eval(*overrides, *api).run_dir
    assert len(server.received) == sent  # the shards' answers are the plain run's: none sent
    merged = merge(shards, tmp_path / "merged")
    assert merged.missing == [] and merged.incomplete is None
    assert_same_run(merged.run_dir, plain)
    record = json.loads((merged.run_dir / "run.json").read_text())
    assert [s["index"] for s in record["shards"]] == [0, 1, 2]
    assert sum(s["samples"] for s in record["shards"]) == merged.n_samples


def _local_rows(tmp_path: Path, ids: list[str]) -> tuple[Path, Path]:
    """A JSON-lines copy of vqav2's sample without images (its size unknown before reading),
    with the ids given, and a predictions file for ``backend=replay``."""
    from evalkit.resources import sample_data_dir

    rows = pq.read_table(sample_data_dir() / "vqav2" / "validation.parquet").to_pylist()
    data = tmp_path / "data.jsonl"
    with data.open("w") as out:
        for row, sample_id in zip(rows, ids, strict=False):
            row = {k: v for k, v in row.items() if k != "image"}
            out.write(json.dumps({**row, "question_id": sample_id}) + "\n")
    predictions = tmp_path / "predictions.jsonl"
    with predictions.open("w") as out:
        for k, sample_id in enumerate(dict.fromkeys(ids)):
            out.write(json.dumps({"sample_id": sample_id, "prediction": ["yes", "2", "no"][k % 3]})
                      + "\n")  # fmt: skip
    return data, predictions


def test_round_robin_shards_of_a_stream_with_a_repeated_id(
    run_eval: RunEval, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [f"q{k}" for k in range(23)]
    ids[17] = "q4"  # a repeated id: an error row in the whole run, and in its shard
    data, predictions = _local_rows(tmp_path, ids)
    setup = ("task=vqav2", "dataset=local", f"dataset.path={data}", "backend=replay",
             f"backend.predictions={predictions}", "limits.max_error_rate=null")  # fmt: skip
    shards = _shards(run_eval, 2, *setup)
    records = [json.loads((s / "run.json").read_text())["shard"] for s in shards]
    assert [r["rule"] for r in records] == ["round-robin"] * 2 and records[0]["units"] is None
    # rows 0, 2, 4, ... and 1, 3, 5, ...: 12 and 11 samples
    assert [pq.read_metadata(s / "samples.parquet").num_rows for s in shards] == [12, 11]
    assert "match no sample" not in caplog.text  # the other shard's predictions are matched there
    plain = run_eval(*setup).run_dir
    merged = merge(shards, tmp_path / "merged")
    assert_same_run(merged.run_dir, plain)
    rows = pq.read_table(merged.run_dir / "samples.parquet").to_pylist()
    assert rows[17]["sample_id"] == "q4~dup17" and rows[17]["error_type"] == "DataError"


def test_a_shard_with_no_sample_is_still_a_part(run_eval: RunEval, tmp_path: Path) -> None:
    shards = _shards(run_eval, 3, "task=vqav2", "dataset.limit=2")
    assert [pq.read_metadata(s / "samples.parquet").num_rows for s in shards] == [0, 1, 1]
    plain = run_eval("task=vqav2", "dataset.limit=2").run_dir
    assert_same_run(merge(shards, tmp_path / "merged").run_dir, plain)


@pytest.fixture
def three_shards(run_eval: RunEval) -> list[Path]:
    return _shards(run_eval, 3, "task=docvqa", "dataset.limit=9")


def test_merge_refuses_what_is_not_one_run(
    run_eval: RunEval, three_shards: list[Path], tmp_path: Path
) -> None:
    other = run_eval("task=docvqa", "dataset.limit=10", "shard.count=3", "shard.index=2").run_dir
    plain = run_eval("task=docvqa", "dataset.limit=9").run_dir
    task = run_eval("task=vqav2", "dataset.limit=9", "shard.count=3", "shard.index=2").run_dir
    cut = run_eval("task=docvqa", "dataset.limit=9", "shard.count=2", "shard.index=1").run_dir
    a, b, _ = three_shards
    cases = {
        "different tasks": [a, task],
        "shards of different cuts": [a, cut],
        "different configurations: dataset.limit": [a, b, other],
        "is not a shard": [a, plain],
        "is given twice": [a, a],
    }
    for message, given in cases.items():
        with pytest.raises(ConfigError, match=message):
            merge(given, tmp_path / "out")
    twin = tmp_path / "twin"
    shutil.copytree(b, twin)
    with pytest.raises(ConfigError, match="shard 1 is given twice"):
        merge([a, b, twin], tmp_path / "out")
    record = json.loads((twin / "run.json").read_text())
    record["shard"]["index"] = 2  # b's rows, claiming to be part 2
    (twin / "run.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match=r"sample '\d+' is in two shards"):
        merge([a, b, twin], tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-made is left


def test_merge_refuses_an_unfinished_shard_and_a_taken_folder(
    three_shards: list[Path], tmp_path: Path
) -> None:
    a, b, c = three_shards
    (c / "run.json").rename(c / "run.partial.json")
    with pytest.raises(ConfigError, match="did not finish.*run that shard again"):
        merge([a, b, c], tmp_path / "out")
    (c / "run.partial.json").rename(c / "run.json")
    (c / POSITIONS_NAME).unlink()
    with pytest.raises(ConfigError, match="no positions.parquet"):
        merge([a, b, c], tmp_path / "out")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x").write_text("")
    with pytest.raises(ConfigError, match="exists: give merge a new folder"):
        merge([a, b], taken)


def test_merge_of_missing_shards_is_marked_incomplete_and_fails(
    capsys: pytest.CaptureFixture[str], three_shards: list[Path], tmp_path: Path
) -> None:
    a, _, c = three_shards
    out = tmp_path / "merged"
    proc = main_in_process(capsys, tmp_path, "merge", str(a), str(c), "-o", str(out))
    assert proc.returncode == 2  # as a run that failed: the folder is kept, marked
    assert "shard 1 of 3 is missing" in proc.stderr and f"results: {out}" in proc.stdout
    record = json.loads((out / "run.json").read_text())
    assert record["aborted"].startswith("incomplete merge: shard 1 of 3 is missing")
    assert record["counts"]["samples"] == 6 and [s["index"] for s in record["shards"]] == [0, 2]
    # a folder of shards is read as its shards
    proc = main_in_process(capsys, tmp_path, "merge", str(a.parent), "-o", str(tmp_path / "all"))
    assert proc.returncode == 0, proc.stderr
    assert "shards: 3 of 3" in proc.stdout


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("shard.count=2", "shard.index=2"), "shard.index=2 is not a part of shard.count=2"),
        (("shard.count=0",), "shard.count must be >= 1"),
        (("shard.index=-1",), "shard.index must be >= 0"),
    ],
)
def test_a_wrong_shard_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, overrides: tuple[str, ...], message: str
) -> None:
    proc = main_in_process(capsys, tmp_path, "task=docvqa", *overrides)
    assert proc.returncode == 2 and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1

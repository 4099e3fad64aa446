"""A run folder belongs to one process: claimed atomically, whatever the clock says."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.cli import claim_run_dir


def _claim_after(barrier: Any, target: Path, out: Any) -> None:
    barrier.wait()  # every process asks for the same name at the same moment
    out.put(str(claim_run_dir(target)))


def test_claims_from_processes_released_together_are_distinct(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(8), ctx.Queue()
    target = tmp_path / "results" / "same"
    procs = [ctx.Process(target=_claim_after, args=(barrier, target, out)) for _ in range(8)]
    for proc in procs:
        proc.start()
    claimed = [out.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert sorted(claimed) == sorted(str(target.with_name(n)) for n in
                                     ["same", *(f"same-{k}" for k in range(2, 9))])  # fmt: skip


def test_processes_started_together_never_share_a_folder(tmp_path: Path) -> None:
    # every process is told the same folder name, as the clock does within one second
    fixed = tmp_path / "results" / "same"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "evalkit", "task=docvqa", f"backend.model=m{i}",
             f"backend.answer=answer-{i}", f"hydra.run.dir={fixed}",
             f"results_dir={tmp_path / 'results'}", "report.progress=false"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env,
        )
        for i in range(4)
    ]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    folders = [tmp_path / out.strip().splitlines()[-1].removeprefix("results: ") for out, _ in outs]
    assert len(set(folders)) == 4
    assert {f.name for f in folders} == {"same", "same-2", "same-3", "same-4"}
    for i, folder in enumerate(folders):
        manifest = json.loads((folder / "run.json").read_text())
        rows = pd.read_parquet(folder / "samples.parquet")
        assert manifest["backend"]["model"] == f"m{i}"
        assert set(rows["model"]) == {f"m{i}"}
        assert set(rows["prediction"]) == {f"answer-{i}"}
        assert len(rows) == manifest["counts"]["samples"] == 60
        assert not (folder / "samples.arrows").exists()


def test_an_existing_empty_folder_is_not_taken(cli, tmp_path: Path) -> None:
    fixed = tmp_path / "results" / "mine"
    fixed.mkdir(parents=True)
    (fixed / "notes.txt").write_text("the user's own file")
    proc = cli("task=docvqa", "dataset.limit=2", f"hydra.run.dir={fixed}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("results: results/mine-2")
    assert sorted(p.name for p in fixed.iterdir()) == ["notes.txt"]


def test_two_sweeps_in_one_second_get_their_own_folders(cli, tmp_path: Path) -> None:
    sweep = tmp_path / "results" / "sweep"
    first = cli("-m", "task=docvqa", "dataset.limit=2", f"hydra.sweep.dir={sweep}")
    second = cli("-m", "task=docvqa", "dataset.limit=3", f"hydra.sweep.dir={sweep}")
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    one = pd.read_parquet(next(sweep.glob("0-*")) / "samples.parquet")
    two = pd.read_parquet(next((tmp_path / "results" / "sweep-2").glob("0-*")) / "samples.parquet")
    assert (len(one), len(two)) == (2, 3)
    assert (sweep / "multirun.yaml").exists() and (
        sweep.with_name("sweep-2") / "multirun.yaml"
    ).exists()

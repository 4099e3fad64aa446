"""Loading many runs for analysis, and comparing two large runs.

``load_runs`` over 100 run folders (a 500-sample DocVQA run copied 100 times, each with its own
``run.json``) reading the two columns a question needs, against the obvious pandas code (read
every ``samples.parquet`` whole, ``pd.concat``, read every ``run.json``). And ``evalkit compare``
as a whole process on two 5,000-sample runs (one run's rows, answered right, and a copy with
every 40th answer wrong), against the goal of a CI step that takes seconds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _make_run(folder: Path, n: int) -> Path:
    """A run folder made the way a run makes it (baseline backend), on an n-sample local set."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sample = pq.read_table(ROOT / "evalkit" / "sample_data" / "docvqa" / "validation.parquet")
    rows = sample.to_pylist()
    data = [dict(rows[i % len(rows)], questionId=str(100_000 + i)) for i in range(n)]
    path = folder / f"data-{n}.parquet"
    pq.write_table(pa.Table.from_pylist(data, schema=sample.schema), path)
    out = subprocess.run(
        [sys.executable, "-m", "evalkit", "task=docvqa", "dataset=local", f"dataset.path={path}",
         "backend.answer=Yuki Sato", "report.progress=false", "report.bootstrap=0",
         "cache.mode=off", f"results_dir={folder / 'results'}"],
        capture_output=True, text=True, check=True, cwd=folder,
    )  # fmt: skip
    line = next(x for x in out.stdout.splitlines() if x.startswith("results: "))
    return folder / line.removeprefix("results: ")


def _answered(run: Path, where: Path, wrong_every: int) -> Path:
    """A copy of ``run`` whose answers are its references (every ``wrong_every``-th wrong)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    shutil.copytree(run, where)
    table = pq.read_table(where / "samples.parquet")
    refs = table.column("references").to_pylist()
    answers = ["zz" if wrong_every and i % wrong_every == 0 else r[0] for i, r in enumerate(refs)]
    scores = [0.0 if a == "zz" else 1.0 for a in answers]
    for name, values in (("prediction", answers), ("parsed", answers), ("anls", scores)):
        at = table.schema.get_field_index(name)
        table = table.set_column(
            at, table.schema.field(at), pa.array(values, table.schema.field(at).type)
        )
    pq.write_table(table, where / "samples.parquet")
    return where


def _copies(run: Path, where: Path, count: int) -> Path:
    for i in range(count):
        target = where / f"run-{i:03d}"
        shutil.copytree(run, target)
        manifest = json.loads((target / "run.json").read_text())
        manifest["run_id"] = f"{manifest['run_id']}-{i}"
        (target / "run.json").write_text(json.dumps(manifest))
    return where


def _naive(folder: Path) -> float:
    import pandas as pd

    start = time.perf_counter()
    frames = [pd.read_parquet(p) for p in sorted(folder.rglob("samples.parquet"))]
    samples = pd.concat(frames, ignore_index=True)
    runs = [json.loads(p.read_text()) for p in sorted(folder.rglob("run.json"))]
    assert len(runs) == 100 and len(samples) > 0
    return time.perf_counter() - start


def run(quick: bool = False) -> list[dict[str, Any]]:
    from evalkit.analysis import load_runs

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        one = _make_run(folder, 100 if quick else 500)
        many = _copies(one, folder / "many", 100)
        _naive(many)  # warm the page cache for both
        naive = min(_naive(many) for _ in range(3))
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            tables = load_runs(many, columns=["anls", "latency_s"])
            timings.append(time.perf_counter() - start)
        ours = min(timings)
        assert len(tables.runs) == 100
        rows.append({"bench": f"load_runs 100 runs x{len(tables.samples) // 100}, 2 columns",
                     "evalkit_s": ours, "throughput": f"read everything with pandas: {naive:.2f}s",
                     "goal": "< 1 s; faster than pandas", "ratio": naive / ours})  # fmt: skip

        n = 1000 if quick else 5000
        made = _make_run(folder, n)
        base, cand = _answered(made, folder / "base", 0), _answered(made, folder / "cand", 40)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "evalkit", "compare", str(base), str(cand),
                               "--fail-on-drop"], capture_output=True, text=True, cwd=folder)  # fmt: skip
        wall = time.perf_counter() - start
        assert proc.returncode in (0, 1), proc.stderr
        rows.append({"bench": f"evalkit compare x{n} (whole process)", "evalkit_s": wall,
                     "throughput": f"exit {proc.returncode}", "goal": "<= 5 s",
                     "ratio": 5.0 / wall})  # fmt: skip
    return rows

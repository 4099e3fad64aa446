"""Run every bundled task in two checkouts and compare their run folders.

``python scripts/same_run_folders.py OLD_CHECKOUT NEW_CHECKOUT OUT_DIR``: each task runs offline
on its bundled sample with the baseline backend, once with each checkout's code; then
``samples.parquet`` and ``summary.parquet`` must be equal apart from run ids and latencies, and
``run.json`` apart from times, ids, versions, the cache record and the checkouts' own paths.
The behaviour check of a restructuring (issue #22). Exit status 1 when a folder differs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

VOLATILE = {"run_id", "timing", "versions", "format_version", "cache", "rescored"}
RENAMED = {"family": "kind"}
"""Keys renamed between formats (format 3: a task's family is its kind)."""


def run(root: Path, task: str, out: Path) -> Path:
    """One offline run of ``task`` with the code of the checkout ``root``; its folder."""
    results = out / root.name / task
    offline = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    env = {**os.environ, **offline, "XDG_CACHE_HOME": str(out / root.name / "xdg")}
    cmd = [sys.executable, "-m", "evalkit", f"task={task}", f"results_dir={results}",
           "report.progress=false", "report.bootstrap=200"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{root} {task}: {proc.stderr.strip().splitlines()[-1]}")
    return next(results.rglob("run.json")).parent


def clean(value: Any) -> Any:
    """``value`` without volatile keys, renamed keys under their new names."""
    if isinstance(value, dict):
        return {RENAMED.get(k, k): clean(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def differences(a: Path, b: Path, old: Path, new: Path, out: Path) -> list[str]:
    """What differs between the run folders ``a`` (old checkout) and ``b`` (new)."""
    found = []
    for name in ("samples.parquet", "summary.parquet"):
        fa, fb = pd.read_parquet(a / name), pd.read_parquet(b / name)
        drop = [c for c in ("run_id", "latency_s", "ttft_s") if c in fa]
        try:
            pd.testing.assert_frame_equal(fa.drop(columns=drop), fb.drop(columns=drop))
        except AssertionError as exc:
            found.append(f"{name}: {str(exc).splitlines()[0]}")
    text = (a / "run.json").read_text().replace(str(out / old.name), str(out / new.name))
    ma, mb = (
        clean(json.loads(text.replace(str(old), str(new)))),
        clean(json.loads((b / "run.json").read_text())),
    )
    found += [f"run.json: {key}" for key in sorted(set(ma) | set(mb)) if ma.get(key) != mb.get(key)]
    return found


def main() -> None:
    old, new, out = (Path(p).resolve() for p in sys.argv[1:4])
    tasks = sorted(p.stem for p in (new / "tasks").glob("*/*.yaml"))
    failed = 0
    for task in tasks:
        found = differences(run(old, task, out), run(new, task, out), old, new, out)
        failed += bool(found)
        print(f"{task}: {'; '.join(found) if found else 'same'}")
    print(f"{len(tasks)} tasks, {failed} with differences")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

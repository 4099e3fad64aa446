"""SIGINT and SIGTERM stop a run cleanly: sealed folder, exit 130, and a rerun sends only the rest."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evalkit import load_run
from evalkit.testing.fake_server import FakeVLMServer


def _stored(cache: Path) -> int:
    try:
        with sqlite3.connect(cache) as db:
            return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _start(
    server: FakeVLMServer, tmp_path: Path, cache: Path
) -> tuple[list[str], subprocess.Popen[str]]:
    cmd = [sys.executable, "-m", "evalkit", "task=vqav2", "backend=openai",
           f"backend.base_url={server.openai_url}", "backend.model=m", "backend.api_key_env=null",
           f"cache.path={cache}", "limits.concurrency=2", f"results_dir={tmp_path / 'results'}",
           "report.progress=false"]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    return cmd, proc


def _wait_for(cache: Path, n: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _stored(cache) < n:
        time.sleep(0.05)


@pytest.mark.parametrize(
    "sig",
    [signal.SIGINT, pytest.param(signal.SIGTERM, marks=pytest.mark.slow)],  # alike: make test-all
    ids=["SIGINT", "SIGTERM"],
)
def test_a_signal_seals_the_run_and_the_rerun_resumes(
    server: FakeVLMServer, tmp_path: Path, sig: signal.Signals
) -> None:
    server.vary = True
    server.latency_s = 0.1
    cache = tmp_path / "c.sqlite"
    cmd, proc = _start(server, tmp_path, cache)
    _wait_for(cache, 6)
    proc.send_signal(sig)
    started = time.monotonic()
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 5  # in-flight answers get a few seconds, not more
    assert proc.returncode == 130, err
    line = [ln for ln in err.splitlines() if ln.startswith("evalkit: interrupted: ")]
    assert len(line) == 1 and f"{sig.name}: " in line[0] and "run the same command again" in line[0]
    [run_dir] = [p.parent for p in (tmp_path / "results").rglob("run.json")]
    assert (run_dir / "samples.parquet").exists() and not (run_dir / "samples.arrows").exists()
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["interrupted"] == sig.name
    first = load_run(run_dir).samples
    stored = _stored(cache)
    assert 6 <= len(first) < 60 and stored >= len(first)  # every recorded answer was cached
    assert first["error_type"].isna().all()  # nothing in flight became an error row

    before = len(server.received)
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(server.received) - before == 60 - stored  # only the missing requests
    resumed = load_run(tmp_path / done.stdout.strip().splitlines()[-1].removeprefix("results: "))
    assert len(resumed.samples) == 60 and resumed.samples["cache_hit"].sum() == stored


def test_a_second_signal_exits_at_once(server: FakeVLMServer, tmp_path: Path) -> None:
    server.latency_s = 0.5
    server.faults.clear()
    cache = tmp_path / "c.sqlite"
    _, proc = _start(server, tmp_path, cache)
    _wait_for(cache, 2)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)  # the first is being handled: in-flight requests still have 0.3 s to go
    server.latency_s = 30  # from now on nothing would arrive within the grace period
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 2
    assert proc.returncode == 130
    assert "SIGINT again: exiting now" in err
    # the folder is left unsealed, and says so; rescore seals what was recorded
    [run_dir] = [p.parent for p in (tmp_path / "results").rglob("run.partial.json")]
    assert f"evalkit rescore {run_dir} seals them" in err
    assert not (run_dir / "run.json").exists() and (run_dir / "samples.arrows").exists()
    sealed = subprocess.run([sys.executable, "-m", "evalkit", "rescore", str(run_dir)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)  # fmt: skip
    assert sealed.returncode == 0, sealed.stderr
    assert not (run_dir / "samples.arrows").exists() and not (run_dir / "run.partial.json").exists()
    run = load_run(run_dir)
    assert run.manifest is not None and "ended without sealing" in run.manifest["aborted"]
    assert run.manifest["counts"]["samples"] == len(run.samples)
    assert run.manifest["results"]["vqa_accuracy"] is not None or len(run.samples) == 0
    assert (run_dir / "summary.parquet").exists()

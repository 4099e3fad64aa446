"""The response cache in whole runs: reruns send nothing, a killed run resumes exactly."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from evalkit import load_run
from evalkit.testing.fake_server import FakeVLMServer

from ..conftest import main_here, results_of

COLS = ["sample_id", "prediction", "parsed", "vqa_accuracy", "input_tokens", "output_tokens"]


def _args(server: FakeVLMServer, cache: Path) -> list[str]:
    return ["task=vqav2", "backend=openai", f"backend.base_url={server.openai_url}", "backend.model=m",
            "backend.api_key_env=null", f"cache.path={cache}"]  # fmt: skip


def test_repeated_run_sends_nothing(run_eval, server: FakeVLMServer, tmp_path: Path) -> None:
    server.vary = True
    first = load_run(run_eval(*_args(server, tmp_path / "c.sqlite")).run_dir)
    assert len(server.received) == 60 and not first.samples["cache_hit"].any()
    second_outcome = run_eval(*_args(server, tmp_path / "c.sqlite"))
    second = load_run(second_outcome.run_dir)
    assert len(server.received) == 60  # not one more request
    assert second.samples["cache_hit"].all()
    pd.testing.assert_frame_equal(first.samples[COLS], second.samples[COLS])
    assert second.manifest is not None
    cache = second.manifest["cache"]
    assert (cache["hits"], cache["misses"]) == (60, 0)
    assert cache["saved_tokens"]["input_tokens"] == 6000


def test_refresh_and_off_modes(run_eval, server: FakeVLMServer, tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    run_eval(*_args(server, path), "dataset.limit=5")
    run_eval(*_args(server, path), "dataset.limit=5", "cache.mode=refresh")
    assert len(server.received) == 10  # refresh asks again (and rewrites the entries)
    run_eval(*_args(server, tmp_path / "other.sqlite"), "dataset.limit=5", "cache.mode=off")
    assert len(server.received) == 15 and not (tmp_path / "other.sqlite").exists()


def test_failures_are_not_cached(run_eval, server: FakeVLMServer, tmp_path: Path) -> None:
    from evalkit.testing.fake_server import Fault

    server.faults.append(
        Fault(400, body=b'{"error": {"message": "refused", "code": "DataInspectionFailed"}}')
    )
    run_eval(*_args(server, tmp_path / "c.sqlite"), "dataset.limit=3", "limits.concurrency=1")
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 2


@pytest.mark.parametrize(  # the first and last moments are in make test-all
    "kill_after",
    [pytest.param(3, marks=pytest.mark.slow), 25, pytest.param(40, marks=pytest.mark.slow)],
)
def test_kill_9_then_resume_sends_exactly_the_missing_requests(
    server: FakeVLMServer, tmp_path: Path, kill_after: int
) -> None:
    server.vary = True
    server.latency_s = 0.05
    cache = tmp_path / "c.sqlite"
    cmd = [sys.executable, "-m", "evalkit", *_args(server, cache), "limits.concurrency=2",
           f"results_dir={tmp_path / 'results'}", "report.progress=false"]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and stored < kill_after:
        time.sleep(0.05)
        if cache.exists():
            try:
                with sqlite3.connect(cache) as db:
                    stored = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
            except sqlite3.OperationalError:
                pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(cache) as db:
        stored = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    assert kill_after <= stored < 60
    before = len(server.received)
    # the killed process was a real one; resuming its folder and cache can be done here
    done = main_here(*cmd[3:], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(server.received) - before == 60 - stored  # exactly the missing ones
    resumed = load_run(results_of(done, tmp_path))
    assert resumed.samples["cache_hit"].sum() == stored
    # the same run without a cache: same predictions, scores and usage
    fresh = main_here(*cmd[3:], "cache.mode=off", cwd=tmp_path)
    uninterrupted = load_run(results_of(fresh, tmp_path))
    pd.testing.assert_frame_equal(resumed.samples[COLS], uninterrupted.samples[COLS])
    assert resumed.summary is not None and uninterrupted.summary is not None
    pd.testing.assert_frame_equal(
        resumed.summary.drop(columns="run_id"), uninterrupted.summary.drop(columns="run_id")
    )


def test_no_secret_in_the_cache(
    run_eval, server: FakeVLMServer, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("EVALKIT_SECRET_KEY", "sk-live-DO-NOT-STORE")
    args = [
        a for a in _args(server, tmp_path / "c.sqlite") if not a.startswith("backend.api_key_env")
    ]
    outcome = run_eval(*args, "backend.api_key_env=EVALKIT_SECRET_KEY", "dataset.limit=3")
    assert server.received[0].headers["Authorization"] == "Bearer sk-live-DO-NOT-STORE"
    for path in [tmp_path / "c.sqlite", *Path(outcome.run_dir).rglob("*")]:
        if path.is_file():
            assert b"sk-live-DO-NOT-STORE" not in path.read_bytes(), path


def test_sampled_answers_are_never_stored(run_eval, server: FakeVLMServer, tmp_path: Path) -> None:
    """At temperature > 0 each run asks again: a cached sample would be one draw forever."""
    path = tmp_path / "c.sqlite"
    args = [*_args(server, path), "dataset.limit=4", "backend.temperature=0.7"]
    first = load_run(run_eval(*args).run_dir)
    second = load_run(run_eval(*args).run_dir)
    assert len(server.received) == 8
    assert not first.samples["cache_hit"].any() and not second.samples["cache_hit"].any()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 0

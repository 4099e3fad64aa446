"""``runner=ray``: the run's shards on Ray workers, merged into one folder equal to a plain run's.

One local Ray instance serves the module (started once: seconds and a few hundred MB); the
runs join it as a run given ``runner.address`` would.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from evalkit.run.pipeline import RunOutcome
from evalkit.testing.fake_server import FakeVLMServer
from tests.conftest import ROOT, compose_run, main_in_process
from tests.run.test_shards import assert_same_run

pytestmark = [
    pytest.mark.skipif(find_spec("ray") is None, reason="needs Ray: pip install -e '.[ray]'"),
    pytest.mark.slow,  # a Ray instance, its workers and two tiny torch replicas: make test-all
]

RunEval = Callable[..., RunOutcome]


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[Any]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level=logging.WARNING)  # fmt: skip
    yield ray
    ray.shutdown()


def _on_ray(tmp_path: Path, name: str, *overrides: str) -> Path:
    from evalkit.run.on_ray import run_on_ray

    given = ["runner=ray", *overrides]  # recorded as run_eval records them: quiet unsaid
    run_dir = tmp_path / name
    run_dir.mkdir()
    run_on_ray(compose_run(["report.progress=false", "report.table=false", *given]), run_dir,
               overrides=given)  # fmt: skip
    return run_dir


def _record(run_dir: Path) -> dict[str, Any]:
    return dict(json.loads((run_dir / "run.json").read_text()))


def test_two_workers_write_the_plain_run_though_one_is_killed(
    ray_instance: Any, run_eval: RunEval, server: FakeVLMServer, tmp_path: Path
) -> None:
    server.vary, server.latency_s = True, 0.05
    api = ("task=vqav2", "backend=openai", f"backend.base_url={server.openai_url}",
           "backend.model=m", "limits.concurrency=2", "dataset.limit=40")  # fmt: skip
    errors: list[BaseException] = []

    def drive() -> None:
        try:
            _on_ray(tmp_path, "ray", *api, "runner.workers=2", "runner.shards=4")
        except BaseException as exc:  # noqa: BLE001 (raised again below, in the test)
            errors.append(exc)

    driver = threading.Thread(target=drive)
    driver.start()
    victim = None
    deadline = time.monotonic() + 60
    while victim is None and time.monotonic() < deadline:
        time.sleep(0.02)
        for partial in (tmp_path / "ray" / "shards").glob("*/run.partial.json"):
            if len(server.received) >= 6:
                victim = json.loads(partial.read_text())["shard"]["worker"]
                break
    assert victim is not None and victim != os.getpid()
    os.kill(victim, signal.SIGKILL)  # a worker, mid-shard
    driver.join(timeout=120)
    assert not driver.is_alive() and not errors, errors
    on_ray = tmp_path / "ray"
    record = _record(on_ray)
    assert record["runner"]["name"] == "ray" and record["runner"]["workers"] == 2
    assert [s["index"] for s in record["shards"]] == [0, 1, 2, 3]
    assert len({s["worker"] for s in record["shards"]}) >= 2  # asked from worker processes
    assert max(s["attempts"] for s in record["shards"]) >= 2  # the lost shard was run again
    assert not (on_ray / "shards").exists()  # merged, then gone
    sent = len(server.received)
    assert sent <= 40 + 2 * 2  # at most what was in flight was asked again
    server.latency_s = 0.0
    plain = run_eval(*api).run_dir
    assert len(server.received) == sent  # the workers' answers are in the user's cache
    assert_same_run(on_ray, plain, runner=True)  # no row lost, none twice


def test_two_tiny_local_replicas(ray_instance: Any, run_eval: RunEval, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from evalkit.testing.tiny_vlm import build_tiny_qwen2_vl

    checkpoint = build_tiny_qwen2_vl(tmp_path / "qwen2-vl", stop_bias=1.0)
    model = ("task=vqav2", "backend=hf", f"backend.model={checkpoint}", "backend.device=cpu",
             "backend.dtype=float32", "dataset.limit=4", "cache=off")  # fmt: skip
    on_ray = _on_ray(tmp_path, "ray", *model, "runner.workers=2", "runner.shards=2")
    assert len({s["worker"] for s in _record(on_ray)["shards"]}) == 2  # a replica each
    plain = run_eval(*model).run_dir
    assert_same_run(on_ray, plain, runner=True)
    rows = pq.read_table(on_ray / "samples.parquet").to_pylist()
    assert all(r["error"] is None and r["output_tokens"] >= 1 for r in rows)


def test_each_worker_starts_and_stops_its_own_server(ray_instance: Any, tmp_path: Path) -> None:
    serve = f"'{sys.executable} -m evalkit.testing.fake_server --port {{port}}'"
    args = ("task=vqav2", "backend=openai", "backend.model=m", f"backend.serve={serve}",
            "dataset.limit=8")  # fmt: skip
    on_ray = _on_ray(tmp_path, "ray", *args, "runner.workers=2", "runner.shards=2")
    logs = sorted(on_ray.glob("server-*.log"))
    workers = {s["worker"] for s in _record(on_ray)["shards"]}
    assert len(logs) == 2 and {int(p.stem.split("-")[1]) for p in logs} == workers
    for log in logs:  # started, asked and stopped: nothing answers on its port any more
        port = int(next(ln for ln in log.read_text().splitlines() if ln.isdigit()))
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
    rows = pq.read_table(on_ray / "samples.parquet").to_pylist()
    assert len(rows) == 8 and all(r["error"] is None and r["prediction"] == "1" for r in rows)


def test_runner_ray_composes_without_importing_ray() -> None:
    code = ("import sys; from evalkit.compose import compose; "
            "c = compose(['task=vqav2', 'runner=ray', 'runner.workers=2']); "
            "assert c.runner.workers == 2 and 'ray' not in sys.modules, sorted(sys.modules)")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("runner.workers=2",), "runner.workers is read only by runner=ray"),
        (("runner=ray", "shard.count=2"), "runner=ray cuts the run into shards itself"),
        (
            ("runner=ray", "runner.address=auto", "results_dir=relative"),
            "results_dir=relative is relative to this one",
        ),
        (
            ("runner=ray", "runner.workers=2", "limits.max_cost=1"),
            "limits.max_cost is one budget for the whole run",
        ),
    ],
)
def test_what_ray_cannot_do_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, overrides: tuple[str, ...], message: str
) -> None:
    proc = main_in_process(capsys, tmp_path, "task=vqav2", *overrides)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "relative").exists() and not list(tmp_path.glob("results/*/*/*"))


def test_joining_a_cluster_keeps_a_cache_per_shard_and_brings_it_home(
    ray_instance: Any, run_eval: RunEval, server: FakeVLMServer, tmp_path: Path
) -> None:
    server.vary = True
    api = ("task=vqav2", "backend=openai", f"backend.base_url={server.openai_url}",
           "backend.model=m", "dataset.limit=12")  # fmt: skip
    address = ray_instance.get_runtime_context().gcs_address
    cluster = (f"runner.address={address}", "runner.workers=2", "runner.shards=2",
               f"results_dir={tmp_path}")  # fmt: skip
    on_ray = _on_ray(tmp_path, "ray", *api, *cluster, "runner.keep_shards=true")
    assert len(list((on_ray / "shards").glob("*.cache.sqlite"))) == 2  # a cache file per shard
    sent = len(server.received)
    assert sent == 12
    _on_ray(tmp_path, "again", *api, *cluster)  # its shards read the run's cache, unlocked
    plain = run_eval(*api).run_dir
    assert len(server.received) == sent  # the shards' answers were brought into the user's cache
    assert_same_run(on_ray, plain, runner=True)

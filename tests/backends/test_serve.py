"""``backend.serve``: evalkit starts the server it evaluates, waits for it, and stops it."""

from __future__ import annotations

import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

PY = shlex.quote(sys.executable)
FAKE = f"{PY} -m evalkit.testing.fake_server --port {{port}}"
Cli = Callable[..., subprocess.CompletedProcess[str]]


def _run(cli: Cli, tmp_path: Path, command: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return cli("task=vqav2", "backend=openai", "backend.model=m", "backend.api_key_env=null",
               f"backend.serve='{command}'", "dataset.limit=4", f"cache.path={tmp_path / 'c.sqlite'}",
               *extra)  # fmt: skip


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _folder(proc: subprocess.CompletedProcess[str], tmp_path: Path) -> Path:
    return tmp_path / proc.stdout.strip().splitlines()[-1].removeprefix("results: ")


def test_a_started_server_is_evaluated_logged_and_stopped(cli: Cli, tmp_path: Path) -> None:
    proc = _run(cli, tmp_path, FAKE)
    assert proc.returncode == 0, proc.stderr
    run = _folder(proc, tmp_path)
    rows = pq.read_table(run / "samples.parquet").to_pylist()
    assert len(rows) == 4 and all(r["error"] is None for r in rows)
    port = int((run / "server.log").read_text().split()[0])  # the fake server prints its port
    assert not _listening(port)  # stopped at the end of the run
    again = _run(cli, tmp_path, FAKE)  # another port, the same server: answered from the cache
    assert again.returncode == 0, again.stderr
    hits = pq.read_table(_folder(again, tmp_path) / "samples.parquet").column("cache_hit")
    assert hits.to_pylist() == [True] * 4


def test_a_server_that_exits_early_is_one_line_with_its_last_words(
    cli: Cli, tmp_path: Path
) -> None:
    script = tmp_path / "exits.py"
    script.write_text("import sys\nprint('no GPU here on', sys.argv[1])\nsys.exit(3)\n")
    proc = _run(cli, tmp_path, f"{PY} {script} {{port}}")
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()[-1]
    assert "exited with status 3 before it answered" in line and "no GPU here" in line, line


def test_a_server_that_never_answers_is_stopped_after_the_timeout(cli: Cli, tmp_path: Path) -> None:
    script = tmp_path / "sleeps.py"
    script.write_text("import time\nprint('loading', flush=True)\ntime.sleep(120)\n")
    started = time.monotonic()
    proc = _run(cli, tmp_path, f"{PY} {script} {{port}}", "backend.serve_timeout_s=1")
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()[-1]
    assert "no answer from http://127.0.0.1:" in line and "within 1 s" in line and "loading" in line
    assert time.monotonic() - started < 30  # the sleeper was killed, not waited for


def test_a_bad_command_is_one_line(cli: Cli, tmp_path: Path) -> None:
    missing = _run(cli, tmp_path, "no-such-server-binary --port {port}")
    assert missing.returncode == 2
    assert "cannot start 'no-such-server-binary'" in missing.stderr.strip().splitlines()[-1]
    portless = _run(cli, tmp_path, f"{PY} -m evalkit.testing.fake_server")
    assert portless.returncode == 2
    assert "backend.serve must contain {port}" in portless.stderr.strip().splitlines()[-1]


def test_ctrl_c_stops_the_started_server(tmp_path: Path) -> None:
    command = f"{PY} -m evalkit.testing.fake_server 30 --port {{port}}"  # answers take 30 s
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalkit", "task=vqav2", "backend=openai", "backend.model=m",
         "backend.api_key_env=null", f"backend.serve='{command}'", "dataset.limit=2",
         "cache.mode=off", f"results_dir={tmp_path}", "report.progress=false"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    logs = []
    for _ in range(200):  # until the server has started and the run is waiting on it
        logs = list(tmp_path.glob("vqav2/openai/*/server.log"))
        if logs and logs[0].read_text().strip():
            break
        time.sleep(0.1)
    port = int(logs[0].read_text().split()[0])
    for _ in range(100):
        if _listening(port):
            break
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert not _listening(port)


@pytest.mark.slow  # a forking server's group stopped: make test-all
def test_a_command_that_forks_the_server_does_not_leave_it_running(
    cli: Cli, tmp_path: Path
) -> None:
    # the shell puts the server in the background and exits 0 at once
    script = tmp_path / "forks.sh"
    script.write_text(f"{FAKE.replace('{port}', '$1')} > {tmp_path / 'port.txt'} 2>&1 &\nexit 0\n")
    proc = _run(cli, tmp_path, f"sh {script} {{port}}")
    assert proc.returncode == 0, proc.stderr
    port = int((tmp_path / "port.txt").read_text().split()[0])
    assert not _listening(port)  # the whole group was stopped, though its leader had exited


@pytest.mark.slow  # evalkit killed under its server, then a second run: make test-all
def test_a_server_whose_evalkit_was_killed_is_noticed_by_the_next_run(
    cli: Cli, tmp_path: Path
) -> None:
    import json
    import os

    cache = tmp_path / "xdg"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONWARNINGS": "ignore"}
    slow = f"{PY} -m evalkit.testing.fake_server 5 --port {{port}}"  # 5 s per answer
    victim = subprocess.Popen(
        [sys.executable, "-m", "evalkit", "task=vqav2", "backend=openai", "backend.model=m",
         "backend.api_key_env=null", f"backend.serve='{slow}'", "dataset.limit=2",
         f"results_dir={tmp_path / 'results'}", "report.progress=false", "cache=off"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    records = cache / "evalkit" / "servers"
    deadline = time.monotonic() + 60
    while not list(records.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    entry = json.loads(next(records.glob("*.json")).read_text())
    pgid = int(entry["pgid"])
    try:
        while not list((tmp_path / "results").rglob("server.log")) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the server is up and answering slowly
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
        os.killpg(pgid, 0)  # the server outlived its evalkit (no exception: still there)
        proc = cli("task=vqav2", "backend=openai", "backend.model=m", "backend.api_key_env=null",
                   f"backend.serve='{FAKE}'", "dataset.limit=1", "cache=off",
                   env={"XDG_CACHE_HOME": str(cache)})  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        warning = [ln for ln in proc.stderr.splitlines() if "earlier evalkit run" in ln]
        assert warning and f"kill -TERM -- -{pgid}" in warning[0], proc.stderr
    finally:
        os.killpg(pgid, signal.SIGKILL)


def test_a_key_in_the_command_stays_out_of_the_log_and_the_run(cli: Cli, tmp_path: Path) -> None:
    marker = "sk-MARKERserve4242"
    script = tmp_path / "echoes.py"
    script.write_text(
        "import runpy, sys\n"
        "print('args:', ' '.join(sys.argv[1:]), flush=True)\n"
        "sys.argv = [sys.argv[0], '--port', sys.argv[sys.argv.index('--port') + 1]]\n"
        "runpy.run_module('evalkit.testing.fake_server', run_name='__main__')\n"
    )
    proc = _run(cli, tmp_path, f"{PY} {script} --api-key {marker} --port {{port}}")
    assert proc.returncode == 0, proc.stderr
    run = _folder(proc, tmp_path)
    assert "args: --api-key *** --port" in (run / "server.log").read_text()
    for path in [*run.rglob("*"), tmp_path / "c.sqlite"]:
        if path.is_file():
            assert marker.encode() not in path.read_bytes(), path

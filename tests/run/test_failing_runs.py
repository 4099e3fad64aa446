"""Runs that fail wholesale stop at once with one line; runs over the error-rate gate fail.

Over real HTTP against the loopback server, through the command line as a user runs it.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pandas as pd
import pytest

from evalkit.testing.fake_server import DASHSCOPE_PATH, FakeVLMServer, Fault

KEY = "sk-live-NEVER-PRINTED"


def _folder(tmp_path: Path) -> Path:
    [run_dir] = [p.parent for p in (tmp_path / "results").rglob("run.json")]
    return run_dir


def _one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.startswith("evalkit: error: ")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_bad_key_stops_the_run_at_once(cli, server: FakeVLMServer, tmp_path: Path) -> None:
    body = b'{"code":"InvalidApiKey","message":"Invalid API-key provided."}'
    server.faults.extend(Fault(401, body=body) for _ in range(100))
    started = time.monotonic()
    proc = cli("task=vqav2", "backend=dashscope", f"backend.base_url={server.dashscope_url}",
               "backend.api_key_env=EVALKIT_TEST_KEY", "limits.concurrency=2",
               env={"EVALKIT_TEST_KEY": KEY})  # fmt: skip
    elapsed = time.monotonic() - started
    assert proc.returncode == 2
    line = _one_line(proc.stderr)
    assert line.startswith("evalkit: error: run aborted: stopped at once")
    assert "AuthError: HTTP 401 InvalidApiKey" in line
    assert f"endpoint {server.dashscope_url}/{DASHSCOPE_PATH.split('/api/v1/')[1]}" in line
    assert "check the key in $EVALKIT_TEST_KEY" in line
    assert KEY not in proc.stderr + proc.stdout
    assert len(server.received) <= 2  # the requests already in flight, not 60
    assert elapsed < 12  # bounds a hang, start included; the count above is the check
    run_dir = _folder(tmp_path)  # sealed: Parquet, not the journal, and the reason recorded
    assert (run_dir / "samples.parquet").exists() and not (run_dir / "samples.arrows").exists()
    assert "stopped at once" in json.loads((run_dir / "run.json").read_text())["aborted"]


def test_a_wrong_url_path_stops_the_run_at_once(cli, server: FakeVLMServer) -> None:
    url = server.openai_url.removesuffix("/v1") + "/api"  # no /v1: the server answers 404
    proc = cli("task=docvqa", "backend=openai", f"backend.base_url={url}", "backend.model=m",
               "backend.api_key_env=null")  # fmt: skip
    assert proc.returncode == 2
    line = _one_line(proc.stderr)
    assert "NotFound: HTTP 404" in line and f"endpoint {url}/chat/completions" in line
    assert "an OpenAI-compatible server's ends in /v1" in line and "backend.model ('m')" in line
    assert len(server.received) == 0  # the route does not exist: nothing reached the handler


def test_a_dead_server_stops_the_run_in_seconds(cli, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    proc = cli("task=docvqa", "backend=openai", f"backend.base_url=http://127.0.0.1:{port}/v1",
               "backend.model=m", "backend.api_key_env=null")  # fmt: skip
    elapsed = time.monotonic() - started
    assert proc.returncode == 2
    line = _one_line(proc.stderr)
    assert f"Unreachable: cannot connect to http://127.0.0.1:{port}/v1/chat/completions" in line
    assert "after 3 attempts; the server has not answered once in this run" in line
    assert "is the server running?" in line
    assert elapsed < 12  # bounds a hang, start included; "after 3 attempts" is the check
    samples = pd.read_parquet(_folder(tmp_path) / "samples.parquet")
    assert list(samples["error_type"].unique()) == ["Unreachable"]


@pytest.mark.parametrize("gate", ["default", "off"])
def test_a_run_that_ends_over_the_error_rate_gate_fails(
    cli, server: FakeVLMServer, tmp_path: Path, gate: str
) -> None:
    refused = b'{"code":"DataInspectionFailed","message":"refused"}'
    server.faults.extend([Fault(400, body=refused), Fault(400, body=refused), Fault()])
    args = ["task=docvqa", "backend=dashscope", f"backend.base_url={server.dashscope_url}",
            "backend.api_key_env=null", "dataset.limit=3", "limits.concurrency=1"]  # fmt: skip
    proc = cli(*args, *(["limits.max_error_rate=null"] if gate == "off" else []))
    samples = pd.read_parquet(_folder(tmp_path) / "samples.parquet")
    assert list(samples["error_type"].fillna("")) == ["InvalidRequest", "InvalidRequest", ""]
    if gate == "off":
        assert proc.returncode == 0, proc.stderr
        return
    assert proc.returncode == 2
    line = _one_line(proc.stderr)
    assert line.startswith("evalkit: error: run failed: 2 of 3 samples failed (67% > ")
    assert "limits.max_error_rate=null keeps such runs" in line


def test_the_first_error_of_each_kind_is_logged_once(cli, server: FakeVLMServer) -> None:
    refused = b'{"code":"DataInspectionFailed","message":"refused"}'
    server.faults.extend([Fault(400, body=refused), Fault(500)] * 3)
    proc = cli("task=docvqa", "backend=dashscope", f"backend.base_url={server.dashscope_url}",
               "backend.api_key_env=null", "dataset.limit=8", "limits.concurrency=1",
               "limits.max_retries=0", "limits.max_error_rate=null")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if "[WARNING]" in ln]
    assert len(warnings) == 2, proc.stderr
    assert "InvalidRequest: HTTP 400 DataInspectionFailed: refused" in warnings[0]
    assert "ServerError" in warnings[1] and "further ServerError rows" in warnings[1]
    assert "failed: 6 (InvalidRequest x3, ServerError x3)" in proc.stdout


def test_a_tls_failure_stops_the_run_at_once(cli, server: FakeVLMServer) -> None:
    url = f"https://127.0.0.1:{server.port}/v1"  # the server speaks plain HTTP
    proc = cli("task=docvqa", "backend=openai", f"backend.base_url={url}", "backend.model=m",
               "backend.api_key_env=null")  # fmt: skip
    line = _one_line(proc.stderr)
    assert proc.returncode == 2
    assert "Unreachable: cannot connect to" in line and "TLS failed: WRONG_VERSION_NUMBER" in line


@pytest.mark.parametrize(
    "fault",
    [Fault(502, body=b"<html><body>502 Bad Gateway</body></html>", content_type="text/html"),
     Fault(200, body=b'{"id": "x", "choices": []}')],
    ids=["html-502-from-a-proxy", "200-without-choices"],
)  # fmt: skip
def test_answers_that_are_never_usable_fail_the_run(
    cli, server: FakeVLMServer, tmp_path: Path, fault: Fault
) -> None:
    server.faults.extend([fault] * 200)
    proc = cli("task=vqav2", "backend=openai", f"backend.base_url={server.openai_url}",
               "backend.model=m", "backend.api_key_env=null", "limits.max_retries=1",
               "limits.backoff_base_s=0.001", "limits.concurrency=4")  # fmt: skip
    assert proc.returncode == 2
    line = _one_line(proc.stderr)
    assert line.startswith("evalkit: error: run aborted: ") and "samples failed" in line
    samples = pd.read_parquet(_folder(tmp_path) / "samples.parquet")
    assert 20 <= len(samples) < 60  # stopped by the gate once 20 were in, not after all 60

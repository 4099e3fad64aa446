"""Whole runs through the API backends against the loopback server, faults included."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from evalkit import load_run
from evalkit.testing.fake_server import FakeVLMServer, Fault
from tests.conftest import run_main


def test_openai_run_scores_every_sample(run_eval, server: FakeVLMServer) -> None:
    server.answer = "1"
    outcome = run_eval("task=docvqa", "backend=openai", f"backend.base_url={server.openai_url}",
                       "backend.model=qwen2.5-vl-7b", "dataset.limit=12")  # fmt: skip
    run = load_run(outcome.run_dir)
    assert len(run.samples) == 12 and run.samples["error_type"].isna().all()
    assert (run.samples["model"] == "qwen2.5-vl-7b").all()
    assert (run.samples["input_tokens"] == 100).all() and (run.samples["attempts"] == 1).all()
    assert len(server.received) == 12
    assert run.manifest is not None
    assert run.manifest["usage"] == {
        "input_tokens": 1200,
        "output_tokens": 24,
        "image_tokens": None,
    }


@pytest.mark.parametrize("backend", ["dashscope", "openai"])
def test_twenty_percent_faults_end_scored_or_as_error_rows(
    run_eval, server: FakeVLMServer, backend: str
) -> None:
    rng = random.Random(3)
    kinds = [Fault(429, headers={"Retry-After": "0"}), Fault(500), Fault(200, body=b"garbage"),
             Fault(400, body=b'{"code":"DataInspectionFailed","message":"refused"}')]  # fmt: skip
    script = [rng.choice(kinds) if rng.random() < 0.2 else Fault() for _ in range(400)]
    server.faults.extend(script)  # Fault() with status 200 and no body answers normally
    url = server.dashscope_url if backend == "dashscope" else server.openai_url
    outcome = run_eval("task=vqav2", f"backend={backend}", f"backend.base_url={url}", "backend.model=m",
                       "backend.api_key_env=null", "limits.backoff_base_s=0.001",
                       "limits.concurrency=16")  # fmt: skip
    run = load_run(outcome.run_dir)
    samples = run.samples
    assert len(samples) == 60 and samples["sample_id"].is_unique
    failed = samples[samples["error_type"].notna()]
    scored = samples[samples["error_type"].isna()]
    assert set(failed["error_type"]) <= {"InvalidRequest"}  # only the permanent refusals remain
    assert len(failed) == sum(f.status == 400 for f in script[: len(server.received)])
    assert scored["vqa_accuracy"].notna().all() and failed["vqa_accuracy"].isna().all()
    assert (scored["attempts"] >= 1).all() and scored["attempts"].max() > 1
    # none twice: the server answered normally exactly once per scored sample
    answered = sum(f == Fault() for f in script[: len(server.received)])
    assert len(server.received) <= len(script) and answered == len(scored)
    assert run.summary is not None
    assert int(run.summary["n"].iloc[0]) == len(scored)
    assert int(run.summary["n_failed"].iloc[0]) == len(failed)


def test_wholesale_failure_aborts_with_one_line(cli, server: FakeVLMServer) -> None:
    server.faults.extend(Fault(401, body=b'{"code":"InvalidApiKey","message":"Invalid API-key provided."}')
                         for _ in range(100))  # fmt: skip
    proc = cli("task=vqav2", "backend=dashscope", f"backend.base_url={server.dashscope_url}",
               "backend.api_key_env=null", "limits.max_error_rate=0.5", "limits.concurrency=2")  # fmt: skip
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()[-1:]
    assert line.startswith("evalkit: error: run aborted: ") and "AuthError" in line
    assert len(server.received) < 40  # stopped early instead of sending all 60


def test_missing_key_fails_before_any_request(cli, server: FakeVLMServer) -> None:
    proc = cli("task=docvqa", "backend=dashscope", "backend.api_key_env=EVALKIT_UNSET_KEY")
    assert proc.returncode == 2
    assert "set the environment variable EVALKIT_UNSET_KEY" in proc.stderr
    assert server.received == []


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ("backend.base_url=http://127.0.0.1:1/v1", "backend.model"),
        ("backend.model=m", "backend.base_url"),
    ],
)
def test_openai_needs_a_model_and_url(cli, given: str, missing: str) -> None:
    proc = cli("task=docvqa", "backend=openai", given)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(
        f"evalkit: error: {missing} is required: add {missing}=VALUE to the command"
    )


@pytest.mark.parametrize("backend", ["dashscope", "openai"])
def test_unpaired_surrogate_escapes_from_a_server_are_stored_as_replacement_characters(
    run_eval, server: FakeVLMServer, backend: str
) -> None:
    """JSON may carry "\\ud800" alone; Python decodes it to a string that UTF-8 (the cache,
    Parquet) cannot hold. Such a character becomes U+FFFD, as a UTF-8 decoder would make it."""
    server.answer = "1\ud800"
    error = {"dashscope": b'{"code":"InvalidParameter","message":"bad \\udc80 input"}',
             "openai": b'{"error":{"message":"bad \\udc80 input","type":"invalid_request_error"}}'}  # fmt: skip
    server.faults.append(Fault(400, body=error[backend]))
    url = server.dashscope_url if backend == "dashscope" else server.openai_url
    outcome = run_eval("task=docvqa", f"backend={backend}", f"backend.base_url={url}", "backend.model=m",
                       "backend.api_key_env=null", "limits.concurrency=1", "dataset.limit=3")  # fmt: skip
    samples = load_run(outcome.run_dir).samples
    assert list(samples["error_type"].fillna("")) == ["InvalidRequest", "", ""]
    assert "bad \ufffd input" in samples["error"].iloc[0]
    assert list(samples["prediction"].iloc[1:]) == ["1\ufffd", "1\ufffd"]


def test_a_dashscope_404_with_a_text_body_stops_at_once(cli, server: FakeVLMServer) -> None:
    server.faults.extend(Fault(404, body=b"404 page not found\n", content_type="text/plain")
                         for _ in range(100))  # fmt: skip
    proc = cli("task=vqav2", "backend=dashscope", f"backend.base_url={server.dashscope_url}",
               "backend.api_key_env=null", "limits.concurrency=1")  # fmt: skip
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()[-1:]
    assert (
        line.startswith("evalkit: error: run aborted: stopped at once")
        and "NotFound: HTTP 404" in line
    )
    assert len(server.received) == 1  # not retried, and nothing more was sent


def test_requests_spread_over_replicas_by_what_each_has_in_flight(
    run_eval, server: FakeVLMServer
) -> None:
    slow = FakeVLMServer().start()
    try:
        slow.latency_s, server.latency_s = 0.05, 0.0
        urls = f"[{server.openai_url},{slow.openai_url}]"
        args = ("task=vqav2", "backend=openai", "backend.model=m", "limits.concurrency=8")
        run = load_run(run_eval(*args, f"backend.base_urls={urls}").run_dir)
        assert len(run.samples) == 60 and run.samples["error_type"].isna().all()
        assert len(server.received) + len(slow.received) == 60
        assert 0 < len(slow.received) < len(server.received)  # the busy one is asked less
        # the replicas are one server to the cache, in whichever order they are given
        again = f"[{slow.openai_url},{server.openai_url}]"
        rerun = load_run(run_eval(*args, f"backend.base_urls={again}").run_dir)
        assert rerun.samples["cache_hit"].all()
        assert len(server.received) + len(slow.received) == 60
    finally:
        slow.stop()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ("backend.base_url=http://127.0.0.1:1/v1", "backend.base_urls=[http://127.0.0.1:2/v1]"),
            "give backend.base_urls (replicas) or backend.base_url, not both",
        ),
        (
            ("backend.base_urls=[http://127.0.0.1:2/v1,127.0.0.1:3/v1]",),
            "backend.base_urls '127.0.0.1:3/v1' is not a URL",
        ),
    ],
)
def test_wrong_replicas_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, overrides: tuple[str, ...], message: str
) -> None:
    code, err = run_main(capsys, tmp_path, "task=vqav2", "backend=openai", "backend.model=m",
                         *overrides)  # fmt: skip
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err

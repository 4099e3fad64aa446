"""Judged runs end to end: the judge a role of its own, against the loopback server."""

from __future__ import annotations

import json
import logging
import subprocess

import pandas as pd
import pytest

from evalkit import load_run
from evalkit.resources import sample_data_dir
from evalkit.testing.fake_server import FakeVLMServer, Fault
from tests.conftest import main_in_process

PRICE = "+pricing.models.judge-2024-01-01={input: 1.0, output: 2.0}"


def _judge(server: FakeVLMServer, *extra: str) -> list[str]:
    return ["task=mmvet", "judge=openai", "judge.model=judge-2024-01-01",
            f"judge.base_url={server.openai_url}", "judge.api_key_env=null", PRICE, *extra]  # fmt: skip


def _text(content: object) -> str:
    parts = content if isinstance(content, list) else [{"text": content}]
    return "".join(str(p.get("text", "")) for p in parts)


def _judge_requests(server: FakeVLMServer, model: str = "judge-2024-01-01") -> list[str]:
    return [_text(r.body["messages"][-1]["content"]) for r in server.received
            if r.body.get("model") == model]  # fmt: skip


SAMPLE = pd.read_parquet(sample_data_dir() / "mmvet" / "test.parquet")
ROWS = len(SAMPLE)
DISTINCT = len(SAMPLE[["question", "answer"]].drop_duplicates())
"""The bundled sample's distinct judge prompts: the baseline gives one answer to every
question, and some questions repeat another's with its ground truth (the same prompt is asked,
and paid, once, even when both are in flight together)."""


def test_each_answer_is_graded_by_the_judge_with_mmvets_prompt(run_eval, server) -> None:
    server.answer = "0.7"
    server.answer_book = {"What is written on the sign? | ": "1.0"}
    outcome = run_eval(*_judge(server))
    run = load_run(outcome.run_dir)
    rows = run.samples
    assert len(rows) == ROWS and rows["error_type"].isna().all()
    prompts = _judge_requests(server)
    assert len(prompts) == len(set(prompts)) == DISTINCT  # no second prompt needed
    assert all(p.startswith("Compare the ground truth") for p in prompts)
    assert any(p.endswith("| I am not sure. | ") for p in prompts)  # the baseline's answer
    ocr = rows["capability"].map(lambda c: list(c) == ["ocr"])
    assert (rows.loc[ocr, "grade"] == 1.0).all() and (rows.loc[~ocr, "grade"] == 0.7).all()
    assert (rows["judge_score"] == rows["grade"]).all() and rows["judge_asked"].all()
    assert (rows["judge_input_tokens"] == 100).all() and (rows["judge_output_tokens"] == 2).all()
    # the judge's cost is its own: 100 input and 2 output tokens at 1 and 2 per 1,000
    assert rows["judge_cost"].round(9).eq(0.104).all() and (rows["cost"] == 0).all()
    assert 0 < DISTINCT < ROWS and rows["judge_cache_hit"].sum() == ROWS - DISTINCT
    judge = run.manifest["judge"]
    assert judge["backend"]["model"] == "judge-2024-01-01" and judge["floating_alias"] is False
    assert judge["protocol"] == "mmvet" and len(judge["template_sha256"]) == 64
    assert judge["params"]["max_tokens"] == 3 and judge["params"]["temperature"] == 0.0
    asked = (judge["asked"], judge["asked_rate"], judge["judged"], judge["coverage"])
    assert asked == (ROWS, 1.0, ROWS, 1.0)
    assert judge["cost"]["spent"] == pytest.approx(DISTINCT * 0.104)
    assert judge["cost"]["saved"] == pytest.approx((ROWS - DISTINCT) * 0.104)
    assert run.manifest["cost"]["spent"] == 0  # the model's (the baseline: free)
    summary = run.summary.set_index("metric")
    assert summary.loc["judge_cost_spent", "value"] == pytest.approx(DISTINCT * 0.104)
    groups = run.summary[run.summary["kind"] == "group"].set_index("group")
    assert groups.loc["ocr", "value"] == 1.0 and groups.loc["rec", "value"] == pytest.approx(0.7)
    assert "sk-" not in json.dumps(run.manifest)


def test_a_rerun_takes_every_verdict_from_the_cache(run_eval, server) -> None:
    server.answer = "0.5"
    run_eval(*_judge(server))
    assert len(_judge_requests(server)) == DISTINCT
    second = load_run(run_eval(*_judge(server)).run_dir)
    assert len(_judge_requests(server)) == DISTINCT  # nothing asked again
    judge = second.manifest["judge"]
    assert judge["cache"]["hits"] == ROWS and judge["cost"]["spent"] == 0
    assert judge["cost"]["saved"] == pytest.approx(ROWS * 0.104)
    assert second.samples["judge_cache_hit"].all() and (second.samples["grade"] == 0.5).all()


def test_another_judge_model_is_not_served_the_first_ones_verdicts(run_eval, server) -> None:
    server.answer = "0.5"
    run_eval(*_judge(server))
    other = [o.replace("judge-2024-01-01", "judge-2024-02-02") for o in _judge(server)]
    run_eval(*other)
    assert len(_judge_requests(server, "judge-2024-02-02")) == DISTINCT


def test_an_unreadable_verdict_is_asked_again_then_a_judgefailed_row(run_eval, server) -> None:
    server.answer = "0.5"
    server.answer_book = {"What is written on the sign? | ": "Correctness: high"}
    outcome = run_eval(*_judge(server, "judge.min_coverage=0.5"))
    rows = load_run(outcome.run_dir).samples
    failed = rows[rows["error_type"] == "JudgeFailed"]
    ocr = int((SAMPLE["capability"] == "ocr").sum())
    assert len(failed) == ocr  # the OCR questions
    assert failed["grade"].isna().all() and failed["judge_output"].eq("Correctness: high").all()
    assert failed["judge_error"].str.contains("no verdict").all()
    assert failed["prediction"].eq("I am not sure.").all()  # the answer is kept
    again = [p for p in _judge_requests(server) if p.endswith("(digit): ")]
    assert len(again) == len(set(again)) >= 1  # the script's second prompt, once each
    assert all("What is written on the sign?" in p for p in again)
    run = load_run(outcome.run_dir)
    assert run.manifest["judge"]["failed"] == ocr
    assert run.manifest["judge"]["coverage"] == pytest.approx(1 - ocr / ROWS, abs=1e-6)
    assert run.manifest["counts"]["errors"] == {"JudgeFailed": ocr}
    metric = run.summary[run.summary["metric"] == "grade"].iloc[0]
    assert (metric["n"], metric["n_failed"], metric["value"]) == (ROWS - ocr, ocr, 0.5)


def test_a_run_below_the_judges_coverage_fails(capsys, tmp_path, server) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return main_in_process(capsys, tmp_path, *args)

    server.answer = "no idea"
    proc = cli(*_judge(server))  # the error-rate gate counts JudgeFailed rows too, and stops
    assert proc.returncode == 2
    assert "JudgeFailed x20" in proc.stderr.strip().splitlines()[-1]
    proc = cli(*_judge(server), "limits.max_error_rate=null")
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()[-1]
    assert f"the judge gave a verdict for 0 of the {ROWS} answers" in line
    assert "judge.min_coverage=0.95" in line


def test_transient_judge_errors_are_retried(run_eval, server) -> None:
    server.answer = "0.5"
    server.faults.extend([Fault(500), Fault(429, headers={"Retry-After": "0"})])
    outcome = run_eval(*_judge(server, "judge.max_retries=3"))
    rows = load_run(outcome.run_dir).samples
    assert rows["error_type"].isna().all() and (rows["grade"] == 0.5).all()


def test_a_judge_that_refuses_the_key_stops_the_run(capsys, tmp_path, server) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return main_in_process(capsys, tmp_path, *args)

    server.faults.extend(Fault(401, body=b'{"error": {"message": "bad key"}}') for _ in range(50))
    proc = cli(*_judge(server), "limits.concurrency=1")
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("evalkit: error: run aborted") and "the judge: AuthError" in line
    assert len(server.received) < 10


def test_repeats_average_the_grades_and_report_agreement(run_eval, server) -> None:
    server.answer = "1.0"
    server.by_seed = {1235: "0.0"}  # the second repeat (seed + 1) disagrees
    outcome = run_eval(*_judge(server, "judge.repeats=3"))
    run = load_run(outcome.run_dir)
    rows = run.samples
    assert rows["judge_scores"].map(lambda s: sorted(s) == [0.0, 1.0, 1.0]).all()
    assert rows["grade"].round(6).eq(round(2 / 3, 6)).all()
    judge = run.manifest["judge"]
    assert judge["repeats"] == 3 and judge["agreement"] == 0.0
    assert judge["mean_spread"] == pytest.approx(0.471405, abs=1e-6)
    assert len(_judge_requests(server)) == 3 * DISTINCT


def test_a_floating_judge_model_is_recorded_and_warned_about(run_eval, server, caplog) -> None:
    server.answer = "0.5"
    overrides = [o.replace("judge-2024-01-01", "gpt-4o") for o in _judge(server)]
    with caplog.at_level(logging.WARNING, logger="evalkit"):
        outcome = run_eval(*overrides)
    assert load_run(outcome.run_dir).manifest["judge"]["floating_alias"] is True
    assert "judge model 'gpt-4o' is a floating alias" in caplog.text


def test_the_stand_in_judges_offline(run_eval) -> None:
    outcome = run_eval("task=mmvet", "judge=stand_in", "backend.answer=red")
    run = load_run(outcome.run_dir)
    rows = run.samples
    red = rows["references"].map(lambda r: r[0].split("<OR>")[0] == "red")
    assert red.any() and (rows.loc[red, "grade"] == 1.0).all()
    assert run.manifest["judge"]["backend"]["name"] == "stand_in"
    assert run.manifest["judge"]["cost"]["spent"] == 0


def test_a_judge_server_the_run_starts_is_asked_logged_and_stopped(run_eval) -> None:
    """``judge.serve``: the judge's server started before the first answer, stopped after."""
    import socket
    import sys

    command = f"{sys.executable} -m evalkit.testing.fake_server --port {{port}}"
    outcome = run_eval("task=mmvet", "dataset.limit=6", "judge=openai", "judge.model=j",
                       f"judge.serve='{command}'", "judge.api_key_env=null")  # fmt: skip
    run = load_run(outcome.run_dir)
    assert run.samples["error"].isna().all() and run.samples["judge_asked"].all()
    assert (run.samples["grade"] == 1.0).all()  # the loopback server answers "1"
    log = (outcome.run_dir / "judge-server.log").read_text()
    port = int(next(line for line in log.splitlines() if line.isdigit()))
    with pytest.raises(ConnectionRefusedError):  # stopped with the run
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    judge = run.manifest["judge"]
    assert judge["judged"] == 6 and "fake_server" in json.dumps(judge["backend"])

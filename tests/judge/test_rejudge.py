"""``evalkit rejudge``: a run's answers judged again by another judge, into a new folder."""

from __future__ import annotations

import hashlib

import pytest

from evalkit import load_run
from evalkit.errors import ConfigError
from evalkit.run.rejudge import rejudge
from evalkit.testing.fake_server import FakeVLMServer

PRICE = "+pricing.models.judge-2024-01-01={input: 1.0, output: 2.0}"


def _judge(server: FakeVLMServer, model: str = "judge-2024-01-01") -> list[str]:
    return ["judge=openai", f"judge.model={model}", f"judge.base_url={server.openai_url}",
            "judge.api_key_env=null"]  # fmt: skip


def _asked(server: FakeVLMServer, model: str) -> int:
    return sum(r.body.get("model") == model for r in server.received)


def _first_run(run_eval, server: FakeVLMServer, *extra: str):  # type: ignore[no-untyped-def]
    server.answer_book = {"Compare the ground truth": "0.5"}  # the judge's prompts
    server.answer = "red"  # the model's answers
    return run_eval("task=mmvet", "backend=openai", f"backend.base_url={server.openai_url}",
                    "backend.model=vlm", "backend.api_key_env=null", *_judge(server), *extra)  # fmt: skip


def test_another_judge_grades_the_same_answers_in_a_new_folder(run_eval, server, tmp_path) -> None:
    first = _first_run(run_eval, server)
    digest = hashlib.sha256((first.run_dir / "samples.parquet").read_bytes()).hexdigest()
    asked_model = _asked(server, "vlm")
    server.answer_book = {"Compare the ground truth": "1.0"}
    outcome = rejudge(first.run_dir, _judge(server, "judge-2024-09-09"), tmp_path / "again")
    assert _asked(server, "vlm") == asked_model  # the model is not asked again
    assert _asked(server, "judge-2024-09-09") > 0
    again, before = load_run(outcome.run_dir), load_run(first.run_dir)
    assert (again.samples["grade"] == 1.0).all() and (before.samples["grade"] == 0.5).all()
    assert again.samples["prediction"].tolist() == before.samples["prediction"].tolist()
    assert again.manifest["rejudged"] == {"run_id": before.manifest["run_id"],
                                          "folder": str(first.run_dir)}  # fmt: skip
    assert again.manifest["judge"]["backend"]["model"] == "judge-2024-09-09"
    assert again.manifest["backend"]["name"] == "replay"
    assert again.manifest["backend"]["model"] == "vlm"
    assert again.manifest["config"]["task"] == before.manifest["config"]["task"]
    after = hashlib.sha256((first.run_dir / "samples.parquet").read_bytes()).hexdigest()
    assert after == digest  # the first run stays as it was


def test_the_same_judge_again_costs_nothing(run_eval, server, tmp_path) -> None:
    first = _first_run(run_eval, server, PRICE)
    judged = _asked(server, "judge-2024-01-01")
    outcome = rejudge(first.run_dir, [*_judge(server), PRICE], tmp_path / "again")
    assert _asked(server, "judge-2024-01-01") == judged
    judge = load_run(outcome.run_dir).manifest["judge"]
    assert judge["cost"]["spent"] == 0 and judge["cost"]["saved"] > 0


def test_judgefailed_answers_are_judged_again(run_eval, server, tmp_path) -> None:
    server.answer_book = {"Compare the ground truth": "high"}
    server.answer = "red"
    first = run_eval("task=mmvet", "backend=openai", f"backend.base_url={server.openai_url}",
                     "backend.model=vlm", "backend.api_key_env=null", *_judge(server),
                     "limits.max_error_rate=null", "judge.min_coverage=0")  # fmt: skip
    assert (load_run(first.run_dir).samples["error_type"] == "JudgeFailed").all()
    server.answer_book = {"Compare the ground truth": "0.9"}
    outcome = rejudge(first.run_dir, _judge(server, "judge-2024-09-09"), tmp_path / "again")
    rows = load_run(outcome.run_dir).samples
    assert rows["error_type"].isna().all() and (rows["grade"] == 0.9).all()


def test_the_cli_writes_beside_the_run_and_compare_reads_both(run_eval, server, cli) -> None:
    first = _first_run(run_eval, server)
    server.answer_book = {"Compare the ground truth": "1.0"}
    proc = cli("rejudge", str(first.run_dir), *_judge(server, "judge-2024-09-09"))
    assert proc.returncode == 0, proc.stderr
    [again] = [p for p in first.run_dir.parent.iterdir() if "-rejudged-" in p.name]
    assert again.name.startswith(first.run_dir.name)
    compared = cli("compare", str(first.run_dir), str(again))
    assert compared.returncode == 0, compared.stderr
    assert "grade" in compared.stdout
    out = compared.stdout + compared.stderr  # the judges differ: a note says so
    assert "judge: openai/judge-2024-01-01 (mmvet, always" in out
    assert "vs openai/judge-2024-09-09 (mmvet, always" in out


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["judge=stand_in", "dataset.limit=3"],
         "rejudge takes judge=... and judge.* (and +pricing.models.*) only, got 'dataset.limit=3'"),
        (["judge.model=m"], "rejudge needs the judge: add judge=openai"),
    ],
)  # fmt: skip
def test_rejudge_takes_a_judge_and_nothing_else(
    run_eval, server, overrides: list[str], message: str
) -> None:
    first = _first_run(run_eval, server)
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(")", r"\)")
                       .replace("*", r"\*").replace(".", r"\.").replace("+", r"\+")):  # fmt: skip
        rejudge(first.run_dir, overrides)


def test_a_task_without_a_judge_protocol_is_refused(run_eval, tmp_path) -> None:
    first = run_eval("task=docvqa", "dataset.limit=3")
    with pytest.raises(ConfigError, match="task 'docvqa' has no judge protocol"):
        rejudge(first.run_dir, ["judge=stand_in"])
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("x")
    mmvet = run_eval("task=mmvet", "judge=stand_in")
    with pytest.raises(ConfigError, match="exists and is not empty"):
        rejudge(mmvet.run_dir, ["judge=stand_in"], tmp_path / "taken")


def test_a_rule_only_mmbench_run_gets_a_judge(run_eval, tmp_path) -> None:
    first = run_eval("task=mmbench_en", "backend.answer=qqq")
    assert load_run(first.run_dir).manifest["judge"] is None
    outcome = rejudge(first.run_dir, ["judge=stand_in"], tmp_path / "judged")
    judged = load_run(outcome.run_dir)
    assert judged.manifest["judge"]["mode"] == "fallback"
    assert judged.samples["judge_asked"].all()

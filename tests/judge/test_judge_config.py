"""The ``judge`` group: one-line errors for a judge nothing reads or a judged task without one."""

from __future__ import annotations

import dataclasses

import pytest

from evalkit import load_run
from evalkit.compose import compose
from evalkit.config import OpenAIJudgeConfig, StandInJudgeConfig
from evalkit.errors import ConfigError
from evalkit.runfolder.read import run_config
from evalkit.structured import plain

URL = "judge.base_url=http://127.0.0.1:9/v1"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["task=mmvet"], "task 'mmvet' is scored by a judge (mmvet grades each answer) and this "
         "run has none: add judge=openai judge.model=MODEL"),
        (["task=docvqa", "judge=stand_in"], "judge=stand_in: task 'docvqa' has no judge protocol"),
        (["task=mmvet", "judge.mode=always"], "judge.mode is read only with a judge"),
        (["task=mmvet", "judge=stand_in", "judge.mode=fallback"],
         "judge.mode=fallback: mmvet grades every answer"),
        (["task=mmvet", "judge=openai", "judge.model=m"], "judge.base_url is required: add "
         "judge.base_url=URL to the command (or judge.serve='COMMAND --port {port}'"),
        (["task=mmvet", "judge=openai", "judge.model=m", "judge.base_url=127.0.0.1:9"],
         "judge.base_url '127.0.0.1:9' is not a URL"),
        (["task=mmvet", "judge=openai", "judge.model=m", URL, "judge.serve='vllm serve m'"],
         "give judge.base_url or judge.serve, not both"),
        (["task=mmvet", "judge=openai", "judge.model=m", "judge.base_urls=[http://127.0.0.1:9]"],
         "judge.base_urls is not supported"),
        (["task=mmvet", "judge=stand_in", "judge.repeats=0"], "judge.repeats must be >= 1"),
        (["task=mmvet", "judge=stand_in", "judge.min_coverage=2"], "judge.min_coverage must be"),
        (["task=mmvet", "judge=stand_ni"], "unknown judge option 'stand_ni'; did you mean "
         "'stand_in'?"),
        (["task=mmvet", "judge=openai", "judge.model=m", URL, "+judge.api_key=sk-123"],
         "names a secret, and evalkit takes none on the command line (it would be saved with the "
         "run); put it in an environment variable and name that variable: judge.api_key_env=VAR"),
    ],
)  # fmt: skip
def test_a_judge_nothing_can_use_is_one_line(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        compose(overrides)
    text = str(caught.value)
    assert message in text and "\n" not in text and "sk-123" not in text


def test_a_judged_task_without_a_judge_exits_2_before_any_answer(cli) -> None:
    proc = cli("task=mmvet")
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith("evalkit: error: task 'mmvet' is scored by a judge")
    )
    assert "judge=stand_in" in proc.stderr


def test_a_judge_takes_its_backends_options_and_reads_back_from_run_json() -> None:
    cfg = compose(["task=mmvet", "judge=openai", "judge.model=gpt-4o-mini-2024-07-18", URL,
                   "judge.temperature=0", "judge.concurrency=2", "+judge.extra_body.a=1"])  # fmt: skip
    assert isinstance(cfg.judge, OpenAIJudgeConfig)
    assert cfg.judge.concurrency == 2 and cfg.judge.extra_body == {"a": 1}
    assert cfg.judge.api_key_env == "OPENAI_API_KEY"  # the variable's name, never a key
    assert run_config(plain(cfg), "run.json") == cfg
    stand_in = compose(["task=mmvet", "judge=stand_in"])
    assert isinstance(stand_in.judge, StandInJudgeConfig)
    assert run_config(plain(stand_in), "run.json") == stand_in


def test_a_rescored_judged_run_keeps_its_verdicts(run_eval, capsys, tmp_path) -> None:
    from evalkit.run.rescore import rescore

    outcome = run_eval("task=mmvet", "judge=stand_in", "backend.answer=red")
    before = load_run(outcome.run_dir)
    rescore(outcome.run_dir)
    after = load_run(outcome.run_dir)
    assert after.manifest["results"] == before.manifest["results"]
    assert after.samples["grade"].tolist() == before.samples["grade"].tolist()
    assert after.samples["judge_verdict"].tolist() == before.samples["judge_verdict"].tolist()


def test_a_judged_run_cut_in_shards_merges_to_the_whole_run(run_eval, tmp_path) -> None:
    from evalkit.run.merge import merge

    base = ["task=mmvet", "judge=stand_in", "backend.answer=red"]
    whole = load_run(run_eval(*base).run_dir)
    parts = [run_eval(*base, "shard.count=2", f"shard.index={k}").run_dir for k in range(2)]
    merged = load_run(merge(parts, tmp_path / "merged").run_dir)
    assert merged.manifest["results"] == pytest.approx(whole.manifest["results"])
    columns = ["sample_id", "grade", "judge_verdict"]
    assert merged.samples[columns].equals(whole.samples[columns])
    judge, plain = merged.manifest["judge"], whole.manifest["judge"]
    for key in (
        "answers",
        "asked",
        "judged",
        "failed",
        "asked_rate",
        "coverage",
        "protocol",
        "template_sha256",
    ):
        assert judge[key] == plain[key], key
    costs = merged.summary[merged.summary["kind"] == "cost"]["metric"].tolist()
    assert "judge_cost_spent" in costs and "judge_cost_saved" in costs


def test_the_judge_group_defaults_to_none() -> None:
    cfg = compose(["task=docvqa"])
    assert cfg.judge.name == "none"
    assert dataclasses.asdict(cfg.judge).get("model") is None


def test_an_estimate_says_the_judge_is_not_estimated() -> None:
    import asyncio

    from evalkit.run.estimate import estimate, format_estimate

    cfg = compose(["task=mmbench_en", "judge=stand_in", "dataset.limit=5"])
    text = format_estimate(cfg, asyncio.run(estimate(cfg)))
    assert "judge: stand_in/stand-in (fallback) is not estimated" in text
    assert "up to 5 answers x 1 repeats" in text
    plain = compose(["task=mmbench_en", "dataset.limit=5"])
    assert "judge" not in format_estimate(plain, asyncio.run(estimate(plain)))

"""``evalkit compare`` end to end: runs against the loopback server, answering well or worse."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from evalkit.compare.stats import holm
from evalkit.testing.answers import answer_book
from evalkit.testing.fake_server import FakeVLMServer, Fault

from ..conftest import lazy_import, main_here, results_of, run_cli

contingency: Any = lazy_import("statsmodels.stats.contingency_tables")


def _run(
    tmp_path: Path,
    server: FakeVLMServer,
    task: str,
    model: str,
    book: dict[str, str],
    *extra: str,
    where: str = "results",
) -> Path:
    """One run through the command line's ``main``, in this process (the comparisons are what
    these tests look at; ``test_cli.py`` runs whole processes)."""
    server.answer_book = book
    proc = main_here(f"task={task}", "backend=openai", f"backend.base_url={server.openai_url}",
                     f"backend.model={model}", "backend.api_key_env=null", "cache.mode=off",
                     "limits.max_retries=0", f"results_dir={tmp_path / where}", *extra,
                     cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return results_of(proc, tmp_path).resolve()


def _compare(
    *args: str | Path, cwd: Path, new_process: bool = False
) -> subprocess.CompletedProcess[str]:
    """``evalkit compare ARGS``: its exit status, stdout and stderr. In this process unless
    ``new_process`` (the gate's exit status as CI sees it, from ``python -m evalkit``)."""
    run = run_cli if new_process else main_here
    return run("compare", *map(str, args), cwd=cwd)


def _every_third_wrong(task: str) -> dict[str, str]:
    return answer_book(task, wrong=lambda i: i % 3 == 0)


def test_a_worse_candidate_fails_the_gate_with_its_drop_ci_p_value_and_flips(
    tmp_path: Path, server: FakeVLMServer
) -> None:
    base = _run(tmp_path, server, "docvqa", "good", answer_book("docvqa"))
    cand = _run(tmp_path, server, "docvqa", "worse", _every_third_wrong("docvqa"))
    proc = _compare(base, cand, "--fail-on-drop", "--json", cwd=tmp_path, new_process=True)
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    [anls] = out["metrics"]
    assert set(anls) >= {
        "metric",
        "base",
        "cand",
        "diff",
        "ci_low",
        "ci_high",
        "p_value",
        "test",
        "n_pairs",
        "n_better",
        "n_worse",
        "significant",
        "gated",
    }
    a = pq.read_table(base / "samples.parquet").column("anls").to_numpy()
    b = pq.read_table(cand / "samples.parquet").column("anls").to_numpy()
    assert anls["n_pairs"] == 60 and anls["n_worse"] == 20 and anls["n_better"] == 0
    assert anls["diff"] == pytest.approx(b.mean() - a.mean(), abs=1e-12)
    assert anls["ci_low"] < anls["diff"] < anls["ci_high"] < 0
    # every answer is right or wrong here, so ANLS is 0/1 and the test is the exact McNemar
    table = [
        [int(((a == 1) & (b == 1)).sum()), int(((a == 1) & (b == 0)).sum())],
        [int(((a == 0) & (b == 1)).sum()), int(((a == 0) & (b == 0)).sum())],
    ]
    assert anls["test"] == "mcnemar-exact"
    assert anls["p_value"] == pytest.approx(
        contingency.mcnemar(table, exact=True).pvalue, abs=1e-9, rel=1e-9
    )
    assert anls["significant"] and anls["gated"] and anls["failed"]
    [task] = out["tasks"]
    assert task["n_right_to_wrong"] == 20 and task["n_wrong_to_right"] == 0
    assert len(task["worst"]) == 10
    assert {w["cand_answer"] for w in task["worst"]} == {"no idea"}
    assert all(w["base_score"] == 1.0 and w["cand_score"] == 0.0 for w in task["worst"])
    assert out["exit_code"] == 1 and out["verdict"].startswith("FAIL")

    text = _compare(base, cand, "--fail-on-drop", cwd=tmp_path, new_process=True)
    assert text.returncode == 1
    assert "result: FAIL, significant drop: docvqa/anls -0.3333" in text.stdout
    assert "gate: exit 1 if a gated metric fell by more than 0 " in text.stdout
    assert "flips on anls: 20 went down (right → wrong), 0 went up" in text.stdout
    assert task["worst"][0]["sample_id"] in text.stdout

    # a tolerance larger than the drop lets it through; without the gate it always exits 0
    assert _compare(base, cand, "--fail-on-drop", "--max-drop", "0.4", cwd=tmp_path).returncode == 0
    assert (
        _compare(base, cand, "--fail-on-drop", "--max-drop", "anls=0.4", cwd=tmp_path).returncode
        == 0
    )
    assert _compare(base, cand, cwd=tmp_path).returncode == 0
    assert _compare(base, cand, "--fail-on-drop", "--max-drop", "docvqa/anls=0.4",
                    cwd=tmp_path).returncode == 0  # fmt: skip

    # a metric name that matches nothing gates nothing: it is refused, with a suggestion
    for flag, value in (("--max-drop", "anl=0.4"), ("--metric", "anl")):
        typo = _compare(base, cand, "--fail-on-drop", flag, value, cwd=tmp_path)
        assert typo.returncode == 2, typo.stdout
        [line] = typo.stderr.strip().splitlines()
        assert line.startswith(f"evalkit: error: {flag} names a metric")
        assert "'anl'; did you mean 'anls'?" in line


def test_two_equally_good_runs_pass(tmp_path: Path, server: FakeVLMServer) -> None:
    base = _run(tmp_path, server, "docvqa", "good", answer_book("docvqa"))
    cand = _run(tmp_path, server, "docvqa", "also-good", answer_book("docvqa"))
    proc = _compare(base, cand, "--fail-on-drop", cwd=tmp_path, new_process=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "result: PASS" in proc.stdout
    assert "flips on anls: 0 went down" in proc.stdout


def test_a_graded_metric_gets_the_exact_permutation_test(
    tmp_path: Path, server: FakeVLMServer
) -> None:
    base = _run(tmp_path, server, "vqav2", "good", answer_book("vqav2"))
    cand = _run(
        tmp_path,
        server,
        "vqav2",
        "worse",
        answer_book("vqav2", wrong=lambda i: i % 4 == 1, wrong_answer="blue"),
    )
    out = json.loads(_compare(base, cand, "--json", cwd=tmp_path).stdout)
    [vqa] = out["metrics"]
    a = pq.read_table(base / "samples.parquet").column("vqa_accuracy").to_numpy()
    b = pq.read_table(cand / "samples.parquet").column("vqa_accuracy").to_numpy()
    assert not set(np.round(np.concatenate([a, b]), 6)) <= {0.0, 1.0}  # VQA accuracy is graded
    assert vqa["test"] == "permutation-exact"
    # reference: the exact sign-flip distribution, multiplied out with Python integers
    steps = [int(round(v * 30)) for v in b - a if abs(v) > 1e-12]
    counts = {0: 1}
    for k in steps:
        nxt: dict[int, int] = {}
        for total, ways in counts.items():
            for signed in (k, -k):
                nxt[total + signed] = nxt.get(total + signed, 0) + ways
        counts = nxt
    observed = abs(sum(steps))
    reference = sum(w for t, w in counts.items() if abs(t) >= observed) / 2 ** len(steps)
    assert vqa["p_value"] == pytest.approx(reference, abs=1e-9)


def test_failed_samples_are_counted_per_side_and_left_out(
    tmp_path: Path, server: FakeVLMServer
) -> None:
    base = _run(tmp_path, server, "docvqa", "good", answer_book("docvqa"))
    server.faults.extend(Fault(status=400) for _ in range(5))
    cand = _run(
        tmp_path,
        server,
        "docvqa",
        "flaky",
        answer_book("docvqa"),
        "limits.max_error_rate=1.0",
        "limits.concurrency=1",
    )
    out = json.loads(_compare(base, cand, "--json", cwd=tmp_path).stdout)
    [task] = out["tasks"]
    assert task["n_left_out"] == 5 and task["n_pairs"] == 55
    assert task["failed_cand"] == {"InvalidRequest": 5} and task["failed_base"] == {}
    assert out["metrics"][0]["n_pairs"] == 55
    zero = json.loads(_compare(base, cand, "--json", "--failed-as-zero", cwd=tmp_path).stdout)
    assert zero["tasks"][0]["n_left_out"] == 0 and zero["metrics"][0]["n_pairs"] == 60
    assert zero["metrics"][0]["n_worse"] == 5  # right in the base, failed in the candidate
    assert "failed samples scored 0: 0 in the base, 5 in the candidate" in zero["tasks"][0]["notes"]
    text = _compare(base, cand, cwd=tmp_path).stdout
    assert (
        "55 pairs scored of 60 common samples; 5 left out because a side failed "
        "(candidate: InvalidRequest 5)" in text
    )


def test_no_pair_answered_on_both_sides_is_unusable(tmp_path: Path, server: FakeVLMServer) -> None:
    base = _run(tmp_path, server, "docvqa", "good", answer_book("docvqa"), "dataset.limit=4")
    server.faults.extend(Fault(status=400) for _ in range(4))
    cand = _run(
        tmp_path,
        server,
        "docvqa",
        "down",
        answer_book("docvqa"),
        "dataset.limit=4",
        "limits.max_error_rate=1.0",
    )
    proc = _compare(base, cand, "--fail-on-drop", cwd=tmp_path)
    assert proc.returncode == 2
    assert "docvqa: no sample was answered in both runs (4 in common, 4 left out" in proc.stderr


def test_runs_scored_differently_are_refused_unless_allowed(
    tmp_path: Path, server: FakeVLMServer
) -> None:
    base = _run(tmp_path, server, "docvqa", "good", answer_book("docvqa"))
    cand = _run(tmp_path, server, "docvqa", "other", answer_book("docvqa"), "dataset.limit=30")
    manifest = json.loads((cand / "run.json").read_text())
    manifest["scoring"]["metrics"][0]["params"]["threshold"] = 0.4  # as a run scored at 0.4
    (cand / "run.json").write_text(json.dumps(manifest))
    proc = _compare(base, cand, cwd=tmp_path)
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("evalkit: error: docvqa: the runs are not scored alike")
    assert "'threshold': 0.5" in line and "'threshold': 0.4" in line and "--allow-mismatch" in line
    allowed = _compare(base, cand, "--allow-mismatch", cwd=tmp_path)
    assert allowed.returncode == 0
    assert "scored differently (allowed): metrics:" in allowed.stdout
    assert "only in base: 30, only in candidate: 0" in allowed.stdout


def test_folders_of_runs_match_by_task_and_gate_with_holm(
    tmp_path: Path, server: FakeVLMServer
) -> None:
    for task in ("docvqa", "vqav2"):
        _run(tmp_path, server, task, "good", answer_book(task), where="base")
        _run(tmp_path, server, task, "worse", _every_third_wrong(task), where="cand")
    _run(tmp_path, server, "textvqa", "good", answer_book("textvqa"), where="cand")
    proc = _compare(tmp_path / "base", tmp_path / "cand", "--fail-on-drop", "--json", cwd=tmp_path)
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert [m["task"] for m in out["metrics"]] == ["docvqa", "vqav2"]
    assert out["gate"]["n_gated"] == 2
    assert [m["p_adjusted"] for m in out["metrics"]] == pytest.approx(
        holm([m["p_value"] for m in out["metrics"]]), abs=1e-15
    )
    assert "task textvqa is only in the candidate" in out["notes"]
    one = json.loads(
        _compare(
            tmp_path / "base",
            tmp_path / "cand",
            "--json",
            "--metric",
            "vqav2/vqa_accuracy",
            cwd=tmp_path,
        ).stdout
    )
    assert [m["gated"] for m in one["metrics"]] == [False, True]
    assert one["metrics"][1]["p_adjusted"] == one["metrics"][1]["p_value"]
    unknown = _compare(tmp_path / "base", tmp_path / "cand", "--metric", "cider", cwd=tmp_path)
    assert (
        unknown.returncode == 2
        and "--metric names a metric that the compared runs do not both have: 'cider'"
        in unknown.stderr
    )


def test_markdown_for_a_pull_request(tmp_path: Path, server: FakeVLMServer) -> None:
    base = _run(tmp_path, server, "docvqa", "good", answer_book("docvqa"))
    cand = _run(tmp_path, server, "docvqa", "worse", _every_third_wrong("docvqa"))
    proc = _compare(base, cand, "--fail-on-drop", "--markdown", tmp_path / "c.md", cwd=tmp_path)
    assert proc.returncode == 1 and "result: FAIL" in proc.stdout  # the log still explains it
    md = (tmp_path / "c.md").read_text()
    assert md.startswith("### evalkit compare: FAIL")
    assert "| docvqa | anls | 1.0000 | 0.6667 | **-0.3333** |" in md
    assert "<details><summary>docvqa: 20 samples went down on anls, 0 went up</summary>" in md
    assert "Gate: exit 1 if a gated metric fell by more than 0" in md


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere", "nowhere"], "nowhere does not exist"),
        (["empty", "empty"], "holds no finished run"),
        (["empty", "empty", "--alpha", "2"], "--alpha must be between 0 and 1"),
        (["empty", "empty", "--max-drop", "x"], "expected a number or METRIC=NUMBER"),
    ],
)
def test_unusable_input_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "empty").mkdir()
    proc = _compare(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_caption_metrics_are_resampled_on_both_sides(
    run_eval, server: FakeVLMServer, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """In one process, as a notebook would: the two runs and the comparison share one METEOR
    JVM (starting one takes about 8 s here)."""
    pytest.importorskip("pycocoevalcap")
    if not any((Path(p) / "java").exists() for p in os.environ.get("PATH", "").split(":")):
        pytest.skip("caption metrics need Java")
    from evalkit.cli import main

    api = ["backend=openai", f"backend.base_url={server.openai_url}", "backend.api_key_env=null",
           "cache.mode=off", "task=coco_caption", "report.bootstrap=0"]  # fmt: skip
    server.answer_book = answer_book("coco_caption")
    base = run_eval(*api, "backend.model=good").run_dir
    server.answer_book = answer_book(
        "coco_caption", wrong=lambda i: i % 2 == 0, wrong_answer="a picture of some objects"
    )
    cand = run_eval(*api, "backend.model=worse").run_dir
    capsys.readouterr()
    try:
        main(["compare", str(base), str(cand), "--json", "--resamples", "100",
              "--permutations", "100"])  # fmt: skip
    except SystemExit as exit_info:
        assert exit_info.code in (0, None)
    out = json.loads(capsys.readouterr().out)
    by_metric = {m["metric"]: m for m in out["metrics"]}
    assert list(by_metric) == ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "METEOR", "ROUGE_L", "CIDEr"]
    summary = {r["metric"]: r["value"] for r in pq.read_table(base / "summary.parquet").to_pylist()}
    cand_summary = {
        r["metric"]: r["value"] for r in pq.read_table(cand / "summary.parquet").to_pylist()
    }
    for name, m in by_metric.items():
        # no sample failed, so the corpus values over the pairs are the runs' own
        assert m["base"] == pytest.approx(summary[name], abs=1e-12)
        assert m["cand"] == pytest.approx(cand_summary[name], abs=1e-12)
        assert m["test"] == "permutation-mc" and m["n_pairs"] == 50
        assert m["ci_low"] <= m["diff"] <= m["ci_high"] < 0
        assert m["p_value"] == pytest.approx(1 / 101)  # no permutation beats a drop this large


def test_runs_cut_to_different_subsets_or_joined_differently_are_not_scored_alike() -> None:
    from evalkit.compare.align import scoring_differences
    from evalkit.runfolder.read import RunFolder

    def manifest(subset: str | None, images: str | None) -> dict[str, object]:
        return {
            "task": "flickr30k",
            "scoring": {"parser": "caption", "metrics": []},
            "dataset": {"source": "hf", "id": "d", "subset": subset, "images": images},
        }

    same = scoring_differences(
        RunFolder(Path("a"), manifest("/x/karpathy.txt", None)),
        RunFolder(Path("b"), manifest("/y/karpathy.txt", None)),
    )
    assert same == []  # one list, kept in two places
    [line] = scoring_differences(
        RunFolder(Path("a"), manifest("/x/karpathy.txt", None)),
        RunFolder(Path("b"), manifest(None, None)),
    )
    assert line == "dataset.subset: karpathy.txt vs None"
    [line] = scoring_differences(
        RunFolder(Path("a"), manifest(None, "imgs")), RunFolder(Path("b"), manifest(None, None))
    )
    assert line == "dataset.images: imgs vs None"

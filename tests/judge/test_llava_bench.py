"""LLaVA-Bench's review: the judge scores reference and answer; the relative score."""

from __future__ import annotations

import hashlib
from collections import defaultdict

import pytest

from evalkit import load_run
from evalkit.judge import llava_bench

from ..conftest import judged_on_loopback


def test_the_rule_is_llavas_byte_for_byte() -> None:
    """SHA-256 of rule.json's llava_bench_{conv,detail,complex} prompt (one text) at 181a2f81."""
    digest = hashlib.sha256(llava_bench._RULE.encode()).hexdigest()
    assert digest == "2ce22b562d6008864970ea863ac8a4d385ea6f2e64ab1313a23f825202a9529d"


def test_the_relative_score_is_summarize_gpt_reviews(run_eval, server) -> None:
    server.answer = "An answer."  # the model's
    server.answer_book = {"[Question]\nDescribe the image in detail.": "8 4\nshort",
                          "[Question]\nWhich shape": "7 7\nfine",
                          "[Context]": "9 6\nok"}  # fmt: skip
    outcome = run_eval(*judged_on_loopback(server, "llava_bench"))
    run = load_run(outcome.run_dir)
    judge_requests = [r.body for r in server.received if r.body.get("model") == "judge-2024-01-01"]
    first = judge_requests[0]["messages"]
    assert first[0]["role"] == "system"  # the script's system message, then the review request
    assert [p["text"] for p in first[0]["content"]] == [llava_bench._SYSTEM]
    assert first[1]["content"][0]["text"].startswith("[Context]\nA ")
    rows = run.samples
    assert rows["error_type"].isna().all()
    tuples: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for row in rows.itertuples():  # summarize_gpt_review.py: stats = mean of (ref, answer)
        tuples[row.category].append((row.judge_reference, row.grade))
        tuples["all"].append((row.judge_reference, row.grade))
    summary = run.summary
    for name, pairs in tuples.items():
        ref = sum(p[0] for p in pairs) / len(pairs)
        ans = sum(p[1] for p in pairs) / len(pairs)
        scope = summary[(summary["metric"] == "relative_score")
                        & (summary["group"] == name if name != "all" else summary["kind"] == "metric")]  # fmt: skip
        assert scope["value"].iloc[0] == pytest.approx(ans / ref * 100), name
    assert run.manifest["judge"]["protocol"] == "llava_bench"


def test_a_review_without_two_scores_on_its_first_line_is_judgefailed(run_eval, server) -> None:
    server.answer = "An answer."
    server.answer_book = {"[Question]\nDescribe the image in detail.": "8, 6\nthe script's "
                          "split leaves an empty piece", "[Context]": "9 6"}  # fmt: skip
    outcome = run_eval(
        *judged_on_loopback(server, "llava_bench"),
        "judge.min_coverage=0",
        "limits.max_error_rate=null",
    )
    rows = load_run(outcome.run_dir).samples
    detail = rows["category"] == "detail"
    assert (rows.loc[detail, "error_type"] == "JudgeFailed").all()
    assert rows.loc[~detail, "error_type"].isna().all()


def test_the_stand_in_reviews_offline(run_eval) -> None:
    outcome = run_eval("task=llava_bench", "judge=stand_in", "backend.answer=The square is red.")
    run = load_run(outcome.run_dir)
    assert (run.samples["judge_reference"] == 8.0).all()
    assert 0 < run.manifest["results"]["relative_score"] < 100

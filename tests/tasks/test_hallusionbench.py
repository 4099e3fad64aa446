"""HallusionBench: VLMEvalKit's yes/no reading, its judge fallback, evaluation.py's fAcc and qAcc."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

from evalkit import load_run
from evalkit.judge.protocols import PROTOCOLS, JudgeQuery
from evalkit.parse.yorn import read_yes_no
from evalkit.resources import sample_data_dir

from ..conftest import judged_on_loopback, predictions_file

SAMPLE = pd.read_parquet(sample_data_dir() / "hallusionbench" / "image.parquet")
YORN = PROTOCOLS["yorn"]


def _official(rows: list[dict[str, str]], correct: list[int]) -> dict[str, float]:
    """evaluation.py's get_eval_all, get_eval_fig and get_eval_pair_all (tianyi-lab/
    HallusionBench @ 67ba0de2), restated: the share right per question, per figure, per pair."""
    figures: dict[str, tuple[int, int]] = {}
    pairs: dict[str, tuple[int, int]] = {}
    for r, c in zip(rows, correct, strict=True):
        if not (r["category"] == "VS" and r["figure_id"] == "0"):
            name = "_".join([r["category"], r["subcategory"], r["set_id"], r["figure_id"]])
            got, total = figures.get(name, (0, 0))
            figures[name] = (got + c, total + 1)
        name = "_".join([r["category"], r["subcategory"], r["set_id"], r["question_id"]])
        got, total = pairs.get(name, (0, 0))
        pairs[name] = (got + c, total + 1)
    a = sum(correct) / len(correct)
    f = sum(g == t for g, t in figures.values()) / len(figures)
    q = sum(g == t for g, t in pairs.values()) / len(pairs)
    return {"yes_no_accuracy": a, "hallusion_figure_accuracy": f, "hallusion_pair_accuracy": q,
            "hallusion_overall": (a + f + q) / 3}  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "read"),
    [("Yes", "yes"), ("No.", "no"), ("yes, and no", ""), ("Yes-it is", "yes"), ("no-one", "no"),
     ("NO!", "no"), ("Nope", ""), ("It is, yes.", "yes"), ("(yes)", "yes"), ("", "")],
)  # fmt: skip
def test_yes_or_no_is_read_as_vlmevalkit_reads_it(answer: str, read: str) -> None:
    assert read_yes_no(answer) == read


def _replies() -> dict[str, str]:
    rng = random.Random(9)
    out = {}
    for index, row in enumerate(SAMPLE.itertuples()):
        right = "Yes" if row.gt_answer == "1" else "No"
        wrong = "No" if right == "Yes" else "Yes"
        out[str(index)] = rng.choice([f"{right}, I am sure.", right, f"{wrong}.", "Hard to say"])
    return out


def test_each_question_figure_and_pair_as_the_scripts_score_them(run_eval, tmp_path: Path) -> None:
    replies = _replies()
    path = predictions_file(tmp_path / "preds.jsonl", replies.items())
    outcome = run_eval("task=hallusionbench", "backend=replay", f"backend.predictions={path}")
    run = load_run(outcome.run_dir)
    rows = SAMPLE.to_dict("records")
    correct = [int(read_yes_no(replies[str(i)]) == ("yes" if r["gt_answer"] == "1" else "no"))
               for i, r in enumerate(rows)]  # fmt: skip
    summary = run.summary
    overall = summary[summary["kind"] == "metric"].set_index("metric")["value"].to_dict()
    overall.pop("cost_spent", None), overall.pop("cost_saved", None)
    assert overall == pytest.approx(_official(rows, correct), abs=1e-12)
    for category in ("VD", "VS"):
        members = [i for i, r in enumerate(rows) if r["category"] == category]
        got = summary[(summary["group_by"] == "category") & (summary["group"] == category)]
        expected = _official([rows[i] for i in members], [correct[i] for i in members])
        assert got.set_index("metric")["value"].to_dict() == pytest.approx(expected, abs=1e-12)
    hedged = sum(r == "Hard to say" for r in replies.values())
    assert hedged > 0 and run.manifest["scoring"]["unparsed"] == hedged


def test_the_judge_reads_only_what_the_rule_cannot(run_eval, server) -> None:
    server.answer_book = {"Your output: ": "No"}  # the judge's prompts end so
    server.answer = "Hard to say"
    outcome = run_eval(*judged_on_loopback(server, "hallusionbench"))
    run = load_run(outcome.run_dir)
    rows = run.samples
    assert rows["judge_asked"].all() and (rows["parsed"] == "no").all()
    gold_no = (SAMPLE["gt_answer"] == "0").to_numpy()
    assert (rows["yes_no_accuracy"].to_numpy() == gold_no.astype(float)).all()
    judge = run.manifest["judge"]
    assert (judge["protocol"], judge["mode"], judge["asked"]) == ("yorn", "fallback", len(rows))
    prompts = [
        r.body["messages"][-1]["content"]
        for r in server.received
        if "Your output: " in str(r.body["messages"][-1]["content"])
    ]
    text = prompts[0] if isinstance(prompts[0], str) else prompts[0][0]["text"]
    assert text.startswith("You are an AI assistant who will help me to match an answer with two")
    assert text.endswith("?\nAnswer: Hard to say\nYour output: ")


def test_the_judges_unknown_is_a_verdict_and_nonsense_is_not() -> None:
    query = JudgeQuery("Is it red?", "Hard to say", ("1",))
    assert [getattr(YORN.read(t, query), "text", None) for t in ("Yes.", "Unknown", "??")] == [
        "yes",
        "unknown",
        None,
    ]


HB = PROTOCOLS["hallusionbench"]


def test_hallusionbenchs_own_check_is_its_scripts_prompt_and_reading() -> None:
    query = JudgeQuery("Is it red?", "Yes, it is.", ("1",), meta={"gt_answer_details": "Red."})
    [prompt] = HB.prompts(query)
    assert prompt.startswith("Imagine you are an intelligent teacher.")
    assert "please generate \u201cincorrect\u201d." in prompt  # the script's curly quotes
    assert prompt.endswith(" Question:Is it red?\nReference answer: Red.\n"
                           "Prediction answer:Yes, it is.\nOutput:")  # fmt: skip
    assert HB.template_sha256 == "15c794bb1b7619df78147568c0d3320e73248fbf6baeb3e4b25e7e6039040ed6"
    verdicts = [HB.read(t, query) for t in ("Correct", "This is incorrect.", "unclear", "")]
    assert [(v.text, v.score) for v in verdicts if v is not None] == [
        ("correct", 1.0),
        ("incorrect", 0.0),
        ("unclear", 0.0),
        ("unclear", 0.0),
    ]


def test_hallusionbenchs_own_check_grades_every_answer(run_eval, server) -> None:
    server.answer_book = {"\nOutput:": "Incorrect"}  # the check's prompts end so
    server.answer = "Yes"
    outcome = run_eval(*judged_on_loopback(server, "hallusionbench"), "task.judge.protocol=hallusionbench",
                       "task.judge.mode=always")  # fmt: skip
    run = load_run(outcome.run_dir)
    rows = run.samples
    assert rows["judge_asked"].all() and (rows["yes_no_accuracy"] == 0.0).all()
    assert run.manifest["judge"]["protocol"] == "hallusionbench"
    contents = [r.body["messages"][-1]["content"] for r in server.received]
    texts = [c if isinstance(c, str) else "".join(p.get("text", "") for p in c) for c in contents]
    checks = [t for t in texts if t.endswith("\nOutput:")]
    details = set(SAMPLE["gt_answer_details"])
    distinct = len(SAMPLE[["question", "gt_answer_details"]].drop_duplicates())
    assert len(checks) == len(set(checks)) == distinct  # an identical prompt is asked once
    assert all(any(f"\nReference answer: {d}\n" in c for d in details) for c in checks)

"""MathVista's extraction by a judge: its prompt, asked only where its rules read nothing."""

from __future__ import annotations

import hashlib

from evalkit import load_run
from evalkit.judge import mathvista
from evalkit.judge.protocols import JudgeQuery

from ..conftest import judged_on_loopback


def test_the_prompt_is_create_test_prompt_with_mathvistas_examples() -> None:
    """``demo_prompt`` of evaluation/prompts/ext_ans.py (SHA-256 of the literal, from the
    repository at 53d52587), then create_test_prompt's f"{demo}\\n\\n{query}\\n\\n{response}"."""
    digest = hashlib.sha256(mathvista._DEMO.encode()).hexdigest()
    assert digest == "a231722ced09cbd1f3fd16630ab58bf487f12e2f46ea0b26d1f2f6b5c50fb17c"
    [prompt] = mathvista.prompts(JudgeQuery("Hint: h\nQuestion: q", "It is 3.", ("3",)))
    assert prompt == (mathvista._DEMO.strip() + "\n\nHint: h\nQuestion: q\n\nIt is 3."
                      "\n\nExtracted answer: ")  # fmt: skip


def test_the_judge_reads_what_the_rules_cannot(run_eval, server) -> None:
    server.answer_book = {"Extracted answer: ": "2"}  # the judge's prompts end with the cue
    server.answer = "I believe the value is two"  # no number the rules can read
    outcome = run_eval(*judged_on_loopback(server, "mathvista"))
    run = load_run(outcome.run_dir)
    rows = run.samples
    asked = rows["judge_asked"]
    choice = rows["choices"].notna()
    # an option's text in the answer is read by the rules; free-form answers go to the judge
    assert asked[~choice].all() and (rows.loc[asked, "parsed"] == "2").all()
    assert run.manifest["judge"]["protocol"] == "mathvista"
    assert run.manifest["judge"]["params"]["max_tokens"] == 1024
    assert run.manifest["scoring"]["unparsed"] == 0


def test_without_a_judge_the_rules_alone_score_and_count_the_rest(run_eval) -> None:
    outcome = run_eval("task=mathvista", "backend.answer=I believe it is two")
    run = load_run(outcome.run_dir)
    assert run.manifest["judge"] is None
    assert run.manifest["scoring"]["unparsed"] > 0

"""MMBench with VLMEvalKit's judge fallback: the rule first, the judge where it reads nothing."""

from __future__ import annotations

import pytest

from evalkit import load_run
from evalkit.judge.mmbench import MMBENCH
from evalkit.judge.protocols import JudgeQuery

from ..conftest import judged_on_loopback

QUERY = JudgeQuery("Which animal", "It is probably a dog", ("B",), ("cat", "dog", "bird"))


def test_the_prompt_is_vlmevalkits_build_prompt() -> None:
    [prompt] = MMBENCH.prompts(QUERY)
    assert prompt.startswith("You are an AI assistant who will help me to match an answer")
    # build_prompt: 'Question: {}?\nOptions: {}\nAnswer: {}\nYour output: ', options by
    # build_option_str: a heading, then one 'A. text' line each
    assert prompt.endswith(
        "Example 3: \nQuestion: Which animal?\nOptions: There are several options: \n"
        "A. cat\nB. dog\nC. bird\n\nAnswer: It is probably a dog\nYour output: "
    )


def test_a_question_in_chinese_gets_the_chinese_prompt() -> None:
    [prompt] = MMBENCH.prompts(JudgeQuery("图中是什么动物", "狗", ("B",), ("猫", "狗")))
    assert prompt.startswith("你是一个帮助我匹配答案与单选题中多个选项的 AI 助手。")
    assert prompt.endswith("问题: 图中是什么动物?\n选项: There are several options: \nA. 猫\nB. 狗\n"
                           "\n答案: 狗\n输出: ")  # fmt: skip


@pytest.mark.parametrize(
    ("text", "letter"),
    [("B", "B"), ("B.", "B"), ("Your output: C", "C"), ("Z", "Z"), ("D", None), ("A or B", None),
     ("", None), ("I choose A", "A"), ("bird", "C")],
)  # fmt: skip
def test_the_judges_answer_is_read_by_can_infer_against_the_options(
    text: str, letter: str | None
) -> None:
    verdict = MMBENCH.read(text, QUERY)
    assert (verdict.text if verdict else None) == letter


def test_the_judge_reads_only_the_answers_the_rule_cannot(run_eval, server) -> None:
    # the judge's prompts end "Your output: "; the model's do not
    server.answer_book = {"Your output: ": "Z", "What does the sign say?": "B"}
    server.answer = "???"  # no letter, no option's text: the rule reads nothing
    outcome = run_eval(*judged_on_loopback(server, "mmbench_en"))
    run = load_run(outcome.run_dir)
    rows = run.samples
    sign = rows["prediction"] == "B"
    assert sign.any() and (~rows.loc[sign, "judge_asked"]).all()
    assert (rows.loc[sign, "parsed"] == "B").all()
    assert rows.loc[~sign, "judge_asked"].all() and (rows.loc[~sign, "parsed"] == "Z").all()
    judge = run.manifest["judge"]
    assert judge["mode"] == "fallback" and judge["protocol"] == "mmbench"
    assert judge["asked"] == int((~sign).sum()) and judge["answers"] == len(rows)
    assert judge["asked_rate"] == pytest.approx((~sign).mean(), abs=1e-6)
    assert run.manifest["scoring"]["unparsed"] == 0  # the judge read them


def test_without_a_judge_the_rule_alone_scores_and_counts_what_it_cannot_read(
    run_eval, server
) -> None:
    server.answer = "???"
    outcome = run_eval("task=mmbench_en", "backend=openai", f"backend.base_url={server.openai_url}",
                       "backend.model=vlm", "backend.api_key_env=null")  # fmt: skip
    run = load_run(outcome.run_dir)
    assert "judge_asked" not in run.samples.columns and run.manifest["judge"] is None
    assert run.manifest["scoring"]["unparsed"] == len(run.samples)  # none chose a letter
    assert (run.samples["exact_match"] == 0).all()


def test_judge_mode_always_asks_about_every_answer(run_eval, server) -> None:
    server.answer_book = {"Your output: ": "A"}
    server.answer = "B"
    outcome = run_eval(*judged_on_loopback(server, "mmbench_en", "judge.mode=always"))
    rows = load_run(outcome.run_dir).samples
    assert rows["judge_asked"].all() and (rows["parsed"] == "A").all()


def test_the_stand_in_is_asked_where_the_rule_reads_nothing(run_eval) -> None:
    outcome = run_eval("task=mmbench_en", "judge=stand_in", "backend.answer=qqq")
    run = load_run(outcome.run_dir)
    rows = run.samples
    assert rows["judge_asked"].all() and (rows["parsed"] == "Z").all()  # no shared word
    assert run.manifest["judge"]["backend"]["name"] == "stand_in"


def test_the_templates_are_vlmevalkits_byte_for_byte() -> None:
    """SHA-256 of build_prompt's and build_prompt_cn's templates, taken from VLMEvalKit's
    multiple_choice.py at 895762d3 (the literal strings, before ``format``)."""
    import hashlib

    from evalkit.judge import mmbench

    digest = {n: hashlib.sha256(t.encode()).hexdigest() for n, t in
              (("en", mmbench._EN), ("cn", mmbench._CN))}  # fmt: skip
    assert digest == {
        "en": "133b2beaa0ce149aab95c6d01d4629f034e8861c723fc302ab3853a41e690c86",
        "cn": "6cd5198da4ff3d4179a6db5bf17eeb181fa9e55caba876e632f7c583ac0eeb7c",
    }

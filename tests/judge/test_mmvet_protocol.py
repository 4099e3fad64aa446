"""MM-Vet's grader protocol: the prompt and the reading of its official script."""

from __future__ import annotations

import pytest

from evalkit.judge.mmvet import MMVET
from evalkit.judge.protocols import PROTOCOLS, JudgeQuery

QUERY = JudgeQuery("What is x in the equation?", "x = -1 or x = 5", ("-1<AND>-5",))


def test_the_prompt_is_the_table_with_the_answers_row_last() -> None:
    first, again = MMVET.prompts(QUERY)
    table, _, row = first.rpartition("\n")
    # mm-vet_evaluator.py: prompt + "\n" + " | ".join([question, gt spaced, prediction, ""])
    assert row == "What is x in the equation? | -1 <AND> -5 | x = -1 or x = 5 | "
    assert table.startswith("Compare the ground truth and prediction from AI models")
    assert "Question | Ground truth | Prediction | Correctness\n--- | --- | --- | ---\n" in table
    assert table.endswith("physical characteristics. | 1.0\n")  # its last example, then a blank
    assert again == first + "\nPredict the correctness of the answer (digit): "


@pytest.mark.parametrize(
    ("text", "grade"),
    [("0.6", 0.6), ("1.0", 1.0), ("0.0\n", 0.0), ("1", 1.0), (".5", 0.5), ("0.4 mostly", 0.4),
     ("Correctness: 0.5", None), (" 0.8", None), ("1.0\nbecause", None), ("1.5", None),
     ("-0.1", None), ("nan", None), ("", None), ("zero", None)],
)  # fmt: skip
def test_the_grade_is_the_text_before_the_first_space_within_0_and_1(
    text: str, grade: float | None
) -> None:
    verdict = MMVET.read(text, QUERY)
    assert (verdict.score if verdict else None) == grade


def test_the_template_hash_covers_both_prompts_and_is_stable() -> None:
    assert PROTOCOLS["mmvet"] is MMVET
    assert len(MMVET.template_sha256) == 64
    assert MMVET.describe()["template_sha256"] == MMVET.template_sha256
    assert "c7ff270d86fb79c42346214366f4192c0e08b042" in MMVET.source


@pytest.mark.parametrize(
    ("answer", "gold", "grade"),
    [("x = -1", "-1<AND>-5", "0.5"), ("x = -1 or x = -5", "-1<AND>-5", "1.0"),
     ("It is Two.", "2<OR>two", "1.0"), ("three", "2<OR>two", "0.0"), ("A red one", "red", "1.0"),
     ("a | b", "b", "1.0")],
)  # fmt: skip
def test_the_stand_in_grades_by_the_parts_found(answer: str, gold: str, grade: str) -> None:
    prompt = MMVET.prompts(JudgeQuery("q", answer, (gold,)))[0]
    assert MMVET.stand_in(prompt) == grade
    assert MMVET.read(grade, QUERY) is not None  # in the judge's own format


def test_the_prompt_is_mmvets_byte_for_byte() -> None:
    """SHA-256 of ``prompt`` in mm-vet_evaluator.py at c7ff270d (the literal string)."""
    import hashlib

    from evalkit.judge import mmvet

    assert hashlib.sha256(mmvet._PROMPT.encode()).hexdigest() == (
        "d1b3e0a5b4e72c888b77164489d705bba4dd149934fff564dfba6443d81afe3f"
    )

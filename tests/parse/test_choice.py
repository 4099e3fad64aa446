"""Stage ⑤: the letter a multiple-choice answer names, read as VLMEvalKit reads it."""

from __future__ import annotations

import pytest

from evalkit.parse.choice import choose_letter

OPTIONS = ["a red circle", "a blue square", "a green triangle", "nothing"]

# (answer, letter under vlmevalkit, letter under vlmevalkit-cjk): the shapes the issue lists
SHAPES = [
    ("B", "B", "B"),
    ("B.", "B", "B"),
    ("(B)", "B", "B"),
    ("答案是B", "", "B"),  # VLMEvalKit would ask its judge model here; offline, no choice
    ("答案：B。", "", "B"),  # full-width punctuation is no separator for VLMEvalKit
    ("The answer is B because the square is blue.", "B", "B"),
    ("a blue square", "B", "B"),  # the option's text instead of its letter
    ("I think it is a blue square.", "B", "B"),
    ("选B", "", "B"),
]


@pytest.mark.parametrize(("answer", "plain", "cjk"), SHAPES)
def test_the_letter_is_read_from_the_answer_shapes_models_write(
    answer: str, plain: str, cjk: str
) -> None:
    assert choose_letter(answer, OPTIONS, "vlmevalkit") == plain
    assert choose_letter(answer, OPTIONS, "vlmevalkit-cjk") == cjk


@pytest.mark.parametrize(("answer", "expected"), [
    ("B or C", ""),  # two letters: no choice
    ("Cannot determine the answer", "Z"),  # a refusal: none of the options
    ("Z", "Z"),
    ("E", ""),  # not one of the four letters
    ("a red circle or a blue square", ""),  # two option texts
    ("A", "A"),
    ("A dog", "A"),  # 'A' the article counts, as VLMEvalKit counts it (it only logs the doubt)
])  # fmt: skip
def test_vlmevalkit_can_infer_as_its_source_reads(answer: str, expected: str) -> None:
    # vlmeval/utils/matching_util.py at 18fc37a5337e31eec9c104887728ad14e82a6a85
    assert choose_letter(answer, OPTIONS, "vlmevalkit") == expected

"""MathVista's model-free answer reading: which answers count as read, the text kept as is."""

from __future__ import annotations

import pytest

from evalkit.families import family_named
from evalkit.parse import build_parser
from evalkit.records import Sample

PARSE = build_parser("mathvista", family=family_named("default"))
CHOICE = Sample("1", (), choices=("3", "4", "5"), meta={"answer_type": "text"})
INTEGER = Sample("2", (), meta={"answer_type": "integer"})
FLOAT = Sample("3", (), meta={"answer_type": ["float"]})  # a run folder's list column


@pytest.mark.parametrize(
    ("text", "sample", "parsed"),
    [
        ("4", CHOICE, True),  # extract_answer.py: the response is one of the options
        ("B", CHOICE, True),  # the extraction model's letter
        ("(C) 5", CHOICE, True),
        ("B.", CHOICE, True),
        ("D", CHOICE, False),  # no fourth option
        ("A triangle has three sides, so 3.", CHOICE, False),  # only a model reads this
        ("", CHOICE, True),  # an empty response is taken as it is
        ("12", INTEGER, True),  # int(response)
        (" 12 ", INTEGER, True),
        ("12.0", INTEGER, False),  # int() refuses it; the extraction model would read it
        ("1.5", FLOAT, True),  # float(response)
        ("about 1.5", FLOAT, False),
    ],
)
def test_which_answers_the_rules_read(text: str, sample: Sample, parsed: bool) -> None:
    prediction = PARSE(text, sample)
    assert (prediction.answer, prediction.parsed) == (text, parsed)

"""MathVista's scoring: the extracted answer, normalised to the answer's type, equals the gold.

As ``evaluation/calculate_score.py`` of ``lupantech/MathVista`` (commit 53d52587) scores it:

- a multiple-choice answer is the option it names: the letter inside the first ``(X)``, or the
  whole text as a letter (``A`` is the first option), else the option nearest to the text by
  Levenshtein distance (the first of equals), so it always names one;
- an integer answer is ``str(int(float(text)))``; a float answer is rounded to the question's
  ``precision`` (``str(round(float(text), precision))``); text that is not a number scores 0;
- a list answer is the text as it stands.

Unlike that script, the gold answer is always the dataset's: an output file's own copy of the
answer (which the script prefers when present) is never read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rapidfuzz.distance import Levenshtein

__all__ = ["normalize_extraction"]

_LETTER_IN_PARENS = re.compile(r"\(([a-zA-Z])\)")


def _most_similar(text: str, choices: Sequence[str]) -> str:
    distances = [Levenshtein.distance(text, choice) for choice in choices]
    return choices[distances.index(min(distances))]


def normalize_extraction(
    extraction: str,
    *,
    choices: Sequence[str],
    question_type: str,
    answer_type: str,
    precision: Any,
) -> str | None:
    """The extracted answer in the gold answer's form; ``None`` when it has none.

    >>> normalize_extraction("(B) 3", choices=["2", "3"], question_type="multi_choice",
    ...                      answer_type="text", precision=None)
    '3'
    >>> normalize_extraction("1.25", choices=[], question_type="free_form",
    ...                      answer_type="float", precision=1.0)
    '1.2'
    """
    if question_type == "multi_choice":
        text = extraction.strip()
        letters = _LETTER_IN_PARENS.findall(text)
        if letters:
            text = letters[0].upper()
        sequential = [chr(ord("A") + i) for i in range(len(choices))]
        if text in sequential:
            return choices[sequential.index(text)]
        return _most_similar(text, choices) if choices else None
    try:
        if answer_type == "integer":
            return str(int(float(extraction)))
        if answer_type == "float":
            return str(round(float(extraction), int(float(precision))))
    except (TypeError, ValueError, OverflowError):
        return None
    return str(extraction)  # a list, or free-form text, compares as written

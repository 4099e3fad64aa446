"""MathVista's answer extraction, the part that needs no model.

``evaluation/extract_answer.py`` of ``lupantech/MathVista`` (commit 53d52587) takes an answer as
it stands when it is empty, is one of the options, or is a whole integer or float (by the
question's answer type), and asks its extraction model (GPT) for anything else. evalkit keeps
the text as written and lets the scorer normalise it (:mod:`evalkit.score.mathvista`); an
answer none of those rules reads, nor an option letter (``B``, ``(B) 3``: what the extraction
model writes), is counted as unparsed: MathVista would have asked its model to read it.
"""

from __future__ import annotations

import re
from typing import Any

from evalkit.records import Prediction, Sample

__all__ = ["meta_text", "parse_mathvista"]

_OPTION = re.compile(r"\s*(?:\(([A-Za-z])\)(?:\s.*)?|([A-Z])[.:)]?)\s*", re.DOTALL)
"""An option named by its letter: ``B``, ``B.``, ``(B)``, ``(B) 4``."""


def meta_text(value: Any) -> str:
    """A kept value as one text (a run folder stores some kept columns as lists)."""
    if isinstance(value, list | tuple):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def _reads_as(text: str, kind: type) -> bool:
    try:
        kind(text)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def parse_mathvista(text: str, sample: Sample) -> Prediction:
    """The answer as written, flagged unparsed when only the extraction model could read it.

    >>> from evalkit.records import Sample
    >>> s = Sample("1", (), choices=("3", "4"), meta={"answer_type": "integer"})
    >>> parse_mathvista("(B) 4", s).parsed, parse_mathvista("It is four.", s).parsed
    (True, False)
    """
    answer_type = meta_text(sample.meta.get("answer_type"))
    if sample.choices:
        found = _OPTION.fullmatch(text)
        named = (found.group(1) or found.group(2) or "").upper() if found else ""
        letter = bool(named) and named < chr(ord("A") + len(sample.choices))
        parsed = text == "" or text in sample.choices or letter
    else:
        parsed = (
            text == ""
            or (answer_type == "integer" and _reads_as(text, int))
            or (answer_type == "float" and _reads_as(text, float))
        )
    return Prediction(answer=text, parsed=bool(parsed))

"""Completion text → the answer or caption a scorer compares, cleaned as the model family says."""

from __future__ import annotations

from evalkit.families import ModelFamily
from evalkit.families.generic import GENERIC
from evalkit.records import Prediction, Sample

__all__ = ["clean_answer", "parse_answer", "parse_caption"]


def clean_answer(text: str, family: ModelFamily = GENERIC) -> str:
    """Strip surrounding whitespace and the family's end-of-turn markers (scorers do the rest).

    >>> clean_answer("  Paris<|im_end|>")
    'Paris'
    """
    return family.clean(text)


def parse_answer(text: str, sample: Sample, *, family: ModelFamily = GENERIC) -> Prediction:
    """A short answer: the text without end markers and surrounding space.

    >>> parse_answer(" 42<|endoftext|>", Sample(id="q", images=())).answer
    '42'
    """
    return Prediction(answer=clean_answer(text, family))


def parse_caption(text: str, sample: Sample, *, family: ModelFamily = GENERIC) -> Prediction:
    """A caption: as an answer, with runs of whitespace (newlines included) made one space.

    >>> parse_caption("A dog  on   grass.", Sample(id="c", images=())).answer
    'A dog on grass.'
    """
    return Prediction(answer=" ".join(clean_answer(text, family).split()))

"""Stage ⑤: completion text → :class:`~evalkit.records.Prediction`.

A task names its parser (``parser: answer | caption | box``); :func:`build_parser` binds it to
the run's model family and box convention. Adding a parser is one entry in :data:`PARSERS`
(another package adds one through :mod:`evalkit.registry`'s entry points).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from evalkit.families import ModelFamily
from evalkit.parse.answers import clean_answer, parse_answer, parse_caption
from evalkit.parse.boxes import BOX_FORMATS, box_parser, parse_box
from evalkit.parse.choice import CHOICE_RULES, choose_letter
from evalkit.parse.mathvista import parse_mathvista
from evalkit.parse.mme import mme_label
from evalkit.parse.mmmu import parse_mmmu
from evalkit.parse.pope import pope_reads_yes
from evalkit.parse.yorn import read_yes_no
from evalkit.records import Prediction, Sample
from evalkit.registry import Registry

__all__ = [
    "BOX_FORMATS",
    "CHOICE_RULES",
    "PARSERS",
    "ParserEntry",
    "Parser",
    "build_parser",
    "clean_answer",
    "parse_box",
]

Parser = Callable[[str, Sample], Prediction]
"""``(completion text, sample) -> prediction``."""


def _answer(family: ModelFamily, box: str | None) -> Parser:
    return partial(parse_answer, family=family)


def _caption(family: ModelFamily, box: str | None) -> Parser:
    return partial(parse_caption, family=family)


def _pope(family: ModelFamily, box: str | None) -> Parser:
    def parse(text: str, sample: Sample) -> Prediction:
        answer = clean_answer(text, family)
        return Prediction(answer="yes" if pope_reads_yes(answer) else "no")

    return parse


def _mme(family: ModelFamily, box: str | None) -> Parser:
    def parse(text: str, sample: Sample) -> Prediction:
        label = mme_label(clean_answer(text, family))
        return Prediction(answer=label, parsed=label != "other")

    return parse


def _yes_no(family: ModelFamily, box: str | None) -> Parser:
    def parse(text: str, sample: Sample) -> Prediction:
        answer = clean_answer(text, family)
        label = read_yes_no(answer)
        return Prediction(answer=label, parsed=bool(label))  # neither: the judge may read it

    return parse


def _mmmu(family: ModelFamily, box: str | None) -> Parser:
    def parse(text: str, sample: Sample) -> Prediction:
        return parse_mmmu(clean_answer(text, family), sample)

    return parse


def _box(family: ModelFamily, box: str | None) -> Parser:
    return box_parser(box or "pixel")


def _choice_parser(rule: str) -> Callable[[ModelFamily, str | None], Parser]:
    def factory(family: ModelFamily, box: str | None) -> Parser:
        def parse(text: str, sample: Sample) -> Prediction:
            answer = clean_answer(text, family)
            letter = choose_letter(answer, sample.choices, rule)
            return Prediction(answer=letter, parsed=bool(letter))  # nothing chosen: unparsed

        return parse

    return factory


@dataclass(frozen=True)
class ParserEntry:
    """One parser: how it is made for a run, and what its prediction carries."""

    factory: Callable[[ModelFamily, str | None], Parser]
    """``(family, box format) -> parser``."""
    output: Literal["text", "box"] = "text"
    """What the metrics read of its prediction: an answer text or a box."""


PARSERS: Registry[ParserEntry] = Registry("parser", {
    "answer": ParserEntry(_answer),
    "caption": ParserEntry(_caption),
    "box": ParserEntry(_box, "box"),
    "choice": ParserEntry(_choice_parser("vlmevalkit")),
    "choice-cjk": ParserEntry(_choice_parser("vlmevalkit-cjk")),
    "mathvista": ParserEntry(lambda family, box: parse_mathvista),
    "pope": ParserEntry(_pope),
    "mme": ParserEntry(_mme),
    "mmmu": ParserEntry(_mmmu),
    "yes_no": ParserEntry(_yes_no),
})  # fmt: skip
"""Parser name → entry (another package adds one through :mod:`evalkit.registry`)."""


def build_parser(name: str, *, family: ModelFamily, box_format: str | None = None) -> Parser:
    """The parser ``name`` for one run's family and box convention.

    >>> from evalkit.families import family_named
    >>> from evalkit.records import ImageRef
    >>> parse = build_parser("box", family=family_named("qwen-vl"), box_format="qwen-vl")
    >>> parse("(0,0),(999,999)", Sample(id="1", images=(ImageRef(b"", 100, 100, "PNG"),))).box
    (0.0, 0.0, 100.0, 100.0)
    """
    return PARSERS[name].factory(family, box_format)

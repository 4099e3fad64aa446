"""Stage ⑤: completion text → :class:`~evalkit.records.Prediction`.

A task names its parser (``parser: answer | caption | box``); :func:`build_parser` binds it to
the run's model family and box convention. Adding a parser is one entry in :data:`PARSERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from evalkit.errors import ConfigError, did_you_mean
from evalkit.families import ModelFamily
from evalkit.parse.answers import clean_answer, parse_answer, parse_caption
from evalkit.parse.boxes import BOX_FORMATS, box_parser, parse_box
from evalkit.parse.choice import CHOICE_RULES, choose_letter
from evalkit.records import Prediction, Sample

__all__ = [
    "BOX_FORMATS",
    "CHOICE_RULES",
    "PARSERS",
    "PARSER_OUTPUT",
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


def _box(family: ModelFamily, box: str | None) -> Parser:
    return box_parser(box or "pixel")


def _choice_parser(rule: str) -> Callable[[ModelFamily, str | None], Parser]:
    def factory(family: ModelFamily, box: str | None) -> Parser:
        def parse(text: str, sample: Sample) -> Prediction:
            answer = clean_answer(text, family)
            return Prediction(answer=choose_letter(answer, sample.choices, rule))

        return parse

    return factory


PARSERS: dict[str, Callable[[ModelFamily, str | None], Parser]] = {
    "answer": _answer,
    "caption": _caption,
    "box": _box,
    "choice": _choice_parser("vlmevalkit"),
    "choice-cjk": _choice_parser("vlmevalkit-cjk"),
}
"""Parser name → ``(family, box format) -> parser``."""

PARSER_OUTPUT = {"answer": "text", "caption": "text", "box": "box", "choice": "text",
                 "choice-cjk": "text"}  # fmt: skip
"""What each parser's prediction carries for the metrics: an answer text or a box."""


def build_parser(name: str, *, family: ModelFamily, box_format: str | None = None) -> Parser:
    """The parser ``name`` for one run's family and box convention.

    >>> from evalkit.families import family_named
    >>> from evalkit.records import ImageRef
    >>> parse = build_parser("box", family=family_named("qwen-vl"), box_format="qwen-vl")
    >>> parse("(0,0),(999,999)", Sample(id="1", images=(ImageRef(b"", 100, 100, "PNG"),))).box
    (0.0, 0.0, 100.0, 100.0)
    """
    factory = PARSERS.get(name)
    if factory is None:
        raise ConfigError(did_you_mean("parser", name, PARSERS))
    return factory(family, box_format)

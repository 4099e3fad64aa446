"""What a model family is: a box convention, an image-token rule, end markers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from evalkit.records import Box

__all__ = ["BoxFormat", "BoxReader", "BoxWriter", "ModelFamily", "first_four", "number", "ordered"]

BoxReader = Callable[[str, int, int], "Box | None"]
"""``(text, width, height) -> pixel corners`` or ``None`` when the text holds no box."""
BoxWriter = Callable[[Box, int, int], str]
"""``(pixel corners, width, height) -> text`` as the family writes a box."""


def ordered(x1: float, y1: float, x2: float, y2: float) -> Box:
    """Corners put in order: ``(min x, min y, max x, max y)``."""
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


@dataclass(frozen=True)
class BoxFormat:
    """A box convention: how a family writes a box in text, and how to read it back.

    ``read(text, width, height)`` returns pixel corners of the original image, or ``None`` when
    the text holds no box in this convention; ``write(box, width, height)`` writes pixel corners
    as the family would. Reading what was written gives the box back up to the grid's rounding.
    """

    name: str
    read: BoxReader
    write: BoxWriter


def _no_tokens(width: int | None, height: int | None, high_resolution: bool) -> int:
    return 0


@dataclass(frozen=True)
class ModelFamily:
    """One family of models: what prompt, parse, cost and baseline code need to know of it."""

    name: str
    """The ``backend.prompt_family`` value that selects it."""
    box_format: str | None = None
    """The box convention its grounding prompts ask for, unless the prompt names another."""
    images_first: bool = True
    """Prompt placement: the sample's images go before the text of the user turn (as every
    Qwen-VL generation and lmms-eval's chat prompts put them), else after it."""
    inline_examples: bool = False
    """In-context examples as one running text in the user turn, each image then its question
    and answer (Qwen-VL base, eval_mm's few-shot prompts), rather than earlier chat turns."""
    end_markers: tuple[str, ...] = ()
    """Chat end-of-turn markers a server may leave in the text; stripped from answers."""
    model_prefixes: tuple[str, ...] = ()
    """Lower-case model-name prefixes that belong to it (for token and price rules)."""
    image_tokens: Callable[[int | None, int | None, bool], int] = field(default=_no_tokens)
    """``(width, height, high_resolution) -> tokens`` for one image; ``None`` sizes are unknown."""

    def clean(self, text: str) -> str:
        """``text`` without this family's end markers, stripped.

        >>> ModelFamily("x", end_markers=("<|im_end|>",)).clean(" Paris<|im_end|>")
        'Paris'
        """
        for marker in self.end_markers:
            text = text.replace(marker, "")
        return text.strip()


_NUM = r"(-?\d+(?:\.\d+)?)"
_POINTS = re.compile(rf"\(\s*{_NUM}\s*,\s*{_NUM}\s*\)\s*,?\s*\(\s*{_NUM}\s*,\s*{_NUM}\s*\)")
_FOUR = re.compile(rf"[\[(]\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*[\])]")


def first_four(text: str) -> tuple[float, float, float, float] | None:
    """The first ``(x1,y1),(x2,y2)`` or ``[a, b, c, d]`` in ``text``, as four floats.

    More forgiving than the official regexes, on purpose: spaces inside and between the points
    are allowed. Several boxes: the first is taken.

    >>> first_four("see (1, 2),(3,4) and [5, 6, 7, 8]")
    (1.0, 2.0, 3.0, 4.0)
    """
    hits = [m for m in (_POINTS.search(text), _FOUR.search(text)) if m is not None]
    if not hits:
        return None
    first = min(hits, key=lambda m: m.start())
    a, b, c, d = (float(v) for v in first.groups())
    return a, b, c, d


def number(value: float) -> str:
    """A coordinate as text: an integer when it is one, else the shortest float repr.

    >>> number(3.0), number(0.25)
    ('3', '0.25')
    """
    return str(int(value)) if float(value).is_integer() else repr(float(value))

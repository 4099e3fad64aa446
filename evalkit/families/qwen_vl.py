r"""Qwen-VL and Qwen-VL-Chat (arXiv:2308.12966): the 0–1000 ``<box>`` grid and 256 image tokens.

Boxes are ``<ref>…</ref><box>(x1,y1),(x2,y2)</box>`` on a 0–1000 grid. ``qwen-vl`` reads them
exactly as Qwen-VL's own ``eval_mm/evaluate_grounding.py`` does (QwenLM/Qwen-VL at
10cb904198d4e0e161d0f9f36ba9fac8ac7899e4), which reproduces the published numbers:

- the first match of ``\((.*?)\),\((.*?)\)``, so the tags are optional (a base model prompted
  with ``<box>`` continues with the bare points), but the two points must touch: ``(1,2), (3,4)``
  has no match; spaces *inside* a point are fine, as ``float`` allows them;
- each point must hold exactly one comma and two numbers ``float`` reads, else no box;
- the points are divided by 999 and scaled by the image size, **as written**: no clipping to
  the grid, no reordering of swapped corners (the reference's IoU of such a box is 0).

No box in that sense is ``None`` (scored 0, as the reference's (0, 0, 0, 0) box is, and counted
as unparsed); a NaN coordinate too (the reference's IoU is NaN, never a hit).
``qwen-vl:1000`` divides by 1000. ``qwen-vl-lenient`` (and ``qwen-vl-lenient:1000``) is the
friendlier reading: spaces between the points, ``[x1, y1, x2, y2]``, corners put in order,
values off the 0–1000 grid refused.

Every image is resized to 448×448 and costs a fixed 256 tokens.
"""

from __future__ import annotations

import math
import re
from functools import cache

from evalkit.families.base import (
    BoxFormat,
    BoxReader,
    BoxWriter,
    ModelFamily,
    first_four,
    ordered,
)
from evalkit.families.generic import CHAT_END_MARKERS
from evalkit.records import Box

__all__ = [
    "QWEN_VL",
    "QWEN_VL_CHAT",
    "grid_points",
    "grid_reader",
    "grid_writer",
    "qwen_vl_box",
    "reference_reader",
]

_REFERENCE = re.compile(r"\((.*?)\),\((.*?)\)")
"""``evaluate_grounding.py``'s PATTERN."""


def _point(text: str) -> tuple[float, float] | None:
    if "," not in text:
        return None
    try:
        x, y = (float(part) for part in text.split(","))
    except ValueError:  # not a number, or not exactly two parts
        return None
    return x, y


def reference_reader(divisor: float) -> BoxReader:
    """Read the first box as ``evaluate_grounding.py`` does (see the module docstring).

    >>> read = reference_reader(999)
    >>> read("<box>(0,0),(999,999)</box>", 640, 480), read("(1, 2), (3, 4)", 999, 999)
    ((0.0, 0.0, 640.0, 480.0), None)
    >>> read("(999,999),(0,0)", 999, 999), read("( 1,2 ),(1200,5)", 999, 999)[2:]
    ((999.0, 999.0, 0.0, 0.0), (1200.0, 5.0))
    """

    def read(text: str, width: int, height: int) -> Box | None:
        match = _REFERENCE.search(text)  # re.findall(...)[0] is the first match
        if match is None:
            return None
        first, second = _point(match.group(1)), _point(match.group(2))
        if first is None or second is None or any(map(math.isnan, (*first, *second))):
            return None
        return (first[0] / divisor * width, first[1] / divisor * height,
                second[0] / divisor * width, second[1] / divisor * height)  # fmt: skip

    return read


def grid_reader(divisor: float) -> BoxReader:
    """A reader of two points on the 0–1000 grid, scaled by ``divisor`` to pixels."""

    def read(text: str, width: int, height: int) -> Box | None:
        four = first_four(text)
        if four is None or not all(0 <= v <= 1000 for v in four):
            return None
        x1, y1, x2, y2 = four
        return ordered(x1 / divisor * width, y1 / divisor * height,
                       x2 / divisor * width, y2 / divisor * height)  # fmt: skip

    return read


def grid_points(box: Box, width: int, height: int, divisor: float) -> str:
    """``(x1,y1),(x2,y2)`` on the grid, rounded to integers as the models write them."""
    x1, y1, x2, y2 = box
    top = int(divisor)
    a, b = round(x1 / width * divisor), round(y1 / height * divisor)
    c, d = round(x2 / width * divisor), round(y2 / height * divisor)
    a, b, c, d = (max(0, min(top, v)) for v in (a, b, c, d))
    return f"({a},{b}),({c},{d})"


def grid_writer(divisor: float) -> BoxWriter:
    """A writer of ``<box>(x1,y1),(x2,y2)</box>`` on the grid."""

    def write(box: Box, width: int, height: int) -> str:
        return f"<box>{grid_points(box, width, height, divisor)}</box>"

    return write


@cache
def qwen_vl_box(divisor: float, *, lenient: bool = False) -> BoxFormat:
    """The ``qwen-vl`` convention with a divisor (999 by default, as Qwen-VL's script).

    ``lenient``: the friendlier reader (``qwen-vl-lenient``), not the reference's.
    """
    base = "qwen-vl-lenient" if lenient else "qwen-vl"
    name = base if divisor == 999 else f"{base}:{divisor:g}"
    reader = grid_reader(divisor) if lenient else reference_reader(divisor)
    return BoxFormat(name, reader, grid_writer(divisor))


def _fixed_256(width: int | None, height: int | None, high_resolution: bool) -> int:
    return 256


QWEN_VL = ModelFamily(
    name="qwen-vl",
    box_format="qwen-vl",
    inline_examples=True,
    end_markers=CHAT_END_MARKERS,
    model_prefixes=("qwen-vl-v1",),
    image_tokens=_fixed_256,
)
"""The Qwen-VL base model: ``eval_mm`` prompts ("{question} Answer:", "<ref>…</ref><box>")."""

QWEN_VL_CHAT = ModelFamily(
    name="qwen-vl-chat",
    box_format="qwen-vl",
    end_markers=CHAT_END_MARKERS,
    model_prefixes=("qwen-vl-chat-v1",),
    image_tokens=_fixed_256,
)
"""Qwen-VL-Chat: ChatML turns, the same box grid and image tokens."""

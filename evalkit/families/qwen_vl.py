"""Qwen-VL and Qwen-VL-Chat (arXiv:2308.12966): the 0–1000 ``<box>`` grid and 256 image tokens.

Boxes are ``<ref>…</ref><box>(x1,y1),(x2,y2)</box>`` on a 0–1000 grid. Qwen-VL's own
``eval_mm/evaluate_grounding.py`` divides by 999, which reproduces the published numbers, so
that is the default divisor; ``qwen-vl:1000`` divides by 1000. The ``<box>`` tags are optional
when reading, since a base model prompted with ``<box>`` continues with the bare points.

Every image is resized to 448×448 and costs a fixed 256 tokens.
"""

from __future__ import annotations

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
]


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
def qwen_vl_box(divisor: float) -> BoxFormat:
    """The ``qwen-vl`` convention with a divisor (999 by default, as Qwen-VL's script)."""
    name = "qwen-vl" if divisor == 999 else f"qwen-vl:{divisor:g}"
    return BoxFormat(name, grid_reader(divisor), grid_writer(divisor))


def _fixed_256(width: int | None, height: int | None, high_resolution: bool) -> int:
    return 256


QWEN_VL = ModelFamily(
    name="qwen-vl",
    box_format="qwen-vl",
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

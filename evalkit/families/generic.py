"""The generic chat family (``default`` prompts) and the two plain box conventions.

``normalized``: four floats in [0, 1], ``[x1, y1, x2, y2]`` or ``(x1, y1), (x2, y2)``.
``pixel``: four numbers in pixels of the original image.
"""

from __future__ import annotations

from evalkit.families.base import BoxFormat, ModelFamily, first_four, number, ordered
from evalkit.records import Box

__all__ = ["CHAT_END_MARKERS", "GENERIC", "NORMALIZED", "PIXEL"]

CHAT_END_MARKERS = ("<|im_end|>", "<|endoftext|>", "</s>")
"""End-of-turn markers some servers leave in the text (ChatML, GPT-style, Llama-style)."""


def _read_normalized(text: str, width: int, height: int) -> Box | None:
    four = first_four(text)
    if four is None or not all(0.0 <= v <= 1.0 for v in four):
        return None
    x1, y1, x2, y2 = four
    return ordered(x1 * width, y1 * height, x2 * width, y2 * height)


def _write_normalized(box: Box, width: int, height: int) -> str:
    x1, y1, x2, y2 = box
    values = (x1 / width, y1 / height, x2 / width, y2 / height)
    return "[" + ", ".join(repr(round(v, 4)) for v in values) + "]"


def _read_pixel(text: str, width: int, height: int) -> Box | None:
    four = first_four(text)
    return None if four is None else ordered(*four)


def _write_pixel(box: Box, width: int, height: int) -> str:
    return "[" + ", ".join(number(v) for v in box) + "]"


NORMALIZED = BoxFormat("normalized", _read_normalized, _write_normalized)
PIXEL = BoxFormat("pixel", _read_pixel, _write_pixel)

GENERIC = ModelFamily(name="default", end_markers=CHAT_END_MARKERS)
"""Any chat model behind an API: lmms-eval-style prompts, boxes as the prompt asks."""

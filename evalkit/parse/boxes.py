"""Read a box out of model text, in the convention of the model family that wrote it.

Conventions (``fmt``), never guessed from the ground truth:

``qwen-vl``
    ``<ref>…</ref><box>(x1,y1),(x2,y2)</box>`` on a 0–1000 grid. Qwen-VL's own
    ``evaluate_grounding.py`` divides by 999, which reproduces the published numbers, so that is
    the default divisor; ``qwen-vl:1000`` divides by 1000. The ``<box>`` tags are optional, since a
    base model prompted with ``<box>`` continues with the bare points.
``qwen2-vl``
    ``<|box_start|>(x1,y1),(x2,y2)<|box_end|>`` on the same grid, divided by 1000.
``qwen2.5-vl``
    JSON ``{"bbox_2d": [x1, y1, x2, y2]}`` in pixels of the model's resized input
    (:func:`smart_resize`), mapped back to the original image.
``normalized``
    Four floats in [0, 1]: ``[x1, y1, x2, y2]`` or ``(x1, y1), (x2, y2)``.
``pixel``
    Four numbers in pixels of the original image.

More forgiving than the official regex, on purpose: spaces inside and between the two points are
allowed, and swapped corners are put in order. Several boxes: the first is taken. Nothing
parseable, or values outside the format's range: ``None`` (scored 0 and counted as unparsed).
"""

from __future__ import annotations

import json
import math
import re

from evalkit.records import Box

__all__ = ["BOX_FORMATS", "iou", "parse_box", "smart_resize"]

BOX_FORMATS = ("qwen-vl", "qwen2-vl", "qwen2.5-vl", "normalized", "pixel")
"""Known box conventions; ``qwen-vl`` also accepts a divisor suffix, e.g. ``qwen-vl:1000``."""

_NUM = r"(-?\d+(?:\.\d+)?)"
_POINTS = re.compile(rf"\(\s*{_NUM}\s*,\s*{_NUM}\s*\)\s*,?\s*\(\s*{_NUM}\s*,\s*{_NUM}\s*\)")
_FOUR = re.compile(rf"[\[(]\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*[\])]")
_QWEN2_BOX = re.compile(r"<\|box_start\|>(.*?)<\|box_end\|>", re.S)
_BBOX_2D = re.compile(r'"bbox_2d"\s*:\s*(\[[^\]]*\])')


def smart_resize(
    height: int,
    width: int,
    factor: int = 28,
    min_pixels: int = 4 * 28 * 28,
    max_pixels: int = 16384 * 28 * 28,
) -> tuple[int, int]:
    """The (height, width) Qwen2/2.5-VL resize an image to (qwen-vl-utils' rule).

    Sides are rounded to multiples of ``factor`` and the pixel count clamped to the bounds.

    >>> smart_resize(480, 640)
    (476, 644)
    """
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def _ordered(x1: float, y1: float, x2: float, y2: float) -> Box:
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def _first_four(text: str) -> tuple[float, float, float, float] | None:
    hits = [m for m in (_POINTS.search(text), _FOUR.search(text)) if m is not None]
    if not hits:
        return None
    first = min(hits, key=lambda m: m.start())
    a, b, c, d = (float(v) for v in first.groups())
    return a, b, c, d


def _grid(text: str, divisor: float, width: int, height: int) -> Box | None:
    four = _first_four(text)
    if four is None or not all(0 <= v <= 1000 for v in four):
        return None
    x1, y1, x2, y2 = four
    return _ordered(
        x1 / divisor * width, y1 / divisor * height, x2 / divisor * width, y2 / divisor * height
    )


def _qwen25(text: str, width: int, height: int) -> Box | None:
    match = _BBOX_2D.search(text)
    if match is None:
        return None
    try:
        values = json.loads(match.group(1))
    except json.JSONDecodeError:
        return None
    if len(values) != 4 or not all(isinstance(v, int | float) for v in values):
        return None
    in_h, in_w = smart_resize(height, width)
    x1, y1, x2, y2 = (float(v) for v in values)
    sx, sy = width / in_w, height / in_h
    return _ordered(x1 * sx, y1 * sy, x2 * sx, y2 * sy)


def parse_box(*, text: str, fmt: str, width: int, height: int) -> Box | None:
    """Parse the first box in ``text`` into pixel corners of the original image.

    >>> parse_box(text="<ref>dog</ref><box>(0,0),(999,999)</box>", fmt="qwen-vl",
    ...           width=1000, height=800)
    (0.0, 0.0, 1000.0, 800.0)
    >>> parse_box(text="[0.5, 0.5, 0.25, 0.1]", fmt="normalized", width=200, height=100)
    (50.0, 10.0, 100.0, 50.0)
    >>> parse_box(text="no box here", fmt="pixel", width=10, height=10) is None
    True
    """
    name, _, divisor = fmt.partition(":")
    if name == "qwen-vl":
        return _grid(text, float(divisor or 999), width, height)
    if name == "qwen2-vl":
        tagged = _QWEN2_BOX.search(text)
        return _grid(tagged.group(1) if tagged else text, float(divisor or 1000), width, height)
    if name == "qwen2.5-vl":
        return _qwen25(text, width, height)
    if name == "normalized":
        four = _first_four(text)
        if four is None or not all(0.0 <= v <= 1.0 for v in four):
            return None
        x1, y1, x2, y2 = four
        return _ordered(x1 * width, y1 * height, x2 * width, y2 * height)
    if name == "pixel":
        four = _first_four(text)
        return None if four is None else _ordered(*four)
    raise ValueError(f"unknown box format '{fmt}' (known: {', '.join(BOX_FORMATS)})")


def iou(*, a: Box, b: Box) -> float:
    """Intersection over union of two pixel-corner boxes; a zero union scores 0.

    >>> iou(a=(0, 0, 10, 10), b=(5, 0, 15, 10))
    0.3333333333333333
    >>> iou(a=(1, 1, 1, 1), b=(1, 1, 1, 1))
    0.0
    """
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0

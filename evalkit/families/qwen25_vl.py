"""Qwen2.5-VL: JSON ``{"bbox_2d": [x1, y1, x2, y2]}`` in pixels of the model's resized input.

The model sees the image after ``smart_resize`` and answers in that image's pixels; evalkit
maps them back to the original image. Image tokens follow the Qwen2-VL rule.
"""

from __future__ import annotations

import json
import re

from evalkit.families.base import BoxFormat, ModelFamily, ordered
from evalkit.families.generic import CHAT_END_MARKERS
from evalkit.families.qwen2_vl import patch_tokens, smart_resize
from evalkit.records import Box

__all__ = ["QWEN25_BOX", "QWEN25_VL"]

_BBOX_2D = re.compile(r'"bbox_2d"\s*:\s*(\[[^\]]*\])')


def _read(text: str, width: int, height: int) -> Box | None:
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
    return ordered(x1 * sx, y1 * sy, x2 * sx, y2 * sy)


def _write(box: Box, width: int, height: int) -> str:
    in_h, in_w = smart_resize(height, width)
    x1, y1, x2, y2 = box
    coords = [round(x1 * in_w / width), round(y1 * in_h / height),
              round(x2 * in_w / width), round(y2 * in_h / height)]  # fmt: skip
    return json.dumps([{"bbox_2d": coords, "label": "object"}])


QWEN25_BOX = BoxFormat("qwen2.5-vl", _read, _write)

QWEN25_VL = ModelFamily(
    name="qwen2.5-vl",
    box_format="qwen2.5-vl",
    end_markers=CHAT_END_MARKERS,
    model_prefixes=("qwen2.5-vl", "qwen2_5-vl"),
    image_tokens=patch_tokens,
)
"""Qwen2.5-VL: chat prompts, JSON grounding in resized pixels."""

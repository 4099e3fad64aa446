"""Qwen2-VL: ``<|box_start|>(x1,y1),(x2,y2)<|box_end|>`` on the 0–1000 grid, divided by 1000.

Images are resized by ``smart_resize`` (sides to multiples of 28, pixels clamped) and cost one
token per 28×28 pixels. DashScope bills qwen-vl-plus / qwen-vl-max images by the same rule:
sides rounded up to multiples of 28, clamped to [4, 1280] tokens per image, 16,384 with
``vl_high_resolution_images``.
"""

from __future__ import annotations

import math
import re
from functools import cache

from evalkit.families.base import BoxFormat, ModelFamily
from evalkit.families.generic import CHAT_END_MARKERS
from evalkit.families.qwen_vl import grid_points, grid_reader
from evalkit.records import Box

__all__ = ["QWEN2_BOX", "QWEN2_VL", "patch_tokens", "qwen2_vl_box", "smart_resize"]

_TAGGED = re.compile(r"<\|box_start\|>(.*?)<\|box_end\|>", re.S)


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


def patch_tokens(width: int | None, height: int | None, high_resolution: bool) -> int:
    """DashScope's documented rule: one token per 28×28 pixels, sides rounded up, clamped.

    An image of unknown size (a URL evalkit does not fetch) counts at the cap, so a budget errs
    on the safe side.

    >>> patch_tokens(448, 448, False), patch_tokens(4000, 3000, False), patch_tokens(None, 1, False)
    (256, 1280, 1280)
    """
    cap = 16384 if high_resolution else 1280
    if width is None or height is None:
        return cap
    return max(4, min(cap, math.ceil(width / 28) * math.ceil(height / 28)))


@cache
def qwen2_vl_box(divisor: float) -> BoxFormat:
    """The tagged grid divided by ``divisor`` (1000 by default; ``qwen2-vl:D`` otherwise)."""
    grid = grid_reader(divisor)

    def read(text: str, width: int, height: int) -> Box | None:
        tagged = _TAGGED.search(text)
        return grid(tagged.group(1) if tagged else text, width, height)

    def write(box: Box, width: int, height: int) -> str:
        return f"<|box_start|>{grid_points(box, width, height, divisor)}<|box_end|>"

    name = "qwen2-vl" if divisor == 1000 else f"qwen2-vl:{divisor:g}"
    return BoxFormat(name, read, write)


QWEN2_BOX = qwen2_vl_box(1000)

QWEN2_VL = ModelFamily(
    name="qwen2-vl",
    box_format="qwen2-vl",
    end_markers=CHAT_END_MARKERS,
    model_prefixes=("qwen2-vl", "qwen-vl-plus", "qwen-vl-max"),
    image_tokens=patch_tokens,
)
"""Qwen2-VL (and the DashScope qwen-vl-plus/max models, for their token rule)."""

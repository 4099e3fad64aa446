"""Read a box out of model text, in the convention of the model family that wrote it.

Conventions (``fmt``) are the families' (:mod:`evalkit.families`), never guessed from the
ground truth:

``qwen-vl``
    ``<ref>…</ref><box>(x1,y1),(x2,y2)</box>`` on a 0–1000 grid, read exactly as Qwen-VL's
    ``evaluate_grounding.py`` reads it: its regex (the two points must touch), divided by 999,
    no clipping and no reordering (``qwen-vl:1000`` divides by 1000); the tags are optional.
``qwen-vl-lenient``
    The same grid read forgivingly: spaces between the points, ``[x1, y1, x2, y2]``, swapped
    corners put in order, values off the grid refused.
``qwen2-vl``
    ``<|box_start|>(x1,y1),(x2,y2)<|box_end|>`` on the same grid, divided by 1000.
``qwen2.5-vl``
    JSON ``{"bbox_2d": [x1, y1, x2, y2]}`` in pixels of the model's resized input, mapped back.
``normalized``
    Four floats in [0, 1]: ``[x1, y1, x2, y2]`` or ``(x1, y1), (x2, y2)``.
``pixel``
    Four numbers in pixels of the original image.

Except ``qwen-vl`` (the reference's reading), the readers are more forgiving than the official
regexes, on purpose: spaces inside and between the two points are allowed, and swapped corners
are put in order. Several boxes: the first is taken. Nothing parseable, or values outside the
format's range: ``None`` (scored 0 and counted as unparsed).
"""

from __future__ import annotations

from collections.abc import Callable

from evalkit.families import BOX_FORMATS, box_format
from evalkit.records import Box, Prediction, Sample

__all__ = ["BOX_FORMATS", "box_parser", "parse_box"]


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
    return box_format(fmt).read(text, width, height)


def box_parser(fmt: str) -> Callable[[str, Sample], Prediction]:
    """The parser of a grounding answer in ``fmt``: the raw text and the box it holds."""
    reader = box_format(fmt).read

    def parse(text: str, sample: Sample) -> Prediction:
        width, height = sample.images[0].pixel_size()
        box = reader(text, width, height)
        return Prediction(answer=text.strip(), box=box, parsed=box is not None)

    return parse

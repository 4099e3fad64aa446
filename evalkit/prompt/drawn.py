"""A box drawn on the image: region prompts for models with no box syntax (``draw_box``)."""

from __future__ import annotations

import io

from evalkit.records import Box, ImageRef

__all__ = ["draw_box"]

RED = (255, 0, 0)


def draw_box(image: ImageRef, box: Box) -> ImageRef:
    """A PNG copy of ``image`` with ``box`` (pixel corners) framed in red.

    The frame is 1/150 of the longer side thick (at least 2 pixels), drawn inside the box's
    corners so the framed region is the box itself.

    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (60, 40), "white").save(buf, format="PNG")
    >>> framed = draw_box(ImageRef(buf.getvalue(), 60, 40, "PNG"), (10, 10, 30, 20))
    >>> Image.open(io.BytesIO(framed.data)).getpixel((10, 15)), framed.format
    ((255, 0, 0), 'PNG')
    """
    from PIL import Image, ImageDraw

    with Image.open(io.BytesIO(image.data)) as opened:
        picture = opened.convert("RGB")
    width = max(2, round(max(picture.size) / 150))
    ImageDraw.Draw(picture).rectangle(tuple(round(v) for v in box), outline=RED, width=width)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return ImageRef(out.getvalue(), picture.width, picture.height, "PNG")

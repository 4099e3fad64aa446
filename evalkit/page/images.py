"""The images of a few samples of a finished run, as small inline thumbnails.

Result rows do not keep images (a run folder stays small), so the report reads them back from
the run's own data source, as ``run.json`` records it: the bundled sample, the local files, or
the Hugging Face dataset (from the local cache; nothing is downloaded when offline). Only the
rows asked for are decoded. When the source cannot be read, the report says so and shows the
samples without pictures.
"""

from __future__ import annotations

import base64
import dataclasses
import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from evalkit.errors import EvalkitError
from evalkit.records import ImageRef
from evalkit.runfolder.read import RunFolder
from evalkit.structured import first_line

__all__ = ["Thumbnail", "boxes_svg", "sample_images", "thumbnail"]

THUMB_PX = 320
"""The longer side of a thumbnail, in pixels."""


@dataclass(frozen=True)
class Thumbnail:
    """A JPEG thumbnail as a data URL, and how it scales the original."""

    url: str
    width: int
    height: int
    scale: float
    """Thumbnail pixels per original pixel."""


def sample_images(run: RunFolder, ids: Collection[str]) -> tuple[dict[str, ImageRef], str | None]:
    """The first image of each sample in ``ids``, and a note when they could not be read."""
    from evalkit.dataset import describe_sources, iter_run_items

    if not ids:
        return {}, None
    try:
        config = run.config
    except EvalkitError as exc:
        return {}, f"images not shown: {exc}"
    task, data = config.task, dataclasses.replace(config.dataset, limit=None)
    wanted, found = set(ids), {}
    try:
        for item in iter_run_items(task, data, describe_sources(task, data), fewshot=False):
            if item.sample_id in wanted and item.sample is not None and item.sample.images:
                found[item.sample_id] = item.sample.images[0]
                if len(found) == len(wanted):
                    break
    except (EvalkitError, OSError) as exc:
        first = first_line(exc)
        return found, f"images not shown: the run's data could not be read ({first})"
    missing = len(wanted) - len(found)
    note = f"{missing} sample(s) have no image in the run's data" if missing else None
    return found, note


def thumbnail(image: ImageRef, size: int = THUMB_PX) -> Thumbnail | None:
    """A JPEG thumbnail of ``image`` (``None`` for URL images and unreadable bytes)."""
    from PIL import Image, UnidentifiedImageError

    if not image.data:
        return None
    try:
        with Image.open(io.BytesIO(image.data)) as opened:
            picture = opened.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    width, height = picture.size
    scale = min(1.0, size / max(width, height))
    if scale < 1.0:
        picture = picture.resize((max(1, round(width * scale)), max(1, round(height * scale))))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=82)
    url = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return Thumbnail(url, picture.width, picture.height, scale)


def _box(box: Sequence[float] | None, scale: float, color: str, label: str) -> str:
    if not box or len(box) != 4:
        return ""
    x1, y1, x2, y2 = (float(v) * scale for v in box)
    return (
        f'<rect x="{x1:.1f}" y="{y1:.1f}" width="{max(x2 - x1, 0):.1f}" '
        f'height="{max(y2 - y1, 0):.1f}" fill="none" stroke="{color}" stroke-width="2.5">'
        f"<title>{label}</title></rect>"
    )


def boxes_svg(thumb: Thumbnail, *, gold: Sequence[float] | None,
              predicted: Sequence[float] | None) -> str:  # fmt: skip
    """The thumbnail with the gold box (green) and the predicted box (red) drawn over it."""
    return (
        f'<svg class="thumb" width="{thumb.width}" height="{thumb.height}" '
        f'viewBox="0 0 {thumb.width} {thumb.height}" role="img" '
        ">"
        f'<image href="{thumb.url}" width="{thumb.width}" height="{thumb.height}"/>'
        + _box(gold, thumb.scale, "#1a9850", "gold box")
        + _box(predicted, thumb.scale, "#d73027", "predicted box")
        + "</svg>"
    )

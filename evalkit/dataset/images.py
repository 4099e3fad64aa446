"""Image cells → :class:`~evalkit.records.ImageRef`, keeping the original encoded bytes."""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from evalkit.errors import CorruptImage, MissingField
from evalkit.records import ImageRef

__all__ = ["image_bytes", "image_url", "load_image"]


def image_bytes(cell: Any, *, base_dir: Path | None = None) -> bytes:
    """The encoded bytes of one image cell.

    Accepts what the datasets and files in the wild hold: a ``{"bytes", "path"}`` struct (the
    ``datasets.Image`` storage), raw bytes, or a path (absolute, or relative to ``base_dir``).
    """
    if isinstance(cell, bytes | bytearray | memoryview):
        return bytes(cell)
    if isinstance(cell, Mapping):
        if cell.get("bytes"):
            return bytes(cell["bytes"])
        if cell.get("path"):
            return image_bytes(str(cell["path"]), base_dir=base_dir)
        raise MissingField("image struct has neither bytes nor path")
    if isinstance(cell, str) and cell:
        path = Path(cell)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            return path.read_bytes()
        except OSError as exc:
            raise CorruptImage(f"cannot read image file {path}: {exc.strerror}") from exc
    if isinstance(cell, Image.Image):  # a decoded datasets.Image: re-encode losslessly
        buffer = io.BytesIO()
        cell.save(buffer, format="PNG")
        return buffer.getvalue()
    raise MissingField(f"image cell of type {type(cell).__name__} holds no image")


def image_url(cell: Any) -> str | None:
    """The http(s) URL a cell points at instead of holding bytes, if it does.

    >>> image_url({"bytes": None, "path": "https://example.org/a.jpg"}), image_url("a.jpg")
    ('https://example.org/a.jpg', None)
    """
    if isinstance(cell, Mapping) and not cell.get("bytes"):
        cell = cell.get("path")
    if isinstance(cell, str) and cell.lower().startswith(("http://", "https://")):
        return cell
    return None


def load_image(cell: Any, *, base_dir: Path | None = None) -> ImageRef:
    """Read and verify one image; a broken file raises :class:`CorruptImage`.

    So does any image PIL refuses or warns about: a decompression bomb (more pixels than
    ``PIL.Image.MAX_IMAGE_PIXELS``, a warning, or twice that, an error), a truncated or
    malformed chunk.

    An http(s) URL is kept as a URL (the server fetches it; evalkit does not).

    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (4, 3)).save(buf, format="PNG")
    >>> ref = load_image({"bytes": buf.getvalue(), "path": None})
    >>> (ref.width, ref.height, ref.format)
    (4, 3, 'PNG')
    """
    url = image_url(cell)
    if url is not None:
        return ImageRef(data=b"", width=None, height=None, format="", url=url)
    data = image_bytes(cell, base_dir=base_dir)
    if not data:
        raise MissingField("image is empty")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with Image.open(io.BytesIO(data)) as img:
                width, height, fmt = img.width, img.height, img.format or "PNG"
                img.verify()
        except Image.DecompressionBombError as exc:
            raise CorruptImage(f"image refused as a decompression bomb: {exc}") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise CorruptImage(f"image cannot be decoded: {exc}") from exc
    if caught:  # PIL warns of what it reads but distrusts (a possible bomb, a broken chunk)
        raise CorruptImage(f"image refused: PIL warns: {caught[0].message}")
    return ImageRef(data=data, width=width, height=height, format=fmt)

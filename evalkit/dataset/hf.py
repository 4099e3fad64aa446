"""Rows from a Hugging Face dataset, streamed, with images left encoded (never decoded here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evalkit.errors import ConfigError

__all__ = ["iter_hf_rows"]


def iter_hf_rows(
    *,
    path: str,
    config: str | None,
    split: str,
    revision: str | None,
    image_column: str,
    streaming: bool = True,
) -> Iterator[dict[str, Any]]:
    """Yield rows of ``path``/``config``/``split`` (a Hub id or a local folder of data files).

    The image column is cast to ``Image(decode=False)`` so rows carry the original file bytes.
    """
    import datasets

    try:
        ds = datasets.load_dataset(
            path, name=config, split=split, revision=revision, streaming=streaming
        )
    except (FileNotFoundError, ValueError, datasets.exceptions.DatasetNotFoundError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot open dataset '{path}' (split {split}): {first}") from exc
    features = ds.features
    if features is not None and isinstance(features.get(image_column), datasets.Image):
        ds = ds.cast_column(image_column, datasets.Image(decode=False))
    yield from ds

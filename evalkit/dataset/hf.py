"""Rows from a Hugging Face dataset, streamed, with images left encoded (never decoded here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evalkit.errors import ConfigError

__all__ = ["MissingColumn", "iter_hf_rows"]


class MissingColumn(ConfigError):
    """A column asked for (``columns``) is not in the dataset."""


def iter_hf_rows(
    *,
    path: str,
    config: str | None,
    split: str,
    revision: str | None,
    image_column: str,
    streaming: bool = True,
    columns: list[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield rows of ``path``/``config``/``split`` (a Hub id or a local folder of data files).

    The image column is cast to ``Image(decode=False)`` so rows carry the original file bytes.
    ``columns`` reads only those (Parquet reads no other column chunk); a format that cannot
    select columns is read whole and cut row by row.
    """
    import datasets

    def load(**only: Any) -> Any:
        return datasets.load_dataset(
            path, name=config, split=split, revision=revision, streaming=streaming, **only
        )

    try:
        try:
            ds = load(**({"columns": columns} if columns else {}))
        except ValueError as exc:
            if not columns or "columns" not in str(exc):
                raise
            ds = load()  # JSON lines, CSV: no column selection in the builder
    except (FileNotFoundError, ValueError, datasets.exceptions.DatasetNotFoundError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot open dataset '{path}' (split {split}): {first}") from exc
    features = ds.features
    if columns and features is not None:
        missing = [c for c in columns if c not in features]
        if missing:
            raise MissingColumn(f"no column '{missing[0]}' in split {split}")
    if features is not None and isinstance(features.get(image_column), datasets.Image):
        ds = ds.cast_column(image_column, datasets.Image(decode=False))
    if columns and (features is None or set(features) != set(columns)):
        for row in ds:
            yield {c: row.get(c) for c in columns}
    else:
        yield from ds

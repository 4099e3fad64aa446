"""One dataset row → :class:`~evalkit.records.Sample` (or several, for exploded grounding rows)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evalkit.config import TaskSpec
from evalkit.dataset.images import load_image
from evalkit.errors import MissingField
from evalkit.records import Sample

__all__ = ["row_id", "row_to_samples"]


def _field(row: Mapping[str, Any], column: str) -> Any:
    if column not in row:
        raise MissingField(f"column '{column}' is missing (row has: {', '.join(sorted(row))})")
    value = row[column]
    if value is None:
        raise MissingField(f"column '{column}' is empty")
    return value


def row_id(row: Mapping[str, Any], task: TaskSpec, index: int) -> str:
    """The row's id, or ``row-<index>`` when the id column itself is missing."""
    value = row.get(task.columns.id)
    return f"row-{index}" if value is None else str(value)


def _references(row: Mapping[str, Any], task: TaskSpec) -> tuple[str, ...]:
    value = _field(row, task.columns.answers)
    items = [value] if isinstance(value, str) else list(value)
    key = task.columns.answer_key
    texts = []
    for item in items:
        if key is not None:
            if not isinstance(item, Mapping) or key not in item:
                raise MissingField(f"answers in '{task.columns.answers}' lack the key '{key}'")
            item = item[key]
        texts.append(str(item))
    if not texts:
        raise MissingField(f"column '{task.columns.answers}' has no answers")
    return tuple(texts)


def _gold_box(row: Mapping[str, Any], column: str) -> tuple[float, float, float, float]:
    value = list(_field(row, column))
    if len(value) != 4:
        raise MissingField(f"column '{column}' must hold [x, y, w, h], got {len(value)} numbers")
    x, y, w, h = (float(v) for v in value)
    return (x, y, x + w, y + h)


def row_to_samples(
    row: Mapping[str, Any], task: TaskSpec, *, base_dir: Path | None = None
) -> list[Sample]:
    """Map one row to its samples; raises :class:`DataError` when the row is unusable."""
    columns = task.columns
    sample_id = str(_field(row, columns.id))
    image = load_image(_field(row, columns.image), base_dir=base_dir)
    references = _references(row, task)
    meta = {k: row[k] for k in columns.keep if k in row}
    question = "" if columns.question is None else str(_field(row, columns.question))

    if columns.bbox is not None:
        image.pixel_size()  # boxes are pixels: an image of unknown size is an error row here
        box = _gold_box(row, columns.bbox)
        if task.explode_references:
            return [
                Sample(f"{sample_id}#{k}", (image,), expr, (expr,), box, meta)
                for k, expr in enumerate(references)
            ]
        return [Sample(sample_id, (image,), question or references[0], references, box, meta)]
    return [Sample(sample_id, (image,), question, references, None, meta)]

"""One dataset row → :class:`~evalkit.records.Sample` (or several, for exploded grounding rows)."""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evalkit.config import Columns, TaskSpec
from evalkit.dataset.images import load_image
from evalkit.errors import DataError, MissingField
from evalkit.records import ImageRef, Sample, option_index, option_letter

__all__ = ["explodes", "needs_pixels", "row_id", "row_to_samples"]


def _field(row: Mapping[str, Any], column: str) -> Any:
    if column not in row:
        raise MissingField(f"column '{column}' is missing (row has: {', '.join(sorted(row))})")
    value = row[column]
    if value is None:
        raise MissingField(f"column '{column}' is empty")
    return value


def row_id(row: Mapping[str, Any], task: TaskSpec, index: int) -> str:
    """The row's id, or ``row-<index>`` when the id column itself is missing.

    A task without an id column (``columns.id: null``) names each row by its position.
    """
    if task.columns.id is None:
        return str(index)
    value = row.get(task.columns.id)
    return f"row-{index}" if value is None else str(value)


def kept_value(row: Mapping[str, Any], name: str) -> Any:
    """A ``columns.keep`` entry's value: a column, or ``struct.field`` inside a struct column.

    >>> kept_value({"types": {"structural": "query"}}, "types.structural")
    'query'
    """
    if name in row or "." not in name:
        return row.get(name)
    head, _, rest = name.partition(".")
    inner = row.get(head)
    return kept_value(inner, rest) if isinstance(inner, Mapping) else None


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


def _question_pairs(row: Mapping[str, Any], task: TaskSpec) -> list[tuple[str, str]]:
    questions = _field(row, task.columns.question or "question")
    answers = _field(row, task.columns.answers)
    if isinstance(questions, str) or isinstance(answers, str):
        raise MissingField("explode_questions needs list columns of questions and answers")
    questions, answers = list(questions), list(answers)
    if len(questions) != len(answers):
        raise MissingField(
            f"{len(questions)} questions but {len(answers)} answers: the lists must pair up"
        )
    if not questions:
        raise MissingField(f"column '{task.columns.question}' has no questions")
    return [(str(q), str(a)) for q, a in zip(questions, answers, strict=True)]


def _present(value: Any) -> bool:
    """An option cell that holds an option (lmms-eval skips empty, NaN and ``nan`` cells)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return str(value).strip() not in ("", "nan")


def _literal_list(text: str, column: str) -> list[Any]:
    """A Python list written as text (MMMU's options), read without running anything."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = None
    if not isinstance(value, list):
        raise MissingField(f"column '{column}' holds {text[:60]!r}, not a list written as text")
    return value


def _choices(row: Mapping[str, Any], task: TaskSpec) -> tuple[tuple[str, ...], str] | None:
    """The options and the gold letter; ``answers`` holds the right option's index or letter.

    ``None``: a row without options that is an open question (``columns.open_without_choices``).
    """
    columns = task.columns
    if columns.choice_columns:
        column = ", ".join(columns.choice_columns)
        options = tuple(str(row[c]) for c in columns.choice_columns if _present(row.get(c)))
    else:
        column = columns.choices or ""
        value = row.get(column) if columns.open_without_choices else _field(row, column)
        if columns.choices_literal and isinstance(value, str):
            value = _literal_list(value, column)
        options = (
            () if value is None else (value,) if isinstance(value, str)
            else tuple(str(v) for v in value)
        )  # fmt: skip
    if not options:
        if columns.open_without_choices:
            return None
        raise MissingField(f"column '{column}' has no options")
    raw = _field(row, columns.answers)
    if columns.answer_is_option:
        if str(raw) not in options:
            raise MissingField(f"column '{columns.answers}' holds {raw!r}, none of the options")
        return options, option_letter(options.index(str(raw)))
    letter = str(raw).strip()
    try:
        index = option_index(letter) if letter.isalpha() else int(raw)
    except (TypeError, ValueError):
        raise MissingField(
            f"column '{columns.answers}' must hold the right option's index, got {raw!r}"
        ) from None
    if not 0 <= index < len(options):
        raise MissingField(f"answer index {index} is outside the {len(options)} options")
    return options, option_letter(index)


def row_to_samples(
    row: Mapping[str, Any],
    task: TaskSpec,
    *,
    base_dir: Path | None = None,
    index: int = 0,
    images: bool = True,
) -> list[Sample]:
    """Map one row to its samples; raises :class:`DataError` when the row is unusable.

    ``index`` is the row's position in its split: the id of a task without an id column.
    ``images=False`` (the answers come from a file: ``backend=replay``): a row without its
    image, or whose image cannot be read (a release's ``png/`` folder left behind), is a
    sample without one, unless the task reads the image's size (gold boxes).
    """
    columns = task.columns
    sample_id = str(index) if columns.id is None else str(_field(row, columns.id))
    for column in task.dataset.where:  # a row the filter cannot read is an error, not kept
        _field(row, column)
    pictures: tuple[ImageRef, ...] = ()
    cell = _image_cells(row, columns) if columns.images else row.get(columns.image)
    if images or needs_pixels(task):
        if cell is None:
            _field(row, columns.image)  # the one-line error naming what is missing
        pictures = _pictures(cell, columns.image, base_dir)
    elif cell is not None:  # kept for the report when it is there
        try:
            pictures = _pictures(cell, columns.image, base_dir)
        except DataError:
            pictures = ()
    return _samples(row, task, sample_id, pictures)


def _image_cells(row: Mapping[str, Any], columns: Columns) -> list[Any]:
    """The filled cells of ``columns.images``, in order; a column the row lacks is an error."""
    for column in columns.images:
        if column not in row:
            _field(row, column)
    found = [row[c] for c in columns.images if row[c] is not None]
    if not found:
        raise MissingField(f"columns {', '.join(columns.images)} hold no image")
    return found


def _pictures(cell: Any, column: str, base_dir: Path | None) -> tuple[ImageRef, ...]:
    """One image cell, or a list of them (SEED-Bench's ``image``), in order."""
    if not isinstance(cell, list | tuple):
        return (load_image(cell, base_dir=base_dir),)
    if not cell:
        raise MissingField(f"column '{column}' holds no image")
    return tuple(load_image(c, base_dir=base_dir) for c in cell)


def explodes(task: TaskSpec) -> bool:
    """Whether a row may become several samples (or none): each reference, question or pass."""
    return task.explode_references or task.explode_questions or task.circular


def needs_pixels(task: TaskSpec) -> bool:
    """Whether the task reads its images' size (gold boxes in pixels, a drawn box)."""
    return task.columns.bbox is not None or any(p.draw_box for p in task.prompts.values())


def _samples(
    row: Mapping[str, Any], task: TaskSpec, sample_id: str, pictures: tuple[ImageRef, ...]
) -> list[Sample]:
    columns = task.columns
    meta = {k: value for k in columns.keep if (value := kept_value(row, k)) is not None}
    for name, separator in columns.split_keep.items():
        if isinstance(meta.get(name), str):  # "rec,ocr" -> ["rec", "ocr"]
            meta[name] = [v.strip() for v in meta[name].split(separator) if v.strip()]
    if task.explode_questions:
        return [
            Sample(f"{sample_id}#{k}", pictures, question, (answer,), None, meta)
            for k, (question, answer) in enumerate(_question_pairs(row, task))
        ]
    question = "" if columns.question is None else str(_field(row, columns.question))
    raw = row.get(columns.context) if columns.context else None
    context = str(raw) if _present(raw) else ""
    chosen = None
    if columns.choices is not None or columns.choice_columns:
        chosen = _choices(row, task)
    if chosen is not None:
        options, letter = chosen
        if not task.circular:
            return [Sample(sample_id, pictures, question, (letter,), None, meta, options, context)]
        right = option_index(letter)
        return [  # pass k shows the options rotated k places: the right one moves up
            Sample(f"{sample_id}#c{k}", pictures, question, (option_letter((right - k) % n),),
                   None, meta, options[k:] + options[:k], context)
            for n in [len(options)] for k in range(n)
        ]  # fmt: skip
    references = _references(row, task)

    if columns.bbox is not None:
        pictures[0].pixel_size()  # boxes are pixels: an image of unknown size is an error row
        box = _gold_box(row, columns.bbox)
        if task.explode_references:
            return [
                Sample(f"{sample_id}#{k}", pictures, expr, (expr,), box, meta)
                for k, expr in enumerate(references)
            ]
        return [Sample(sample_id, pictures, question or references[0], references, box, meta)]
    return [Sample(sample_id, pictures, question, references, None, meta, context=context)]

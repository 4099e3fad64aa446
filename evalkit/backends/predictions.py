"""Predictions made elsewhere, read from a file into answers by sample id (``backend=replay``).

A table of predictions (``.jsonl``, ``.json`` holding a list of objects or an object keyed by
sample id whose values are objects or answers, ``.csv``, ``.tsv``,
``.parquet``, ``.xlsx``) has one row per sample: an id column matched against evalkit's sample
ids (text: ``7`` and ``7.0`` read as ``7``), a prediction column (the answer text), and optional
usage (``input_tokens``, ``output_tokens``) and latency (``latency_s``) columns. Pairing is by
id, never by position; an id given twice is an error, since which answer counts would be a
guess.

The file is read once, whole, when the run starts; its name, size and SHA-256 go into
``run.json`` so a score can be traced to the exact predictions it came from.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from evalkit.backends.base import token_count
from evalkit.errors import ConfigError, MissingDependency, did_you_mean
from evalkit.structured import first_line

__all__ = ["FORMATS", "Predicted", "PredictionsFile", "file_record", "read_predictions"]

FORMATS = ("table", "evalkit", "vlmevalkit", "lmms-eval")
"""How a predictions file is laid out (:func:`read_predictions`)."""

SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet", ".xlsx")
USAGE_COLUMNS = ("input_tokens", "output_tokens")
LATENCY_COLUMN = "latency_s"


@dataclass(frozen=True, slots=True)
class Predicted:
    """One sample's prediction as the file gives it."""

    text: str
    """The answer; an empty cell (null, NaN) is an empty answer, as a spreadsheet cannot tell
    them apart and the harness that wrote it scored it so."""
    error: str | None = None
    """``evalkit`` format: the sample failed in the run replayed (its error kind and message):
    there is no prediction to score."""
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_s: float | None = None


@dataclass(frozen=True)
class PredictionsFile:
    """A whole predictions file: its answers by sample id, and what identifies it."""

    path: Path
    format: str
    id_column: str
    """The column ids were read from (``doc_id`` / the doc's id for lmms-eval)."""
    by_id: Mapping[str, Predicted]
    size: int
    sha256: str

    def record(self) -> dict[str, Any]:
        """The file as ``run.json`` records it (name, path, size, SHA-256, format, rows)."""
        return {"file": self.path.name, "path": str(self.path), "size": self.size,
                "sha256": self.sha256, "format": self.format,
                "rows": len(self.by_id)}  # fmt: skip


def file_record(path: Path) -> tuple[int, str]:
    """The file's size and SHA-256, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def id_text(value: Any) -> str | None:
    """A sample id as text; an integral float (a CSV or spreadsheet number) reads as an integer.

    >>> [id_text(v) for v in (7, 7.0, "7", " a1 ", float("nan"), None, 1.5)]
    ['7', '7', '7', 'a1', None, None, '1.5']
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _answer(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value if isinstance(value, str) else str(value)


def _error(row: Mapping[str, Any]) -> str | None:
    """An evalkit row's failure (``error_type: error``), when its model failed.

    A ``JudgeFailed`` row's answer is the model's, whole: only its judge failed.
    """
    if row.get("error_type") == "JudgeFailed":
        return None
    message = row.get("error")
    if message is None or (isinstance(message, float) and math.isnan(message)):
        return None
    return f"{row.get('error_type') or 'error'}: {message}"


def _latency(value: Any) -> float | None:
    try:
        latency = float(value)
    except (TypeError, ValueError):
        return None
    return latency if math.isfinite(latency) and latency >= 0 else None


def _rows(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """The file's column names and its rows as mappings."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows = []
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"line {number}: not JSON ({exc.msg})") from exc
                if not isinstance(row, dict):
                    raise ConfigError(f"line {number}: expected a JSON object, got "
                                      f"{type(row).__name__}")  # fmt: skip
                rows.append(row)
        return _columns(rows), rows
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):  # keyed by sample id: MathVista's and MMMU's outputs
            data = [
                {"sample_id": key, **value}
                if isinstance(value, dict)
                else {"sample_id": key, "prediction": value}
                for key, value in data.items()
            ]
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ConfigError(
                "expected a JSON list of objects (one per sample), or an object keyed by sample id"
            )
        return _columns(data), data
    import pandas as pd

    if suffix in (".csv", ".tsv"):
        frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=object,
                            keep_default_na=False, na_values=[""])  # fmt: skip
    elif suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:
        try:
            frame = pd.read_excel(path, dtype=object)
        except ImportError as exc:
            raise MissingDependency(
                "reading .xlsx needs openpyxl: pip install openpyxl (the xlsx extra), "
                "or save it as .tsv"
            ) from exc
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    return columns, cast(list[dict[str, Any]], frame.to_dict("records"))


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


DEFAULT_COLUMNS = {"table": ("sample_id", "prediction"), "evalkit": ("sample_id", "prediction"),
                   "vlmevalkit": ("index", "prediction")}  # fmt: skip
"""Each table-like format's id and prediction columns when ``backend.*_column`` is not given."""


def read_predictions(
    path: str | Path,
    *,
    id_column: str | None = None,
    prediction_column: str | None = None,
    format: str = "table",
    task_id_column: str | None = None,
) -> PredictionsFile:
    """Read a predictions file; any problem with it is one :class:`ConfigError` line.

    ``format``: ``table`` (any table, ``sample_id`` and ``prediction`` by default),
    ``evalkit`` (another run's ``samples.parquet``, or its folder), ``vlmevalkit`` (its
    ``<model>_<dataset>.xlsx``/``.tsv``: ``index`` and ``prediction``) or ``lmms-eval`` (its
    ``samples_<task>.jsonl``: the doc's ``task_id_column`` when the logged doc has it, else
    ``doc_id``, the doc's position in its split; the answer is ``filtered_resps[0]``).

    A missing file or column, an unknown format or suffix, an empty file and an id given twice
    are errors, each naming the file.
    """
    path = Path(path).expanduser()
    if format not in FORMATS:
        raise ConfigError(f"backend.format: {did_you_mean('format', format, FORMATS)}")
    if format == "evalkit" and path.is_dir():
        path = path / "samples.parquet"
    where = f"backend.predictions={path}"
    if not path.is_file():
        raise ConfigError(f"{where}: {'a folder' if path.is_dir() else 'no such file'}; "
                          "give a predictions file")  # fmt: skip
    if format == "lmms-eval":
        for option, value in (("id_column", id_column), ("prediction_column", prediction_column)):
            if value is not None:
                raise ConfigError(f"backend.{option}={value} is not read with backend.format="
                                  "lmms-eval (it pairs by the doc's id, or doc_id)")  # fmt: skip
        suffixes: tuple[str, ...] = (".jsonl",)
    else:
        suffixes = SUFFIXES
        default_id, default_prediction = DEFAULT_COLUMNS[format]
        id_column = id_column or default_id
        prediction_column = prediction_column or default_prediction
    if path.suffix.lower() not in suffixes:
        raise ConfigError(f"{where}: unknown file type '{path.suffix}' for format {format} "
                          f"(known: {', '.join(suffixes)})")  # fmt: skip
    try:
        columns, rows = _rows(path)
        if format == "lmms-eval":
            rows = [_lmms_eval_row(row, number, task_id_column) for number, row in
                    enumerate(rows, 1)]  # fmt: skip
            id_column, prediction_column = "sample_id", "prediction"
            columns = [id_column, prediction_column]
    except ConfigError as exc:
        raise type(exc)(f"{where}: {exc}") from exc
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot be read ({first_line(exc)})") from exc
    assert id_column is not None and prediction_column is not None
    if not rows:
        raise ConfigError(f"{where}: the file holds no predictions")
    for option, column in (("id_column", id_column), ("prediction_column", prediction_column)):
        if column not in columns:
            hint = did_you_mean("column", column, columns).removeprefix("unknown ")
            raise ConfigError(f"{where}: backend.{option}: the file has no {hint}")
    by_id: dict[str, Predicted] = {}
    first_row: dict[str, int] = {}
    for number, row in enumerate(rows, 1):
        sample_id = id_text(row.get(id_column))
        if sample_id is None:
            raise ConfigError(f"{where}: row {number} has no {id_column}")
        if sample_id in by_id:
            raise ConfigError(f"{where}: {id_column} '{sample_id}' is given twice (rows "
                              f"{first_row[sample_id]} and {number}); keep one prediction "
                              "per sample")  # fmt: skip
        first_row[sample_id] = number
        by_id[sample_id] = Predicted(
            _answer(row.get(prediction_column)),
            _error(row) if format == "evalkit" else None,
            token_count(row.get(USAGE_COLUMNS[0])),
            token_count(row.get(USAGE_COLUMNS[1])),
            _latency(row.get(LATENCY_COLUMN)),
        )
    size, sha256 = file_record(path)
    read_from = id_column if format != "lmms-eval" else f"doc.{task_id_column} or doc_id"
    return PredictionsFile(path.resolve(), format, read_from, by_id, size, sha256)


def _lmms_eval_row(
    row: Mapping[str, Any], number: int, task_id_column: str | None
) -> dict[str, Any]:
    """One line of lmms-eval's ``samples_<task>.jsonl`` as a table row (id, prediction).

    The line holds ``doc_id`` (the doc's position in the split lmms-eval read), ``doc`` (the
    doc without its images), ``resps`` and ``filtered_resps`` (one entry per request: the
    filtered answer, a string for ``generate_until``).
    """
    doc = row.get("doc")
    if "doc_id" not in row or not ("filtered_resps" in row or "resps" in row):
        raise ConfigError(f"line {number}: not an lmms-eval sample (it needs doc_id and "
                          "filtered_resps)")  # fmt: skip
    sample_id = row["doc_id"]
    if task_id_column is not None and isinstance(doc, Mapping) and task_id_column in doc:
        sample_id = doc[task_id_column]
    answer = (row.get("filtered_resps") or row.get("resps") or [None])[0]
    while isinstance(answer, list):  # a filter that keeps a list, or resps' [[text]]
        answer = answer[0] if answer else None
    return {"sample_id": sample_id, "prediction": answer}

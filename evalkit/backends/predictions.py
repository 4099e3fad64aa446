"""Predictions made elsewhere, read from a file into answers by sample id (``backend=replay``).

A table of predictions (``.jsonl``, ``.json`` holding a list of objects, ``.csv``, ``.tsv``,
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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from evalkit.backends.base import token_count
from evalkit.errors import ConfigError, MissingDependency, did_you_mean
from evalkit.structured import first_line

__all__ = ["FORMATS", "Predicted", "PredictionsFile", "file_record", "read_predictions"]

FORMATS = ("table",)
"""How a predictions file is laid out: ``table`` (rows with an id and a prediction column)."""

SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet", ".xlsx")
USAGE_COLUMNS = ("input_tokens", "output_tokens")
LATENCY_COLUMN = "latency_s"


@dataclass(frozen=True, slots=True)
class Predicted:
    """One sample's prediction as the file gives it."""

    text: str | None
    """The answer; ``None`` when the cell is empty (null, NaN): no prediction for the sample."""
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_s: float | None = None


@dataclass(frozen=True)
class PredictionsFile:
    """A whole predictions file: its answers by sample id, and what identifies it."""

    path: Path
    format: str
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


def _answer(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if isinstance(value, str) else str(value)


def _latency(value: Any) -> float | None:
    try:
        latency = float(value)
    except (TypeError, ValueError):
        return None
    return latency if math.isfinite(latency) and latency >= 0 else None


def _rows(path: Path) -> tuple[list[str], Iterable[Mapping[str, Any]]]:
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
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ConfigError("expected a JSON list of objects (one per sample)")
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


def read_predictions(
    path: str | Path,
    *,
    id_column: str = "sample_id",
    prediction_column: str = "prediction",
    format: str = "table",
) -> PredictionsFile:
    """Read a predictions file; any problem with it is one :class:`ConfigError` line.

    A missing file or column, an unknown format or suffix, an empty file and an id given twice
    are errors, each naming the file.
    """
    path = Path(path).expanduser()
    where = f"backend.predictions={path}"
    if format not in FORMATS:
        raise ConfigError(f"backend.format: {did_you_mean('format', format, FORMATS)}")
    if not path.is_file():
        raise ConfigError(f"{where}: {'a folder' if path.is_dir() else 'no such file'}; "
                          "give a predictions file")  # fmt: skip
    if path.suffix.lower() not in SUFFIXES:
        raise ConfigError(f"{where}: unknown file type '{path.suffix}' (known: "
                          f"{', '.join(SUFFIXES)})")  # fmt: skip
    try:
        columns, rows = _rows(path)
    except ConfigError as exc:
        raise type(exc)(f"{where}: {exc}") from exc
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot be read ({first_line(exc)})") from exc
    rows = list(rows)
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
            token_count(row.get(USAGE_COLUMNS[0])),
            token_count(row.get(USAGE_COLUMNS[1])),
            _latency(row.get(LATENCY_COLUMN)),
        )
    size, sha256 = file_record(path)
    return PredictionsFile(path.resolve(), format, by_id, size, sha256)

"""Rows from local parquet or JSON-lines files laid out in the task's Hugging Face schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from evalkit.errors import ConfigError, DataError

__all__ = ["data_files", "iter_local_rows"]

_SUFFIXES = (".parquet", ".jsonl", ".json")


def data_files(path: Path) -> list[Path]:
    """The parquet/jsonl files at ``path`` (a file, or a folder searched recursively, sorted)."""
    if path.is_file():
        if path.suffix not in _SUFFIXES:
            raise ConfigError(f"dataset.path {path}: expected a .parquet or .jsonl file")
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES and p.is_file())
        if not files:
            raise ConfigError(f"dataset.path {path}: no .parquet or .jsonl files in this folder")
        return files
    raise ConfigError(f"dataset.path {path} does not exist")


def iter_local_rows(
    path: Path, *, batch_size: int = 64
) -> Iterator[tuple[dict[str, Any] | DataError, Path]]:
    """Yield ``(row, folder of its file)``, streaming: parquet by row batch, JSON lines by line.

    A line that is not valid JSON is yielded as a :class:`DataError` in place of its row.
    """
    for file in data_files(path):
        if file.suffix == ".parquet":
            # read pages as the batches need them rather than a whole column chunk at once
            # (image columns: 12 MB for 1000 448-px JPEGs, held twice while decoded), and one
            # batch at a time: with threads pyarrow decodes several ahead, which buys nothing
            # in a stream read in order
            parquet = pq.ParquetFile(file, pre_buffer=False, buffer_size=1 << 16)
            for batch in parquet.iter_batches(batch_size=batch_size, use_threads=False):
                for row in batch.to_pylist():
                    yield row, file.parent
        else:
            with file.open(encoding="utf-8") as handle:
                for line_no, line in enumerate(handle, 1):
                    if not line.strip():
                        continue
                    try:
                        yield json.loads(line), file.parent
                    except json.JSONDecodeError as exc:
                        bad = DataError(f"{file.name}:{line_no}: invalid JSON ({exc.msg})")
                        yield bad, file.parent

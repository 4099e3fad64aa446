"""Rows from local parquet or JSON-lines files laid out in the task's Hugging Face schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from evalkit.errors import ConfigError, DataError
from evalkit.structured import first_line

__all__ = ["data_files", "iter_local_rows"]

_SUFFIXES = (".parquet", ".jsonl", ".json")


def data_files(path: Path, *, check: bool = False, release: str | None = None) -> list[Path]:
    """The parquet/jsonl files at ``path`` (a file, or a folder searched recursively, sorted).

    ``check`` also reads each Parquet footer, so a file that only looks like Parquet is one
    line before a run (describe_source asks for it once; readers later do not repeat it).
    ``release`` names the task's own release layout, for the message when a file is neither.
    """
    if path.is_file():
        if path.suffix not in _SUFFIXES:
            own = ""
            if release is not None:
                from evalkit.dataset.releases import RELEASES

                own = f", or {RELEASES[release].description}"
            raise ConfigError(
                f"dataset.path {path}: expected a .parquet or .jsonl file in the task's Hub "
                f"schema{own}"
            )
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES and p.is_file())
        if not files:
            found = sorted({p.suffix or p.name for p in path.rglob("*") if p.is_file()})[:5]
            seen = f" (found: {', '.join(found)})" if found else " (it is empty)"
            raise ConfigError(
                f"dataset.path {path}: no .parquet or .jsonl files in this folder{seen}"
            )
    else:
        raise ConfigError(f"dataset.path {path} does not exist")
    for file in files if check else ():  # a file that only looks like Parquet fails now
        if file.suffix in (".jsonl", ".json"):
            _check_text(file, release)
        if file.suffix == ".parquet":
            try:
                pq.read_schema(file)
            except (pa.ArrowInvalid, OSError) as exc:
                first = first_line(exc)
                raise ConfigError(
                    f"dataset.path {file}: not a readable Parquet file ({first})"
                ) from exc
    return files


def _check_text(file: Path, release: str | None = None) -> None:
    """Refuse, in one line, a JSON-lines file that is binary, not UTF-8, or one JSON value.

    A JSON list (ChartQA's release) or an object over several lines (MathVista's, a
    ``dataset_info.json``) is not rows one per line. A bad line after a good one stays an
    error row, as any bad row does.
    """
    try:
        with file.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise ConfigError(f"dataset.path {file}: cannot read it ({exc.strerror or exc})") from exc
    lines = head.split(b"\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines) - 1)
    cut_short = first == len(lines) - 1 and len(head) == 4096  # runs past the 4 KB read

    if b"\0" in head:
        kind = "binary data"
    else:
        try:
            text = lines[first].decode("utf-8-sig").lstrip()
        except UnicodeDecodeError as exc:
            cut = first == len(lines) - 1 and exc.start >= len(lines[first]) - 3
            if cut:  # a character cut by the 4 KB window, in a first line that runs past it
                return
            kind = f"a first line that is not UTF-8 (byte {exc.start})"
        else:
            if text.startswith("["):
                shape = "a JSON list"
            elif text.startswith("{") and not cut_short and not _whole_json(text):
                shape = "one JSON object over several lines"
            else:
                return
            own = f"; this task reads its release layout '{release}' too" if release else ""
            raise ConfigError(
                f"dataset.path {file}: {shape}, not JSON lines (one object per line, in the "
                f"task's Hub schema){own}"
            )
    raise ConfigError(
        f"dataset.path {file}: expected JSON lines (UTF-8 text, one object per line), found {kind}"
    )


def _whole_json(text: str) -> bool:
    """Whether ``text`` parses as one JSON value."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _json_line(raw: bytes, file: Path, line_no: int) -> Iterator[tuple[Any, Path]]:
    """One JSON-lines row, or the :class:`DataError` that stands in for it (nothing if blank)."""
    where = f"{file.name}:{line_no}"
    try:
        line = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        yield (
            DataError(
                f"{where}: not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
            ),
            file.parent,
        )
        return
    if not line.strip():
        return
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        yield DataError(f"{where}: invalid JSON ({exc.msg})"), file.parent
        return
    if not isinstance(value, dict):
        yield (
            DataError(f"{where}: a row must be a JSON object, got {type(value).__name__}"),
            file.parent,
        )
        return
    yield value, file.parent


def iter_local_rows(
    path: Path, *, batch_size: int = 64
) -> Iterator[tuple[dict[str, Any] | DataError, Path]]:
    """Yield ``(row, folder of its file)``, streaming: parquet by row batch, JSON lines by line.

    A line that is not UTF-8, not valid JSON or not an object is yielded as a
    :class:`DataError` (naming the file and line) in place of its row.
    """
    for file in data_files(path):  # describe_source checked them before the run
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
            with file.open("rb") as handle:
                for line_no, raw in enumerate(handle, 1):
                    yield from _json_line(raw, file, line_no)

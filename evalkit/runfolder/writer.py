"""Crash-safe sample rows: appended to a journal as they finish, sealed into Parquet at the end.

A Parquet file is readable only once its footer is written, so rows are first appended, in
small flushed batches, to ``samples.arrows`` (an Arrow IPC stream, readable up to its last
complete batch after a crash). :meth:`SampleWriter.close` turns the journal into
``samples.parquet`` (atomically, via a temporary file) and removes it. :func:`read_samples`
reads whichever of the two a run folder holds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from evalkit.errors import ConfigError
from evalkit.runfolder.rows import column, rows_to_table
from evalkit.runfolder.schema import SAMPLE_COLUMNS, conform_kept, kept_type, meta_value

__all__ = [
    "JOURNAL_NAME",
    "SAMPLES_NAME",
    "SampleWriter",
    "read_journal",
    "read_parquet",
    "read_sample_file",
    "read_samples",
]

SAMPLES_NAME = "samples.parquet"
JOURNAL_NAME = "samples.arrows"
_FLUSH_SECONDS = 2.0


class SampleWriter:
    """Append sample rows as they finish; ``close()`` writes ``samples.parquet``.

    ``meta`` names the task's kept dataset columns. Each has its one type, whatever the task
    (:func:`~evalkit.runfolder.schema.kept_type`); a value of the other shape is stored in the
    column's shape (:func:`~evalkit.runfolder.schema.meta_value`). They go after the fixed
    columns, before the metrics.
    """

    def __init__(
        self,
        run_dir: Path,
        schema: pa.Schema,
        *,
        meta: Sequence[str] = (),
        flush_every: int = 64,
    ) -> None:
        self.run_dir = run_dir
        self.schema = schema
        self._meta = list(meta)
        self._flush_every = max(1, flush_every)
        self._buffer: list[Mapping[str, Any]] = []
        self._last_flush = time.monotonic()
        self._journal = run_dir / JOURNAL_NAME
        self._sink = pa.OSFile(str(self._journal), "wb")
        # every column's type is known now, kept ones too: the journal has its schema at once
        self.schema = self._with_meta()
        self._stream = pa.ipc.new_stream(self._sink, self.schema)
        empty = pa.RecordBatch.from_arrays([pa.nulls(0, f.type) for f in self.schema],
                                           schema=self.schema)  # fmt: skip
        self._stream.write_batch(empty)  # the schema reaches the disk now, rows or not
        self._sink.flush()

    def _with_meta(self) -> pa.Schema:
        """The schema with the kept columns, each in its one type."""
        at = len(SAMPLE_COLUMNS) if self.schema.names[: len(SAMPLE_COLUMNS)] == [
            f.name for f in SAMPLE_COLUMNS
        ] else len(self.schema)  # fmt: skip
        schema = self.schema
        for offset, name in enumerate(self._meta):
            field = pa.field(name, kept_type(name))
            schema = schema.insert(at + offset, field)
        return schema

    def _typed(self, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        if not self._meta:
            return list(rows)
        types = {name: self.schema.field(name).type for name in self._meta}
        return [{**row, **{n: meta_value(row.get(n), t) for n, t in types.items()}} for row in rows]

    def append(self, row: Mapping[str, Any]) -> None:
        """Buffer one row; flush when the batch is full or a couple of seconds have passed."""
        self._buffer.append(row)
        full = len(self._buffer) >= self._flush_every
        if full or time.monotonic() - self._last_flush >= _FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Append the buffered rows to the journal and push them to the OS."""
        if self._buffer:
            self._stream.write_table(rows_to_table(self._typed(self._buffer), self.schema))
            self._sink.flush()
            self._buffer.clear()
        self._last_flush = time.monotonic()

    def close(
        self,
        updates: Mapping[str, Mapping[str, float]] | None = None,
        order: Mapping[str, int] | None = None,
    ) -> Path:
        """Seal the journal into ``samples.parquet``.

        ``updates`` fills metric columns known only at the end (metric → sample id → value),
        e.g. per-image CIDEr. ``order`` (sample id → position) sorts the rows into dataset order,
        so a run's table does not depend on which request finished first.
        """
        self.flush()
        self._stream.close()
        self._sink.close()
        table = read_journal(self._journal, self.schema)
        for metric, by_id in (updates or {}).items():
            ids = table.column("sample_id").to_pylist()
            old = table.column(metric).to_pylist()
            new = [by_id.get(i, v) for i, v in zip(ids, old, strict=True)]
            position = table.schema.get_field_index(metric)
            field = self.schema.field(metric)
            table = table.set_column(position, field, column(new, field))
        if order is not None:
            ids = table.column("sample_id").to_pylist()
            positions = [order.get(i, len(order)) for i in ids]
            permutation = sorted(range(len(ids)), key=positions.__getitem__)  # stable, like Arrow's
            if permutation != list(range(len(ids))):  # take() loads pyarrow.compute: 35 ms
                table = table.take(column(permutation, pa.field("i", pa.int64())))
        target = self.run_dir / SAMPLES_NAME
        tmp = target.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, target)
        self._journal.unlink()
        return target


def read_journal(path: Path, schema: pa.Schema | None = None) -> pa.Table:
    """Every complete batch of a (possibly truncated) journal."""
    batches = []
    with pa.OSFile(str(path), "rb") as source:
        try:
            reader = pa.ipc.open_stream(source)
        except pa.ArrowInvalid:
            if schema is None:
                raise
            return schema.empty_table()
        schema = reader.schema
        while True:
            try:
                batches.append(reader.read_next_batch())
            except StopIteration:
                break
            except (pa.ArrowInvalid, OSError):
                break  # a batch cut short by a crash: keep what came before it
    return pa.Table.from_batches(batches, schema=schema)


def _damaged(path: Path, exc: BaseException) -> ConfigError:
    """The one line every command gives for a sample file it cannot read."""
    try:
        size = path.stat().st_size
    except OSError:
        size = None
    why = "it is empty (0 bytes)" if size == 0 else (
        "it is not a complete Parquet file (cut short?)" if isinstance(exc, pa.ArrowException)
        else exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
    )  # fmt: skip
    return ConfigError(f"cannot read {path}: {why}; the run folder is damaged")


def read_parquet(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """A run folder's Parquet file (only ``columns`` of it, when given).

    A damaged file (empty, cut short, not Parquet) is a one-line
    :class:`~evalkit.errors.ConfigError` naming it, for every command that reads runs.
    """
    try:
        file = pq.ParquetFile(path)  # one open: the schema, then only the columns asked for
        if columns is None:
            return file.read()
        present = set(file.schema_arrow.names)
        return file.read(columns=[c for c in columns if c in present])
    except (OSError, pa.ArrowException) as exc:
        raise _damaged(path, exc) from exc


def read_sample_file(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """``samples.parquet`` (see :func:`read_parquet`), kept columns in their one type."""
    return conform_kept(read_parquet(path, columns))


def read_samples(run_dir: Path) -> pa.Table:
    """The sample rows of a run folder: the Parquet file, or the journal of an unfinished run.

    A missing or damaged file is a one-line :class:`~evalkit.errors.ConfigError`.
    """
    parquet = run_dir / SAMPLES_NAME
    if parquet.exists():
        return read_sample_file(parquet)
    journal = run_dir / JOURNAL_NAME
    if journal.exists():
        try:
            return conform_kept(read_journal(journal))
        except (OSError, pa.ArrowException) as exc:
            raise _damaged(journal, exc) from exc
    raise ConfigError(f"{run_dir} holds no {SAMPLES_NAME} (nor the journal of an unfinished run)")

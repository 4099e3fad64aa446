"""Many run folders as three pandas frames, for notebooks: runs, samples and summary.

::

    from evalkit.analysis import load_runs
    tables = load_runs("results")           # every finished run below results/
    tables.runs                             # one row per run: task, model, n, cost, wall, ...
    tables.summary.query("kind == 'metric'")  # every metric row, with its run's columns
    tables.samples.groupby(["task", "model"])["latency_s"].describe()

Columns keep their Arrow types (``pd.ArrowDtype``): a list of references stays a list, an
integer column with gaps stays integer. Only the columns asked for are read from each
``samples.parquet`` (``columns=``), so a hundred runs load in well under a second when the
question needs a few columns. DuckDB reads the same files directly::

    SELECT task, model, avg(anls) FROM read_parquet('results/**/samples.parquet',
                                                    union_by_name = true) GROUP BY ALL

For two runs sample by sample, see :func:`evalkit.compare.compare_runs`;
:func:`comparison_frames` turns its result into frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from evalkit.runfolder.read import read_run, run_folders
from evalkit.runfolder.schema import SAMPLE_COLUMNS, SUMMARY_SCHEMA

if TYPE_CHECKING:
    import pandas as pd

    from evalkit.compare.compare import Comparison

__all__ = ["RUN_COLUMNS", "Tables", "comparison_frames", "load_runs", "run_folders", "run_row"]

RUN_COLUMNS = ("run_id", "path", "task", "backend", "model", "revision", "prompt_family",
               "dataset", "split", "started", "finished", "n", "failures", "error_rate",
               "input_tokens", "output_tokens", "image_tokens", "cost", "currency",
               "cost_saved", "cache_hits", "wall_s", "samples_per_s", "aborted")  # fmt: skip
"""The columns of the ``runs`` frame, in order."""
_SAMPLE_RUN_COLUMNS = ("revision", "prompt_family", "started")
"""Run columns added to every sample and summary row (task, backend, model are there already)."""


@dataclass(frozen=True)
class Tables:
    """What :func:`load_runs` returns."""

    runs: pd.DataFrame
    """One row per run (:data:`RUN_COLUMNS`)."""
    samples: pd.DataFrame
    """Every sample row of every run, with the run's revision, prompt family and start."""
    summary: pd.DataFrame
    """Every summary row (``kind``: metric, group, cost), with the run's columns."""


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def run_row(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The ``runs`` row of one run, from its ``run.json``."""
    counts = manifest.get("counts") or {}
    n, failed = counts.get("samples"), counts.get("failed")
    return {
        "run_id": manifest.get("run_id"),
        "path": str(folder),
        "task": manifest.get("task"),
        "backend": _get(manifest, "backend", "name"),
        "model": _get(manifest, "backend", "model"),
        "revision": _get(manifest, "backend", "revision"),
        "prompt_family": _get(manifest, "scoring", "prompt_family"),
        "dataset": _get(manifest, "dataset", "id"),
        "split": _get(manifest, "dataset", "split"),
        "started": _get(manifest, "timing", "started"),
        "finished": _get(manifest, "timing", "finished"),
        "n": n,
        "failures": failed,
        "error_rate": (failed / n) if n else None,
        "input_tokens": _get(manifest, "usage", "input_tokens"),
        "output_tokens": _get(manifest, "usage", "output_tokens"),
        "image_tokens": _get(manifest, "usage", "image_tokens"),
        "cost": _get(manifest, "cost", "spent"),
        "currency": _get(manifest, "cost", "currency"),
        "cost_saved": _get(manifest, "cost", "saved"),
        "cache_hits": _get(manifest, "cache", "hits"),
        "wall_s": _get(manifest, "timing", "wall_s"),
        "samples_per_s": _get(manifest, "timing", "samples_per_s"),
        "aborted": manifest.get("aborted"),
    }


_RUN_TYPES = {
    "n": pa.int64(), "failures": pa.int64(), "error_rate": pa.float64(),
    "input_tokens": pa.int64(), "output_tokens": pa.int64(), "image_tokens": pa.int64(),
    "cost": pa.float64(), "cost_saved": pa.float64(), "cache_hits": pa.int64(),
    "wall_s": pa.float64(), "samples_per_s": pa.float64(),
    "started": pa.timestamp("us", tz="UTC"), "finished": pa.timestamp("us", tz="UTC"),
}  # fmt: skip


def _runs_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    fields = [pa.field(name, _RUN_TYPES.get(name, pa.string())) for name in RUN_COLUMNS]
    columns: dict[str, pa.Array] = {}
    for f in fields:
        values = [row[f.name] for row in rows]
        if pa.types.is_timestamp(f.type):
            columns[f.name] = pa.array(values, pa.string()).cast(f.type)
        else:
            columns[f.name] = pa.array(values, f.type)
    return pa.table(columns, schema=pa.schema(fields))


def _with_run_columns(table: pa.Table, run: dict[str, Any]) -> pa.Table:
    for name in _SAMPLE_RUN_COLUMNS:
        if name in table.schema.names:
            continue
        type_ = _RUN_TYPES.get(name, pa.string())
        value = pa.scalar(run[name], pa.string()).cast(type_) if run[name] is not None else None
        table = table.append_column(name, pa.array([value] * len(table), type_))
    return table


def _load_one(folder: Path, columns: Sequence[str] | None, samples: bool
              ) -> tuple[dict[str, Any], pa.Table | None, pa.Table | None]:  # fmt: skip
    """One run folder: its ``runs`` row, its summary and its sample rows (with run columns)."""
    run_folder = read_run(folder)
    run = run_row(folder, run_folder.manifest)
    summary = None
    if run_folder.has_summary:
        summary = run_folder.summary_table()
        for name in ("backend", "model"):
            summary = summary.append_column(name, pa.array([run[name]] * len(summary),
                                                            pa.string()))  # fmt: skip
        summary = _with_run_columns(summary, run)
    rows = _with_run_columns(run_folder.sample_columns(columns), run) if samples else None
    return run, summary, rows


def _concat(tables: Sequence[pa.Table], empty: pa.Schema) -> pa.Table:
    """The tables as one (columns by name); ``empty``'s columns when there is none."""
    tables = [t for t in tables if t.num_columns]
    if not tables:
        return empty.empty_table()
    return pa.concat_tables(tables, promote_options="permissive")


def _empty_schema(fields: Sequence[pa.Field], columns: Sequence[str] | None) -> pa.Schema:
    run = [pa.field(n, _RUN_TYPES.get(n, pa.string())) for n in _SAMPLE_RUN_COLUMNS]
    every = [f for f in [*fields, *run] if columns is None or f.name in columns]
    return pa.schema(list({f.name: f for f in every}.values()))


def load_runs(
    source: str | Path | Iterable[str | Path] = "results",
    *,
    columns: Sequence[str] | None = None,
    samples: bool = True,
) -> Tables:
    """Load every finished run at ``source`` into the three frames.

    Args:
        source: a run folder, a folder of runs (``results``), or a list of either.
        columns: the ``samples.parquet`` columns to read (``run_id``, ``task``, ``backend``,
            ``model`` and ``sample_id`` are always read); ``None`` reads them all.
        samples: ``False`` skips the sample rows (``runs`` and ``summary`` only).
    """
    import pandas as pd

    folders = run_folders(source)
    wanted = None
    if columns is not None:
        wanted = list(dict.fromkeys(["run_id", "task", "backend", "model", "sample_id",
                                     *columns]))  # fmt: skip
    # Parquet decoding releases the GIL: a few threads read the folders side by side
    with ThreadPoolExecutor(max_workers=4) as pool:
        loaded = list(pool.map(lambda f: _load_one(f, wanted, samples), folders))
    runs = [run for run, _, _ in loaded]
    summary_tables = [t for _, t, _ in loaded if t is not None]
    sample_tables = [t for _, _, t in loaded if t is not None]

    def frame(table: pa.Table) -> pd.DataFrame:
        out: pd.DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype)
        return out

    summary_fields = [*SUMMARY_SCHEMA, pa.field("backend", pa.string()),
                      pa.field("model", pa.string())]  # fmt: skip
    return Tables(
        frame(_runs_table(runs)),
        frame(_concat(sample_tables, _empty_schema(SAMPLE_COLUMNS, wanted))),
        frame(_concat(summary_tables, _empty_schema(summary_fields, None))),
    )


def comparison_frames(comparison: Comparison) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A comparison's metric rows and its flipped samples as two frames."""
    import pandas as pd

    from evalkit.compare.render import METRIC_FIELDS

    metrics = pd.DataFrame([{k: getattr(m, k) for k in METRIC_FIELDS}
                            for m in comparison.metrics])  # fmt: skip
    flips = pd.DataFrame(
        [
            {"task": t.task, "metric": t.flip_metric, **vars(f)}
            for t in comparison.tasks
            for f in t.worst
        ]  # fmt: skip
    )
    return metrics, flips

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

from evalkit.runfolder.read import primary_metric, read_run, run_folders
from evalkit.runfolder.schema import SAMPLE_COLUMNS, SUMMARY_SCHEMA

if TYPE_CHECKING:
    import pandas as pd

    from evalkit.compare.compare import Comparison

__all__ = [
    "RUN_COLUMNS",
    "Tables",
    "comparison_frames",
    "cost_and_score",
    "group_deltas",
    "leaderboard",
    "load_runs",
    "primary_metric",
    "run_folders",
    "run_row",
    "select_runs",
    "worst_samples",
]

RUN_COLUMNS = ("run_id", "path", "name", "task", "primary_metric", "backend", "model", "revision",
               "prompt_family", "dataset", "split", "started", "finished", "n", "failures",
               "error_rate",
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
        "name": folder.name,
        "task": manifest.get("task"),
        "primary_metric": primary_metric(manifest),
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
    """A comparison's metric rows and its flipped samples as two frames.

    ``went`` in the flips: ``down`` for the samples that dropped most, ``up`` for those that
    rose most.
    """
    import pandas as pd

    from evalkit.compare.render import METRIC_FIELDS

    metrics = pd.DataFrame([{k: getattr(m, k) for k in METRIC_FIELDS}
                            for m in comparison.metrics])  # fmt: skip
    flips = pd.DataFrame(
        [
            {"task": t.task, "metric": t.flip_metric, "went": went, **vars(f)}
            for t in comparison.tasks
            for went, chosen in (("down", t.worst), ("up", t.best))
            for f in chosen
        ]  # fmt: skip
    )
    return metrics, flips


def select_runs(tables: Tables, names: str | Sequence[str] | None = None,
                query: str | None = None) -> Tables:  # fmt: skip
    """The runs chosen by name or by a filter, with their samples and summary rows.

    ``names``: run ids or folder names, shell patterns allowed (``"2026120*"``,
    ``"docvqa-*"``); a name that matches no run is an error. ``query``: a pandas query over
    the ``runs`` frame (``"task == 'docvqa' and model.str.contains('7B')"``,
    ``"finished > '2026-12-01'"``). Both given: runs that pass both.
    """
    from fnmatch import fnmatchcase

    import pandas as pd

    from evalkit.errors import ConfigError

    runs = tables.runs
    keep = pd.Series(True, index=runs.index)
    if names is not None:
        wanted = [names] if isinstance(names, str) else list(names)
        ids = runs["run_id"].astype(str).tolist()
        folders = runs["name"].astype(str).tolist()
        hits = pd.Series(False, index=runs.index)
        for pattern in wanted:
            matched = [fnmatchcase(i, pattern) or fnmatchcase(f, pattern)
                       for i, f in zip(ids, folders, strict=True)]  # fmt: skip
            if not any(matched):
                raise ConfigError(f"no run is named '{pattern}' (run ids and folder names are "
                                  f"matched; {len(runs)} runs loaded)")  # fmt: skip
            hits |= pd.Series(matched, index=runs.index)
        keep &= hits
    if query is not None:
        chosen = runs.query(query, engine="python")
        keep &= runs.index.isin(chosen.index)
    kept = runs[keep]
    chosen_ids = set(kept["run_id"])
    return Tables(
        kept.reset_index(drop=True),
        tables.samples[tables.samples["run_id"].isin(chosen_ids)].reset_index(drop=True),
        tables.summary[tables.summary["run_id"].isin(chosen_ids)].reset_index(drop=True),
    )


def _primary_rows(tables: Tables) -> pd.DataFrame:
    """Each run's primary metric row of its summary, with the run's columns."""
    metric_rows = tables.summary[tables.summary["kind"] == "metric"]
    cols = ["run_id", "name", "primary_metric", "finished", "cost", "currency", "input_tokens",
            "output_tokens"]  # fmt: skip
    rows = metric_rows.merge(tables.runs[cols], on="run_id")
    return rows[rows["metric"] == rows["primary_metric"]]


def leaderboard(tables: Tables, *, by: str = "model") -> pd.DataFrame:
    """Tasks down, models (or another ``runs`` column) across: each task's primary metric.

    The primary metric is the one the task declares (``primary``: CIDEr for captions, MMBench's
    circular accuracy, MME's perception total), else its first. Where a task has several runs of
    one model, the last finished counts. The ``metric`` column names each row's metric.
    """
    import pandas as pd

    rows = _primary_rows(tables)
    if rows.empty:
        return pd.DataFrame(columns=["task", "metric"]).set_index(["task", "metric"])
    if by not in rows.columns:
        rows = rows.merge(tables.runs[["run_id", by]], on="run_id")
    last = rows.sort_values("finished").groupby(["task", by], sort=False).tail(1)
    board = last.set_index(["task", "metric", by])["value"].astype("float64").unstack(by)
    board.columns.name = by
    return board.sort_index()


def cost_and_score(tables: Tables) -> pd.DataFrame:
    """One row per run: task, model, its primary metric and value, cost, currency and tokens.

    A run without a price (no currency: the baseline, a local model, an unpriced endpoint) has
    no cost (``NaN``), never 0.
    """
    rows = _primary_rows(tables)
    out = rows[["run_id", "name", "task", "model", "metric", "value", "cost", "currency",
                "input_tokens", "output_tokens", "n", "n_failed"]].copy()  # fmt: skip
    # a cost without a currency is no price (the baseline's, a local model's): not a cost of 0
    out.loc[out["currency"].isna(), "cost"] = None
    out["tokens"] = out["input_tokens"].fillna(0) + out["output_tokens"].fillna(0)
    return out.reset_index(drop=True)


def group_deltas(tables: Tables, base: str, cand: str) -> pd.DataFrame:
    """Every group row of two runs side by side, the largest drop first.

    Columns ``group_by``, ``group``, ``metric``, ``base``, ``cand``, ``diff`` (candidate minus
    base) and each side's ``n``. ``base`` and ``cand``: run ids or folder names.
    """

    def one(name: str) -> pd.DataFrame:
        runs = tables.runs[(tables.runs["run_id"] == name) | (tables.runs["name"] == name)]
        if len(runs) != 1:
            from evalkit.errors import ConfigError

            raise ConfigError(f"'{name}' names {len(runs)} of the loaded runs, not one")
        rows = tables.summary[(tables.summary["run_id"] == runs["run_id"].iloc[0])
                              & (tables.summary["kind"] == "group")]  # fmt: skip
        picked: pd.DataFrame = rows[["group_by", "group", "metric", "value", "n"]]
        return picked

    merged = one(base).merge(one(cand), on=["group_by", "group", "metric"], how="outer",
                             suffixes=("_base", "_cand"))  # fmt: skip
    merged = merged.rename(columns={"value_base": "base", "value_cand": "cand"})
    merged["diff"] = merged["cand"].astype("float64") - merged["base"].astype("float64")
    return merged.sort_values("diff", na_position="last").reset_index(drop=True)


class WorstSamples:
    """A run's lowest-scoring samples with their images; shows as cards in a notebook."""

    def __init__(self, run_dir: Path, count: int) -> None:
        from evalkit.page.page import worst_cards

        self.run_dir = run_dir
        self.frame, self._html = worst_cards(run_dir, count)

    def _repr_html_(self) -> str:
        return self._html

    def __repr__(self) -> str:
        return repr(self.frame)


def worst_samples(run_dir: str | Path, count: int = 6) -> WorstSamples:
    """The ``count`` lowest-scoring samples of one run, with their images.

    Picked as the HTML report picks them (ties on a 0/1 metric broken by a continuous one, one
    image first); shown as cards in a notebook, ``.frame`` for the rows.
    """
    return WorstSamples(Path(run_dir), count)

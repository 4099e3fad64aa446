"""``summary.parquet`` and the table printed at the end of a run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow.parquet as pq

from evalkit.runfolder.rows import rows_to_table
from evalkit.runfolder.schema import SUMMARY_SCHEMA
from evalkit.score.aggregate import Kind, MetricValue

__all__ = [
    "SUMMARY_NAME",
    "TABLE_HEADER",
    "align",
    "format_table",
    "metric_cells",
    "read_summary",
    "write_summary",
]

SUMMARY_NAME = "summary.parquet"


def write_summary(run_dir: Path, *, run_id: str, task: str, rows: Sequence[MetricValue]) -> Path:
    """Write one row per metric."""
    table = rows_to_table(
        [
            {
                "run_id": run_id,
                "task": task,
                "metric": r.metric,
                "value": r.value,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "n": r.n,
                "n_failed": r.n_failed,
                "kind": r.kind,
                "group_by": r.group_by,
                "group": r.group,
            }
            for r in rows
        ],
        schema=SUMMARY_SCHEMA,
    )
    path = run_dir / SUMMARY_NAME
    pq.write_table(table, path)
    return path


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def read_summary(run_dir: Path) -> list[MetricValue]:
    """The rows of a run's ``summary.parquet`` (format 1 files, without ``kind``, read too)."""
    rows = []
    from evalkit.runfolder.writer import read_parquet

    for r in read_parquet(run_dir / SUMMARY_NAME).to_pylist():
        old: Kind = "cost" if str(r["metric"]).startswith("cost_") else "metric"
        kind: Kind = r.get("kind") or old
        where = (kind, r.get("group_by"), r.get("group"))
        rows.append(MetricValue(r["metric"], r["value"], r["ci_low"], r["ci_high"], r["n"],
                                r["n_failed"], *where))  # fmt: skip
    return rows


def metric_cells(task: str, r: MetricValue) -> tuple[str, ...]:
    """One summary row as the printed table's cells (a group row indented under its metric)."""
    return (
        task,
        r.metric if r.kind != "group" else f"  {r.metric} [{r.group_by}={r.group}]",
        _num(r.value),
        "-" if r.ci_low is None else f"[{_num(r.ci_low)}, {_num(r.ci_high)}]",
        str(r.n),
        str(r.n_failed),
    )


TABLE_HEADER = ("task", "metric", "value", "95% CI", "n", "failed")
"""The printed summary table's columns."""


def align(rows: Sequence[Sequence[str]]) -> str:
    """Rows of cells as plain-text columns, two spaces apart (the first row is the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)  # fmt: skip


def format_table(task: str, rows: Sequence[MetricValue]) -> str:
    """A plain-text table of the summary (group rows indented under ``group``).

    >>> print(format_table("t", [MetricValue("anls", 0.5, 0.4, 0.6, 10, 1)]))
    task  metric  value   95% CI            n   failed
    t     anls    0.5000  [0.4000, 0.6000]  10  1
    """
    return align([TABLE_HEADER, *(metric_cells(task, r) for r in rows)])

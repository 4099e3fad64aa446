"""``positions.parquet``: where a shard's samples stand in the whole run's stream.

A shard's ``samples.parquet`` is in dataset order, but its rows are some of the whole run's;
``evalkit merge`` interleaves the shards by these positions, so the merged rows are in the
order of a run that was never cut. Written by a sharded run only (a plain run's rows are in
order already).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from evalkit.runfolder.writer import read_parquet

__all__ = ["POSITIONS_NAME", "read_positions", "write_positions"]

POSITIONS_NAME = "positions.parquet"

_SCHEMA = pa.schema([pa.field("sample_id", pa.string(), nullable=False),
                     pa.field("position", pa.int64(), nullable=False)])  # fmt: skip


def write_positions(run_dir: Path, positions: Mapping[str, int]) -> Path:
    """Write sample id → position (atomically)."""
    ordered = sorted(positions.items(), key=lambda item: item[1])
    table = pa.table({"sample_id": [i for i, _ in ordered], "position": [p for _, p in ordered]},
                     schema=_SCHEMA)  # fmt: skip
    target = run_dir / POSITIONS_NAME
    tmp = target.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    tmp.replace(target)
    return target


def read_positions(run_dir: Path) -> dict[str, int] | None:
    """Sample id → position, or ``None`` when the folder has no positions file."""
    path = run_dir / POSITIONS_NAME
    if not path.is_file():
        return None
    table = read_parquet(path)
    ids = table.column("sample_id").to_pylist()
    return dict(zip(ids, table.column("position").to_pylist(), strict=True))

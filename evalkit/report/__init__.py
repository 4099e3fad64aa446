"""Stage ⑦: Parquet rows, summary, run manifest, and loading a run folder back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.report.manifest import MANIFEST_NAME
from evalkit.report.summary import SUMMARY_NAME
from evalkit.report.writer import read_samples

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RunTables", "load_run"]


@dataclass(frozen=True)
class RunTables:
    """A run folder loaded for analysis."""

    samples: pd.DataFrame
    """One row per sample (``samples.parquet``)."""
    summary: pd.DataFrame | None
    """One row per metric (``summary.parquet``); ``None`` for an unfinished run."""
    manifest: dict[str, Any] | None
    """``run.json``; ``None`` for an unfinished run."""


def load_run(run_dir: str | Path) -> RunTables:
    """Load a run folder into pandas, e.g. ``load_run("results/docvqa/baseline/...").summary``."""
    import pandas as pd

    folder = Path(run_dir)
    samples = read_samples(folder).to_pandas()
    summary_path, manifest_path = folder / SUMMARY_NAME, folder / MANIFEST_NAME
    summary = pd.read_parquet(summary_path) if summary_path.exists() else None
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    return RunTables(samples, summary, manifest)

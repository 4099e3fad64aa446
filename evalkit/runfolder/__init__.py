"""Stage ⑦: Parquet rows, summary, run manifest, and loading a run folder back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.runfolder.read import RunFolder, read_run, run_folders

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RunFolder", "RunTables", "load_run", "read_run", "run_folders"]


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
    """Load a run folder into pandas, e.g. ``load_run("results/docvqa/baseline/...").summary``.

    An unsealed folder (a journal, ``run.partial.json``, no ``run.json``) loads its rows,
    without summary or manifest.
    """
    from evalkit.runfolder.manifest import MANIFEST_NAME, PARTIAL_NAME
    from evalkit.runfolder.writer import read_samples

    path = Path(run_dir)
    if not ((path / MANIFEST_NAME).exists() or (path / PARTIAL_NAME).exists()):
        return RunTables(read_samples(path).to_pandas(), None, None)  # from before partials
    folder = read_run(path, unsealed=True)
    summary: pd.DataFrame | None = (
        folder.summary_table().to_pandas() if folder.has_summary else None
    )
    manifest = folder.manifest if folder.sealed else None
    return RunTables(folder.samples.to_pandas(), summary, manifest)

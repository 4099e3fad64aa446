"""Stage ⑦: Parquet rows, summary, run manifest, and loading a run folder back."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.errors import ConfigError
from evalkit.report.manifest import MANIFEST_NAME
from evalkit.report.summary import SUMMARY_NAME
from evalkit.report.writer import read_samples

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RunTables", "load_run", "run_folders"]


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


def run_folders(source: str | Path | Iterable[str | Path]) -> list[Path]:
    """The run folders at ``source``: one folder, a folder of runs, or a list of either.

    A run counts when it has ``run.json``; an unfinished one (a journal, no manifest) is
    skipped, as it has no summary yet.
    """
    sources = [source] if isinstance(source, str | Path) else list(source)
    found: list[Path] = []
    for item in map(Path, sources):
        if not item.exists():
            raise ConfigError(f"{item} does not exist")
        if (item / MANIFEST_NAME).is_file():
            found.append(item)
        else:
            found += sorted(p.parent for p in item.rglob(MANIFEST_NAME))
    return list(dict.fromkeys(found))

"""``read_run(path) -> RunFolder``: the one way a run folder is read back.

``rescore``, ``compare``, ``report`` and ``analysis`` all read run folders through it, so they
share one upgrade of old formats and one set of one-line errors for damaged folders. The
manifest comes back in today's format (a format-1 task record is upgraded), its config as the
typed :class:`~evalkit.config.RunConfig` (through the one converter,
:func:`evalkit.structured.to_object`); the rows and the summary are read when first asked for,
so listing many runs reads only their ``run.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.config import RunConfig, metric_specs
from evalkit.errors import ConfigError
from evalkit.runfolder.manifest import MANIFEST_NAME, PARTIAL_NAME, read_manifest
from evalkit.runfolder.summary import SUMMARY_NAME, read_summary
from evalkit.runfolder.writer import JOURNAL_NAME, SAMPLES_NAME, read_parquet, read_sample_file
from evalkit.runfolder.writer import read_samples as _read_rows
from evalkit.structured import to_object

if TYPE_CHECKING:
    import pyarrow as pa

    from evalkit.score.aggregate import MetricValue

__all__ = [
    "RunFolder",
    "primary_metric",
    "read_run",
    "run_folders",
    "upgrade_manifest",
    "upgrade_task",
]


@dataclass(frozen=True)
class RunFolder:
    """A run folder read back: its record now, its rows and summary when asked for."""

    path: Path
    manifest: dict[str, Any]
    """``run.json`` (``run.partial.json`` for an unsealed folder) in today's format."""

    @property
    def sealed(self) -> bool:
        """Whether the run sealed its folder (``run.json`` written)."""
        return (self.path / MANIFEST_NAME).is_file()

    @property
    def task(self) -> str:
        """The task's name."""
        return str(self.manifest["task"])

    @property
    def model(self) -> str:
        """The model evaluated (the backend's model id)."""
        backend = self.manifest.get("backend") or {}
        return str(backend.get("model") or backend.get("name") or "?")

    @property
    def source(self) -> str:
        """Where the run's answers came from, in one line.

        The backend, its model and server; or the predictions file a ``replay`` run read (its
        name, format and the first 12 digits of its SHA-256).
        """
        backend = self.manifest.get("backend") or {}
        record = self.manifest.get("backend_record") or {}
        name = str(backend.get("name") or "?")
        if name == "replay" and record.get("file"):
            return (f"replay of {record['file']} ({record.get('format', 'table')}, sha256 "
                    f"{str(record.get('sha256', ''))[:12]})")  # fmt: skip
        where = f" at {backend['base_url']}" if backend.get("base_url") else ""
        return f"{name} {self.model}{where}"

    @property
    def scoring(self) -> dict[str, Any]:
        """How answers were read and scored (parser, prompt family, metrics, grouping)."""
        return dict(self.manifest.get("scoring") or {})

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """The task's metrics as ``run.json`` records them (name, column, params, corpus)."""
        return list(self.scoring.get("metrics") or [])

    @property
    def primary_metric(self) -> str | None:
        """The run's primary metric: its task's ``primary``, else the first metric it scored.

        Read from ``run.json`` (the task as the run composed it), so a run of a task file
        edited since, or of a user's own task, says what it said then.
        """
        return primary_metric(self.manifest)

    @cached_property
    def config(self) -> RunConfig:
        """The run's configuration, typed (a one-line error when it cannot be read)."""
        return run_config(self.manifest.get("config"), f"{self.path / MANIFEST_NAME}")

    @cached_property
    def samples(self) -> pa.Table:
        """Every sample row: ``samples.parquet``, or the journal of an unsealed run."""
        return _read_rows(self.path)

    def sample_columns(self, columns: Sequence[str] | None) -> pa.Table:
        """Only ``columns`` of the sample rows (all when ``None``); no rows: an empty table."""
        import pyarrow as pa

        path = self.path / SAMPLES_NAME
        if path.exists():
            return read_sample_file(path, columns)
        if (self.path / JOURNAL_NAME).exists():
            table = self.samples
            return table if columns is None else table.select(
                [c for c in columns if c in table.schema.names]
            )  # fmt: skip
        return pa.table({})

    @property
    def has_summary(self) -> bool:
        """Whether the folder holds ``summary.parquet``."""
        return (self.path / SUMMARY_NAME).is_file()

    def summary_table(self) -> pa.Table:
        """``summary.parquet`` as it is on disk."""
        return read_parquet(self.path / SUMMARY_NAME)

    def summary(self) -> list[MetricValue]:
        """The summary's rows (format-1 files, without ``kind``, read too)."""
        return read_summary(self.path)


def read_run(path: str | Path, *, unsealed: bool = False) -> RunFolder:
    """The run folder at ``path``, or a one-line error.

    A folder must hold ``run.json`` (a sealed run); with ``unsealed``, the
    ``run.partial.json`` of a run that ended without sealing is read instead when there is
    no ``run.json``.
    """
    folder = Path(path)
    if (folder / MANIFEST_NAME).is_file():
        manifest = read_manifest(folder)
    elif unsealed and (folder / PARTIAL_NAME).is_file():
        manifest = read_manifest(folder, name=PARTIAL_NAME)
    else:
        raise ConfigError(f"{folder} is not a finished run folder (no {MANIFEST_NAME})")
    return RunFolder(folder, upgrade_manifest(manifest))


def upgrade_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """``run.json`` of any format in today's shape (the format number is left as written).

    Format 1 kept the VQA mode and the ANLS threshold on the task and had no parser; formats 1
    and 2 called the task's kind its ``family``.
    """
    version = manifest.get("format_version", 1)
    config = manifest.get("config")
    task = config.get("task") if isinstance(config, dict) else None
    if isinstance(task, dict):
        if version < 2:
            task = upgrade_task(task)
        if version < 3 and "family" in task:
            task = {("kind" if k == "family" else k): v for k, v in task.items()}
        manifest = {**manifest, "config": {**(config or {}), "task": task}}
    if version < 3 and "family" in manifest:
        manifest = {("kind" if k == "family" else k): v for k, v in manifest.items()}
    return manifest


def run_config(data: Any, where: str) -> RunConfig:
    """A recorded config as :class:`RunConfig`, its backend and judge as their own schemas."""
    from evalkit.backends.registry import BACKENDS
    from evalkit.config import JUDGE_SCHEMAS

    if not isinstance(data, dict) or not isinstance(data.get("task"), dict):
        raise ConfigError(f"{where} has no usable config: no task record")
    name = str((data.get("backend") or {}).get("name") or "")
    if name not in BACKENDS:
        raise ConfigError(
            f"{where} has no usable config: backend '{name}' is not one this evalkit knows"
        )
    judge = str((data.get("judge") or {}).get("name") or "none")  # runs before judges: none
    if judge not in JUDGE_SCHEMAS:
        raise ConfigError(
            f"{where} has no usable config: judge '{judge}' is not one this evalkit knows"
        )
    return to_object(
        RunConfig,
        data,
        what=f"{where} has no usable config",
        fields={"backend": BACKENDS[name].schema, "judge": JUDGE_SCHEMAS[judge]},
    )


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


_V1_PARSERS = {"captioning": "caption", "grounding": "box"}


def upgrade_task(task: dict[str, Any]) -> dict[str, Any]:
    """A format-1 task record in today's shape: metric parameters, a parser, one answer.

    >>> upgrade_task({"family": "vqa", "metrics": ["vqa_accuracy"], "vqa_mode": "textvqa",
    ...               "anls_threshold": 0.5})["metrics"]
    [{'name': 'vqa_accuracy', 'params': {'mode': 'textvqa'}}]
    """
    task = dict(task)
    mode, threshold = task.pop("vqa_mode", None), task.pop("anls_threshold", None)
    specs = metric_specs(task.get("metrics"))
    for spec in specs:
        if spec["name"] == "vqa_accuracy" and mode is not None:
            spec.setdefault("params", {})["mode"] = mode
        if spec["name"] == "anls" and threshold is not None:
            spec.setdefault("params", {})["threshold"] = threshold
    task["metrics"] = specs
    task.setdefault("parser", _V1_PARSERS.get(str(task.get("kind", task.get("family"))), "answer"))
    baseline = dict(task.get("baseline") or {})
    caption = baseline.pop("caption", None)
    if task["parser"] == "caption" and caption is not None:
        baseline["answer"] = caption
    task["baseline"] = baseline
    return task


def primary_metric(manifest: dict[str, Any]) -> str | None:
    """The primary metric a ``run.json`` records: its task's ``primary``, else its first metric."""
    config = manifest.get("config")
    task = config.get("task") if isinstance(config, dict) else None
    if isinstance(task, dict) and task.get("primary"):
        return str(task["primary"])
    scoring = manifest.get("scoring")
    metrics = scoring.get("metrics") if isinstance(scoring, dict) else None
    if metrics and isinstance(metrics[0], dict):
        return str(metrics[0].get("column") or metrics[0].get("name"))
    return None

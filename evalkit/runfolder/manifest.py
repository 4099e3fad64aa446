"""``run.json``: the typed, versioned, secret-free record of how a run was made and what it cost.

:class:`RunManifest` is what a run writes; :func:`read_manifest` reads any version back as a
plain dict (``format_version`` 1 files, from before it was written, read as 1).

Format history: 1, the first wave (no ``format_version`` key); 2, ``format_version``, the
metrics with their parameters in ``scoring.metrics``, ``scoring.parser``, ``group_by`` and
``unparsed``, and ``kind`` / ``group_by`` / ``group`` columns in ``summary.parquet``; 3, the
task's ``family`` is named ``kind`` (in ``run.json`` and its task record), so that "family"
means a model family only.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError
from evalkit.structured import plain

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "PARTIAL_NAME",
    "CacheInfo",
    "CostInfo",
    "Counts",
    "RunManifest",
    "Scoring",
    "Timing",
    "package_versions",
    "read_manifest",
    "to_jsonable",
    "write_manifest",
]

MANIFEST_NAME = "run.json"
PARTIAL_NAME = "run.partial.json"
"""What a run knows when it starts (run id, config, backend, dataset): written first, replaced
by ``run.json`` when the folder is sealed. Found beside the journal and without ``run.json``,
it marks a run that ended without sealing (a second Ctrl-C, a kill, a crash), which
``evalkit rescore`` seals from it."""
FORMAT_VERSION = 3
"""Bumped whenever a run folder's files change shape."""
_PACKAGES = ("evalkit", "datasets", "pandas", "pyarrow", "pycocoevalcap", "hydra-core", "pillow")


@dataclass
class Scoring:
    """How answers were read and scored: what a comparison of two runs must check first."""

    parser: str
    """``answer``, ``caption`` or ``box``."""
    prompt_family: str
    """The model family whose prompts and answer conventions were used."""
    box_format: str | None
    """The box convention read (box parser only)."""
    metrics: list[dict[str, Any]]
    """Each metric: name, column, parameters (defaults filled in), corpus scorer."""
    group_by: list[str] = field(default_factory=list)
    unparsed: int = 0
    """Answers the parser found nothing in (no box), scored 0."""
    unavailable: list[str] = field(default_factory=list)
    """Metrics of the official scorer evalkit does not compute (SPICE)."""


@dataclass
class Counts:
    """Samples by outcome."""

    samples: int
    failed: int
    skipped: int
    errors: dict[str, int]
    """error type → rows."""


@dataclass
class CostInfo:
    """Totals in the price's currency; ``None`` when the model has no price."""

    currency: str | None
    spent: float | None
    saved: float | None
    """What cached answers would have cost."""
    max_cost: float | None
    price: Any


@dataclass
class CacheInfo:
    """The response cache's part in the run."""

    mode: str
    path: str | None
    hits: int
    misses: int
    saved_tokens: Any


@dataclass
class Timing:
    """Wall-clock times (ISO 8601, UTC) and rate."""

    started: str
    finished: str
    wall_s: float
    samples_per_s: float | None


@dataclass
class RunManifest:
    """Everything ``run.json`` holds."""

    run_id: str
    task: str
    kind: str
    """The task's kind (``vqa``, ``documents``, ...; ``family`` before format 3)."""
    backend: Any
    """The backend's identity (kind, model, URL, revision)."""
    overrides: list[str]
    config: Any
    """The resolved run configuration (it names key variables, never keys)."""
    dataset: dict[str, Any]
    scoring: Scoring
    results: dict[str, float | None]
    """metric → value (overall rows of the summary)."""
    counts: Counts
    usage: Any
    cost: CostInfo
    cache: CacheInfo
    timing: Timing
    aborted: str | None
    """Why the run stopped early or failed (a wholesale error, the error-rate gate, a signal)."""
    versions: dict[str, str | None]
    interrupted: str | None = None
    """The signal (``SIGINT``, ``SIGTERM``) that stopped the run; rerunning resumes it."""
    budget: str | None = None
    """How ``limits.max_cost`` stopped the run, when it did (the unsent samples are
    ``Skipped`` rows, counted in ``counts.skipped``)."""
    backend_record: dict[str, Any] | None = None
    """What the backend reports at the end, when it has something (``backend=replay``: the
    predictions file's name, size and SHA-256, and how many of its ids matched the run)."""
    shard: dict[str, Any] | None = None
    """A sharded run's part (``shard.count``, ``shard.index``, the rule, host, wall time);
    ``None`` for a whole run."""
    shards: list[dict[str, Any]] | None = None
    """A merged run's parts: each shard's index, run id, folder, host, attempts and wall time."""
    judge: dict[str, Any] | None = None
    """The judge, when the run had one (:meth:`evalkit.judge.judge.Judge.record`): its
    backend and model, the protocol and its ``template_sha256``, parameters, how many answers
    it was asked about and at what rate, its coverage, agreement, usage and cost."""
    format_version: int = FORMAT_VERSION


def package_versions() -> dict[str, str | None]:
    """Versions of Python and the packages that shape results."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


to_jsonable = plain
"""Dataclasses, enums, tuples and paths → plain JSON values (:func:`evalkit.structured.plain`)."""


def write_manifest(
    run_dir: Path, manifest: RunManifest | dict[str, Any], *, name: str = MANIFEST_NAME
) -> Path:
    """Write ``run.json`` atomically (``format_version`` first), secrets masked.

    Writing ``run.json`` seals the folder: a :data:`PARTIAL_NAME` left from the start goes.
    """
    from evalkit.redact import redact_tree

    data = redact_tree(to_jsonable(manifest))
    data = {"format_version": data.pop("format_version", FORMAT_VERSION), **data}
    path = run_dir / name
    tmp = path.with_suffix(".json.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    if name == MANIFEST_NAME:
        (run_dir / PARTIAL_NAME).unlink(missing_ok=True)
    return path


def read_manifest(run_dir: Path, *, name: str = MANIFEST_NAME) -> dict[str, Any]:
    """``run.json`` as a dict; a version newer than this evalkit reads is a ConfigError."""
    path = run_dir / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a run manifest")
    version = data.setdefault("format_version", 1)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ConfigError(
            f"{path} has format_version {version}; this evalkit reads up to {FORMAT_VERSION}: "
            "upgrade evalkit"
        )
    return data

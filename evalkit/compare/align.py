"""Find finished runs, check two of them are scored alike, and pair their samples.

A comparison is only meaningful between runs whose numbers mean the same thing: the same
parser and box format, the same metrics with the same parameters (a VQA mode, an ANLS
threshold), the same data (source, config, split, revision). :func:`scoring_differences`
lists what differs; the caller refuses unless told otherwise. The prompt family and the
model are *expected* to differ (that is what is being compared) and are only reported.

Samples are paired by ``sample_id`` within a task. A pair with a failed sample on either side
(an error row, or a ``Skipped`` one) is left out of the tests and counted, per side and per
error type, so a candidate that fails more cannot look better by dropping its hard samples
silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from evalkit.errors import ConfigError
from evalkit.runfolder.manifest import MANIFEST_NAME
from evalkit.runfolder.read import RunFolder, read_run, run_folders

__all__ = [
    "Pairing",
    "column_values",
    "find_runs",
    "match_runs",
    "pair_samples",
    "judge_differences",
    "scoring_differences",
]


def _finished_at(run: RunFolder) -> str:
    return str((run.manifest.get("timing") or {}).get("finished") or "")


def find_runs(path: Path) -> tuple[dict[str, RunFolder], list[str]]:
    """The runs at ``path`` by task: the folder itself, or every run folder below it.

    When a folder of runs holds several runs of one task, the one that finished last is taken
    and a note says so. Returns the runs and the notes.
    """
    folders = run_folders(path)
    if not folders:
        raise ConfigError(f"{path} holds no finished run (no {MANIFEST_NAME} below it)")
    by_task: dict[str, list[RunFolder]] = {}
    for folder in folders:
        run = read_run(folder)
        by_task.setdefault(run.task, []).append(run)
    notes = []
    chosen: dict[str, RunFolder] = {}
    for task, runs in sorted(by_task.items()):
        latest = max(runs, key=_finished_at)
        chosen[task] = latest
        if len(runs) > 1:
            notes.append(f"{path}: {len(runs)} runs of {task}; using the latest, {latest.path}")
    return chosen, notes


def match_runs(
    base: dict[str, RunFolder], cand: dict[str, RunFolder]
) -> tuple[list[tuple[RunFolder, RunFolder]], list[str]]:
    """Pairs of runs of the same task, and notes on tasks found on one side only."""
    notes = [f"task {t} is only in the base" for t in sorted(set(base) - set(cand))]
    notes += [f"task {t} is only in the candidate" for t in sorted(set(cand) - set(base))]
    pairs = [(base[t], cand[t]) for t in sorted(set(base) & set(cand))]
    if not pairs:
        raise ConfigError("the two sides have no task in common: " + "; ".join(notes))
    return pairs, notes


def _data_key(manifest: dict[str, Any]) -> dict[str, Any]:
    data = dict(manifest.get("dataset") or {})
    source = data.get("source")
    ident = data.get("id")
    if source != "hf" and ident:  # a file's place differs between machines; its name does not
        ident = Path(str(ident)).name
    subset = data.get("subset")  # the id list a split was cut to: by name, as files are
    return {"source": source, "id": ident, "config": data.get("config"),
            "split": data.get("split"), "revision": data.get("revision"),
            "subset": Path(str(subset)).name if subset else None,
            "images": data.get("images")}  # fmt: skip


def _scoring_key(manifest: dict[str, Any]) -> dict[str, Any]:
    scoring = manifest.get("scoring") or {}
    metrics = [
        {k: m.get(k) for k in ("name", "column", "params", "corpus")}
        for m in scoring.get("metrics") or []
    ]
    return {
        "parser": scoring.get("parser"),
        "box_format": scoring.get("box_format"),
        "metrics": metrics,
        "dataset": _data_key(manifest),
    }


def scoring_differences(base: RunFolder, cand: RunFolder) -> list[str]:
    """What makes the two runs' numbers incomparable, one line each (empty: comparable).

    >>> m = {"task": "t", "scoring": {"parser": "answer", "metrics": [{"name": "anls",
    ...      "params": {"threshold": 0.5}}]}, "dataset": {"source": "hf", "id": "d"}}
    >>> other = {**m, "scoring": {"parser": "answer", "metrics": [{"name": "anls",
    ...          "params": {"threshold": 0.4}}]}}
    >>> scoring_differences(RunFolder(Path("a"), m), RunFolder(Path("b"), other))
    ["metrics: [{'name': 'anls', 'column': None, 'params': {'threshold': 0.5}, 'corpus': None}] vs [{'name': 'anls', 'column': None, 'params': {'threshold': 0.4}, 'corpus': None}]"]
    """  # noqa: E501
    a, b = _scoring_key(base.manifest), _scoring_key(cand.manifest)
    lines = []
    for key in ("parser", "box_format", "metrics"):
        if a[key] != b[key]:
            lines.append(f"{key}: {a[key]} vs {b[key]}")
    for key, value in a["dataset"].items():
        if value != b["dataset"][key]:
            lines.append(f"dataset.{key}: {value} vs {b['dataset'][key]}")
    return lines


def _judge_key(manifest: dict[str, Any]) -> str | None:
    judge = manifest.get("judge")
    if not isinstance(judge, dict):
        return None
    who = judge.get("backend") or {}
    revision = f"@{who.get('revision')}" if who.get("revision") else ""
    template = str(judge.get("template_sha256") or "")[:12]
    how = f"{judge.get('protocol')}, {judge.get('mode')}, template {template}"
    return f"{who.get('name')}/{who.get('model')}{revision} ({how}, repeats {judge.get('repeats')})"


def judge_differences(base: RunFolder, cand: RunFolder) -> list[str]:
    """How the two runs' judges differ, one line (empty: the same judge, or none).

    A comparison across judges is allowed (``evalkit rejudge`` makes one on purpose) and said:
    its difference is the judges' as much as the models'.

    >>> j = {"backend": {"name": "openai", "model": "a"}, "protocol": "mmvet", "mode": "always",
    ...      "template_sha256": "ab" * 32, "repeats": 1}
    >>> judge_differences(RunFolder(Path("a"), {"judge": j}), RunFolder(Path("b"), {}))
    ['judge: openai/a (mmvet, always, template abababababab, repeats 1) vs none']
    """
    a, b = _judge_key(base.manifest), _judge_key(cand.manifest)
    return [] if a == b else [f"judge: {a or 'none'} vs {b or 'none'}"]


@dataclass
class Pairing:
    """The samples of two runs of one task, paired by ``sample_id``."""

    ids: list[str]
    """Ids of the usable pairs (answered on both sides), in the base run's order."""
    base_index: list[int]
    """Row of each pair in the base run's samples."""
    cand_index: list[int]
    """Row of each pair in the candidate run's samples."""
    common: int
    """Samples present in both runs (usable or not)."""
    only_base: list[str] = field(default_factory=list)
    only_cand: list[str] = field(default_factory=list)
    failed_base: Counter[str] = field(default_factory=Counter)
    """Error type → common samples failed in the base."""
    failed_cand: Counter[str] = field(default_factory=Counter)
    left_out: int = 0
    """Common samples left out because either side failed."""
    base_failed: list[bool] = field(default_factory=list)
    """Per pair: the base sample failed (only with ``keep_failed``; it scores 0)."""
    cand_failed: list[bool] = field(default_factory=list)


def _ids_and_errors(table: pa.Table) -> tuple[list[str], list[str | None]]:
    return (
        [str(v) for v in table.column("sample_id").to_pylist()],
        table.column("error_type").to_pylist(),
    )


def pair_samples(base: pa.Table, cand: pa.Table, *, keep_failed: bool = False) -> Pairing:
    """Pair two runs' rows by ``sample_id``; a repeated id keeps its last row (a resumed run).

    A pair with a failed sample on either side is left out, unless ``keep_failed``: then it is
    kept and the failed side marked (its score counts as 0, its caption as empty).
    """
    base_ids, base_errors = _ids_and_errors(base)
    cand_ids, cand_errors = _ids_and_errors(cand)
    base_at = {sid: i for i, sid in enumerate(base_ids)}
    cand_at = {sid: i for i, sid in enumerate(cand_ids)}
    order = sorted(base_at, key=base_at.__getitem__)
    pairing = Pairing([], [], [], 0)
    pairing.only_base = [sid for sid in order if sid not in cand_at]
    pairing.only_cand = sorted(
        (sid for sid in cand_at if sid not in base_at), key=cand_at.__getitem__
    )
    for sid in order:
        j = cand_at.get(sid)
        if j is None:
            continue
        i = base_at[sid]
        pairing.common += 1
        error_a, error_b = base_errors[i], cand_errors[j]
        if error_a is not None:
            pairing.failed_base[error_a] += 1
        if error_b is not None:
            pairing.failed_cand[error_b] += 1
        if (error_a is not None or error_b is not None) and not keep_failed:
            pairing.left_out += 1
            continue
        pairing.ids.append(sid)
        pairing.base_index.append(i)
        pairing.cand_index.append(j)
        pairing.base_failed.append(error_a is not None)
        pairing.cand_failed.append(error_b is not None)
    return pairing


def column_values(table: pa.Table, name: str, rows: Sequence[int]) -> list[Any]:
    """The values of one column at the given rows (``None`` where the column is missing)."""
    if name not in table.schema.names:
        return [None] * len(rows)
    values: list[Any] = table.column(name).take(pa.array(rows, type=pa.int64())).to_pylist()
    return values

"""``evalkit merge SHARD_DIR... -o RUN``: one run folder from the shards of one run.

Each shard (``shard.count=S shard.index=k``) is a run folder of its own. The merge checks that
the shards are parts of one run (same task; same configuration apart from where and how
answers were fetched, :data:`FREE_KEYS`; same scoring, dataset and cut; no part twice; no
sample in two parts), puts their rows in the whole run's dataset order
(``positions.parquet``), and scores them again through
:func:`~evalkit.run.rescore.score_rows`: every corpus metric, group row, circular row and
bootstrap interval is computed over the merged rows, never averaged from the shards'
summaries. Counts, errors, usage, cost and cache hits are summed. A missing part gives a
folder marked incomplete (``aborted`` names the parts), and the command exits non-zero.

The new folder has a plain run's files (``run.json``, ``samples.parquet``,
``summary.parquet``, ``.hydra/``, the shards' ``evalkit.log`` joined); ``run.json`` lists the
shards it was made from (``shards``).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from evalkit.errors import ConfigError
from evalkit.judge.judge import share
from evalkit.run.rescore import score_rows, scoring_record
from evalkit.runfolder.manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    PARTIAL_NAME,
    write_manifest,
)
from evalkit.runfolder.positions import POSITIONS_NAME, read_positions
from evalkit.runfolder.read import RunFolder, read_run
from evalkit.runfolder.summary import write_summary
from evalkit.runfolder.writer import SAMPLES_NAME
from evalkit.score.aggregate import MetricValue

__all__ = ["FREE_KEYS", "Merged", "merge", "shard_parts"]

FREE_KEYS = ("shard", "runner", "results_dir", "cache", "limits")
"""The configuration keys in which the shards of one run may differ: where and how answers
were fetched (a machine's own cache file, its share of the rate limits), not what they are."""

_DATASET_KEYS = ("source", "id", "config", "split", "revision", "subset", "subset_ids",
                 "images", "release", "rows_expected")  # fmt: skip
"""What names the data a shard read: two shards that differ here read different data."""

_LOG_NAME = "evalkit.log"

_log = logging.getLogger("evalkit")


@dataclass(frozen=True)
class Part:
    """One shard folder, read back."""

    folder: RunFolder
    index: int
    count: int

    @property
    def shard(self) -> dict[str, Any]:
        """The shard's ``run.json`` record of its part."""
        return dict(self.folder.manifest["shard"])


@dataclass
class Merged:
    """What a merge produced."""

    run_dir: Path
    run_id: str
    task: str
    n_samples: int
    n_failed: int
    parts: int
    """The shards merged."""
    count: int
    """The parts the run was cut into (``shard.count``)."""
    summary: list[MetricValue]
    missing: list[int]
    """The parts not given (the merged run is incomplete when there are any)."""
    incomplete: str | None
    """Why the merged run is incomplete (missing or stopped parts), or ``None``."""


def _part(path: Path) -> Part:
    if not (path / MANIFEST_NAME).is_file() and (path / PARTIAL_NAME).is_file():
        raise ConfigError(
            f"{path} is a run that did not finish (no {MANIFEST_NAME}): run that shard again "
            "(its answers come from the cache), then merge"
        )
    folder = read_run(path)
    record = folder.manifest.get("shard")
    if not isinstance(record, dict):
        raise ConfigError(
            f"{path} is not a shard (its {MANIFEST_NAME} has no 'shard' record): merge joins "
            "the runs made with shard.count=S shard.index=K"
        )
    if not (path / POSITIONS_NAME).is_file():
        raise ConfigError(
            f"{path} has no {POSITIONS_NAME} (a shard sealed by evalkit rescore after a crash "
            "cannot be put in order): run that shard again (its answers come from the cache)"
        )
    return Part(folder, int(record["index"]), int(record["count"]))


def _is_shard(path: Path) -> bool:
    try:
        return isinstance(read_run(path).manifest.get("shard"), dict)
    except ConfigError:
        return False


def shard_parts(paths: Sequence[str | Path]) -> list[Part]:
    """The shards at ``paths`` (shard folders, or folders holding them), in part order."""
    found: list[Path] = []
    for item in map(Path, paths):
        if not item.is_dir():
            raise ConfigError(f"{item} is not a folder")
        if (item / MANIFEST_NAME).is_file() or (item / PARTIAL_NAME).is_file():
            found.append(item)
        else:  # a folder of runs: its shards (a merged run beside them is not one)
            inside = sorted(p.parent for p in item.rglob(MANIFEST_NAME))
            shards = [p for p in inside if _is_shard(p)]
            if not shards:
                raise ConfigError(f"{item} holds no shard folder (runs made with shard.count=S)")
            if len(shards) < len(inside):
                _log.warning("merge: %d run folders in %s are not shards and are left out",
                             len(inside) - len(shards), item)  # fmt: skip
            found += shards
    if not found:
        raise ConfigError("merge needs the shard folders (evalkit merge SHARD_DIR ... -o RUN)")
    parts: dict[int, Part] = {}
    seen: dict[Path, Path] = {}
    for path in found:
        real = path.resolve()
        if real in seen:
            raise ConfigError(f"{path} is given twice")
        seen[real] = path
        part = _part(path)
        if part.index in parts:
            raise ConfigError(
                f"shard {part.index} is given twice: {parts[part.index].folder.path} and {path}"
            )
        parts[part.index] = part
    return [parts[k] for k in sorted(parts)]


def _first_difference(a: Any, b: Any, where: str = "") -> str | None:
    """The first key path at which ``a`` and ``b`` differ, or ``None``."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in list(a) + [k for k in b if k not in a]:
            path = f"{where}.{key}" if where else str(key)
            found = _first_difference(a.get(key), b.get(key), path)
            if found is not None:
                return found
        return None
    return None if a == b else (where or "the value")


def _check_parts(parts: list[Part]) -> None:
    """Refuse shards that are not parts of one run, with one line naming the difference."""
    first = parts[0]
    for part in parts[1:]:
        a, b = first.folder, part.folder
        names = f"{a.path} (shard {first.index}) and {b.path} (shard {part.index})"
        if a.task != b.task:
            raise ConfigError(f"shards of different tasks: {a.task} and {b.task} in {names}")
        if part.count != first.count:
            raise ConfigError(
                f"shards of different cuts: shard.count={first.count} and "
                f"shard.count={part.count} in {names}"
            )
        configs = [{k: v for k, v in dict(f.manifest.get("config") or {}).items()
                    if k not in FREE_KEYS} for f in (a, b)]  # fmt: skip
        key = _first_difference(configs[0], configs[1])
        if key is not None:
            raise ConfigError(f"shards of different configurations: {key} differs between {names}")
        data = [{k: (f.manifest.get("dataset") or {}).get(k) for k in _DATASET_KEYS}
                for f in (a, b)]  # fmt: skip
        key = _first_difference(data[0], data[1])
        if key is not None:
            raise ConfigError(f"shards of different data: dataset {key} differs between {names}")
        scoring = [{k: v for k, v in f.scoring.items() if k != "unparsed"} for f in (a, b)]
        key = _first_difference(scoring[0], scoring[1])
        if key is not None:
            raise ConfigError(f"shards scored differently: scoring {key} differs between {names}")
        key = _first_difference(a.manifest.get("backend"), b.manifest.get("backend"))
        if key is not None:
            raise ConfigError(f"shards of different backends: {key} differs between {names}")
        cut = ("rule", "units")
        if [first.shard.get(k) for k in cut] != [part.shard.get(k) for k in cut]:
            raise ConfigError(
                f"shards cut differently ({first.shard.get('rule')} over "
                f"{first.shard.get('units')} rows, {part.shard.get('rule')} over "
                f"{part.shard.get('units')} rows): {names} read different data"
            )


def _rows(parts: list[Part]) -> pa.Table:
    """Every shard's rows, in the whole run's order; a sample in two shards is refused."""
    tables: list[pa.Table] = []
    positions: list[int] = []
    owner: dict[str, Path] = {}
    for part in parts:
        table = part.folder.samples
        order = read_positions(part.folder.path) or {}
        ids = table.column("sample_id").to_pylist()
        for sample_id in ids:
            if sample_id in owner:
                raise ConfigError(
                    f"sample '{sample_id}' is in two shards: {owner[sample_id]} and "
                    f"{part.folder.path}"
                )
            owner[sample_id] = part.folder.path
            if sample_id not in order:
                raise ConfigError(
                    f"{part.folder.path / POSITIONS_NAME} has no place for sample '{sample_id}': "
                    "the shard folder is damaged; run that shard again"
                )
            positions.append(order[sample_id])
        tables.append(table)
    table = pa.concat_tables(tables, promote_options="default")
    permutation = sorted(range(len(positions)), key=positions.__getitem__)
    return table.take(pa.array(permutation, pa.int64()))


def _sum(values: Sequence[Any]) -> Any:
    """Numbers added (``None`` when none is known); dicts of numbers added key by key."""
    if any(isinstance(v, Mapping) for v in values):
        keys = list(dict.fromkeys(k for v in values if isinstance(v, Mapping) for k in v))
        return {k: _sum([v.get(k) for v in values if isinstance(v, Mapping)]) for k in keys}
    known = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return sum(known) if known else None


def _incomplete(parts: list[Part], missing: list[int], count: int) -> str | None:
    reasons = []
    if missing:
        which = ", ".join(map(str, missing))
        reasons.append(f"shard{'s' if len(missing) > 1 else ''} {which} of {count} "
                       f"{'are' if len(missing) > 1 else 'is'} missing")  # fmt: skip
    for part in parts:
        stopped = part.folder.manifest.get("aborted")
        if stopped:
            reasons.append(f"shard {part.index} stopped early ({stopped})")
    if not reasons:
        return None
    return ("incomplete merge: " + "; ".join(reasons) + ": run the missing or stopped shards "
            "(their answers come from the cache) and merge again")  # fmt: skip


def _costs(parts: list[Part], n: int, failed: int) -> list[MetricValue]:
    """The summary's cost rows: each shard's added up."""
    rows = []
    for name in ("cost_spent", "cost_saved", "judge_cost_spent", "judge_cost_saved"):
        values = [r.value for p in parts for r in p.folder.summary()
                  if r.kind == "cost" and r.metric == name]  # fmt: skip
        if values:
            rows.append(MetricValue(name, _sum(values), None, None, n, failed, "cost"))
    return rows


def _judge_record(manifests: list[dict[str, Any]]) -> dict[str, Any] | None:
    """``run.json``'s ``judge`` of the merged run: the shards' counts added up.

    Who judged, with which prompt and parameters, is the same in every shard (the merge
    checked their configs); rates and coverage are computed again from the sums, agreement
    and spread weighted by each shard's verdicts.
    """
    records = [m.get("judge") for m in manifests]
    if not any(records):
        return None
    shards = [r for r in records if isinstance(r, dict)]
    merged = dict(shards[0])
    for key in ("answers", "asked", "judged", "failed", "requests"):
        merged[key] = sum(int(r.get(key) or 0) for r in shards)
    merged["cache"] = {k: sum(int((r.get("cache") or {}).get(k) or 0) for r in shards)
                       for k in ("hits", "misses")}  # fmt: skip
    merged["usage"] = {k: _sum([(r.get("usage") or {}).get(k) for r in shards])
                       for k in ("input_tokens", "output_tokens")}  # fmt: skip
    merged["cost"] = {**(shards[0].get("cost") or {}),
                      **{k: _rounded(_sum([(r.get("cost") or {}).get(k) for r in shards]))
                         for k in ("spent", "saved")}}  # fmt: skip
    answers, asked, judged = merged["answers"], merged["asked"], merged["judged"]
    merged["asked_rate"] = share(asked, answers)
    merged["coverage"] = share(judged, asked)
    for key in ("agreement", "mean_spread"):
        pairs = [(r.get(key), int(r.get("judged") or 0)) for r in shards]
        weighted = [(v, w) for v, w in pairs if v is not None and w]
        total = sum(w for _, w in weighted)
        merged[key] = share(sum(v * w for v, w in weighted), total)
    return merged


def _timing(parts: list[Part], n: int) -> dict[str, Any]:
    timings = [p.folder.manifest.get("timing") or {} for p in parts]
    started = min(str(t.get("started")) for t in timings)
    finished = max(str(t.get("finished")) for t in timings)
    try:
        wall = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    except ValueError:
        wall = max(float(t.get("wall_s") or 0.0) for t in timings)
    return {"started": started, "finished": finished, "wall_s": round(wall, 3),
            "samples_per_s": round(n / wall, 3) if wall > 0 else None}  # fmt: skip


def _whole_run(overrides: list[Any]) -> list[Any]:
    """A shard's overrides less those that made it a part (``shard.*``, ``runner.*``)."""
    return [o for o in overrides if not str(o).lstrip("+~").startswith(("shard.", "runner."))]


def _hydra(parts: list[Part], target: Path) -> None:
    """The first shard's ``.hydra/`` record, its ``shard.*`` overrides left out."""
    import yaml

    source = parts[0].folder.path / ".hydra"
    if not source.is_dir():
        return
    shutil.copytree(source, target / ".hydra")
    for name in ("overrides.yaml", "config.yaml"):
        path = target / ".hydra" / name
        if not path.is_file():
            continue
        data = yaml.safe_load(path.read_text())
        if isinstance(data, list):
            data = _whole_run(data)
        elif isinstance(data, dict) and "shard" in data:
            data["shard"] = {"count": 1, "index": 0}
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _logs(parts: list[Part], target: Path) -> None:
    """The shards' ``evalkit.log`` files, one after another, each under a heading."""
    logs = [(p, p.folder.path / _LOG_NAME) for p in parts if (p.folder.path / _LOG_NAME).is_file()]
    if not logs:
        return
    with (target / _LOG_NAME).open("a", encoding="utf-8") as out:
        for part, path in logs:
            out.write(f"==> shard {part.index} of {part.count}: {part.folder.path} <==\n")
            out.write(path.read_text(encoding="utf-8", errors="replace"))


def _claim(out: Path) -> Path:
    """A fresh folder beside ``out`` to write into (moved to ``out`` at the end)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} exists: give merge a new folder (-o RUN)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = out.with_name(f".{out.name}.merging-{os.getpid()}-{secrets.token_hex(3)}")
        work.mkdir()
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return work


def merge(
    paths: Sequence[str | Path], out: str | Path, *, into: bool = False,
    record: Mapping[str, Any] | None = None,
) -> Merged:  # fmt: skip
    """Merge the shard folders at ``paths`` into the new run folder ``out``.

    ``into``: ``out`` is a run folder already claimed (a Ray run's, with its own ``.hydra/``
    and log): the merged files are written into it. ``record`` replaces keys of the merged
    ``run.json`` (the Ray run's own config, overrides and runner).
    """
    out = Path(out)
    parts = shard_parts(paths)
    _check_parts(parts)
    first = parts[0]
    count = first.count
    missing = [k for k in range(count) if k not in {p.index for p in parts}]
    table = _rows(parts)
    manifest = dict(first.folder.manifest)
    task = first.folder.task
    now = datetime.now(UTC)
    run_id = f"{task}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    position = table.schema.get_field_index("run_id")
    table = table.set_column(position, table.schema.field(position),
                             pa.array([run_id] * len(table), pa.string()))  # fmt: skip
    scored = score_rows(table, first.folder.config)

    manifests = [p.folder.manifest for p in parts]
    counts = [m.get("counts") or {} for m in manifests]
    n = sum(int(c.get("samples") or 0) for c in counts)
    failed = sum(int(c.get("failed") or 0) for c in counts)
    errors: Counter[str] = Counter()
    for c in counts:
        errors.update({str(k): int(v) for k, v in (c.get("errors") or {}).items()})
    costs = [m.get("cost") or {} for m in manifests]
    caches = [m.get("cache") or {} for m in manifests]
    seen = {(m.get("dataset") or {}).get("rows_seen") for m in manifests}
    incomplete = _incomplete(parts, missing, count)
    budgets = [f"shard {p.index}: {p.folder.manifest['budget']}" for p in parts
               if p.folder.manifest.get("budget")]  # fmt: skip
    config = dict(manifest.get("config") or {})
    config["shard"] = {"count": 1, "index": 0}
    answers = dict(manifest.get("backend_record") or {}) or None
    if answers is not None and "matched" in answers:
        answers["matched"] = _sum([(m.get("backend_record") or {}).get("matched")
                                  for m in manifests])  # fmt: skip
    manifest.update({
        "format_version": FORMAT_VERSION,
        "run_id": run_id,
        "overrides": _whole_run(manifest.get("overrides") or []),
        "config": config,
        "dataset": {**(manifest.get("dataset") or {}), "samples": n,
                    "rows_seen": seen.pop() if len(seen) == 1 else None},
        "scoring": scoring_record(manifest.get("scoring"), scored.scoring),
        "results": {r.metric: r.value for r in scored.summary if r.kind == "metric"},
        "counts": {"samples": n, "failed": failed,
                   "skipped": sum(int(c.get("skipped") or 0) for c in counts),
                   "errors": dict(errors)},
        "usage": _sum([m.get("usage") for m in manifests]),
        "cost": {**costs[0], "spent": _rounded(_sum([c.get("spent") for c in costs])),
                 "saved": _rounded(_sum([c.get("saved") for c in costs]))},
        "cache": {**caches[0], **{k: _sum([c.get(k) for c in caches])
                                  for k in ("hits", "misses", "saved_tokens")}},
        "timing": _timing(parts, n),
        "aborted": incomplete,
        "interrupted": None,
        "budget": "; ".join(budgets) or None,
        "backend_record": answers,
        "judge": _judge_record(manifests),
        "shard": None,
        "shards": [{
            "index": p.index, "run_id": p.folder.manifest.get("run_id"),
            "path": str(p.folder.path), "host": p.shard.get("host"),
            "worker": p.shard.get("worker"), "attempts": p.shard.get("attempts"),
            "wall_s": p.shard.get("wall_s"),
            "samples": int((p.folder.manifest.get("counts") or {}).get("samples") or 0),
        } for p in parts],
    })  # fmt: skip
    manifest.pop("rescored", None)
    manifest.update(record or {})
    if into:
        _logs(parts, out)
        _write(out, scored.table, [*scored.summary, *_costs(parts, n, failed)], manifest)
    else:
        _write_new(out, parts, scored.table, [*scored.summary, *_costs(parts, n, failed)],
                   manifest)  # fmt: skip
    metrics = [r for r in scored.summary if r.kind == "metric"]
    return Merged(out, run_id, task, n, failed, len(parts), count, metrics, missing, incomplete)


def _write(
    folder: Path, table: pa.Table, summary: list[MetricValue], manifest: dict[str, Any]
) -> None:
    """The run's three files, ``run.json`` last (it seals the folder)."""
    tmp = folder / (SAMPLES_NAME + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(folder / SAMPLES_NAME)
    write_summary(folder, run_id=manifest["run_id"], task=manifest["task"], rows=summary)
    write_manifest(folder, manifest)


def _write_new(
    out: Path, parts: list[Part], table: pa.Table, summary: list[MetricValue],
    manifest: dict[str, Any],
) -> None:  # fmt: skip
    """A new run folder ``out``, made beside it and moved into place whole."""
    work = _claim(out)
    try:
        _hydra(parts, work)
        _logs(parts, work)
        _write(work, table, summary, manifest)
        if out.is_dir():
            out.rmdir()  # empty (checked): the finished folder takes its place
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _rounded(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value

"""``evalkit run`` and ``evalkit estimate``: compose each job, claim its folder, run it."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.cli.common import configure_logging, fail, shown
from evalkit.compose import Composed, compose_job, compose_node, from_node, group_options, sweep
from evalkit.errors import ConfigError, EvalkitError

__all__ = ["claim_run_dir", "estimate_command", "run_command"]


@dataclass
class _RunArgs:
    overrides: list[str]
    multirun: bool = False
    show: str | None = None
    """``--cfg job|hydra|all``: print the composed config instead of running."""


_RUN_USAGE = """usage: evalkit run [-m] [--cfg job|hydra|all] KEY=VALUE ...

Evaluate one task with one backend (every KEY=VALUE is a Hydra override).
  -m, --multirun      one run per combination of comma-separated values (task=docvqa,vqav2)
  -c, --cfg WHAT      print the composed config (job, hydra or all) and exit
groups: {groups}
example: evalkit run task=docvqa backend=openai backend.base_url=http://127.0.0.1:8000/v1 \\
         backend.model=Qwen/Qwen2.5-VL-7B-Instruct dataset.limit=100"""


def _run_args(argv: Sequence[str], usage: str) -> _RunArgs:
    args = _RunArgs([])
    items = iter(argv)
    for arg in items:
        if arg in ("-h", "--help"):
            groups = "; ".join(
                f"{g}=[{'|'.join(group_options(g))}]"
                for g in ("task", "backend", "dataset", "judge")
            )
            print(usage.format(groups=groups))
            sys.exit(0)
        if arg in ("-m", "--multirun"):
            args.multirun = True
        elif arg in ("-c", "--cfg"):
            args.show = next(items, "")
            if args.show not in ("job", "hydra", "all"):
                fail(f"--cfg takes job, hydra or all, got '{args.show}'")
        elif arg.startswith("-"):
            fail(f"unknown option '{arg}' (see evalkit run --help)")
        else:
            args.overrides.append(arg)
    return args


def _yaml(data: Any) -> str:
    """YAML of plain data, secrets masked (every ``.hydra/`` file and ``multirun.yaml``)."""
    import yaml

    from evalkit.redact import redact_tree

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter: 10x faster
    return str(yaml.dump(redact_tree(data), Dumper=dumper, sort_keys=False, allow_unicode=True))


def _save_hydra(run_dir: Path, job: Composed, overrides: Sequence[str]) -> None:
    """The ``.hydra/`` record of how the run was made (config, Hydra's node, overrides)."""
    folder = run_dir / ".hydra"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(_yaml(job.job))
    (folder / "hydra.yaml").write_text(_yaml({"hydra": job.hydra}))
    (folder / "overrides.yaml").write_text(_yaml(list(overrides)))


def _cannot_write(run_dir: Path, exc: OSError) -> ConfigError:
    blocking = next((p for p in run_dir.parents if p.is_file()), None)
    why = f"{blocking} is a file, not a folder" if blocking else exc.strerror or str(exc)
    return ConfigError(
        f"results_dir: cannot write the run folder {run_dir} ({why}); set results_dir=DIR"
    )


def _writable(run_dir: Path) -> None:
    """Create the folder (if need be) and prove it writable, or fail with one line."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / f".evalkit-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise _cannot_write(run_dir, exc) from exc


def claim_run_dir(run_dir: Path) -> Path:
    """Create ``run_dir`` for this process alone, or ``run_dir-2``, ``-3``, ... when taken.

    Run folders are named to the second, so two runs of the same task and backend started
    together pick the same name. ``mkdir`` without ``exist_ok`` is atomic: of several
    processes creating one folder exactly one succeeds, and the others move on to the next
    name, whatever the clock says. A folder that exists (even empty) is never shared.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> claim_run_dir(root / "x").name, claim_run_dir(root / "x").name
    ('x', 'x-2')
    """
    try:
        run_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_write(run_dir, exc) from exc
    candidate, number = run_dir, 1
    while True:
        try:
            candidate.mkdir()
        except FileExistsError:
            number += 1
            candidate = run_dir.with_name(f"{run_dir.name}-{number}")
            continue
        except OSError as exc:
            raise _cannot_write(candidate, exc) from exc
        _writable(candidate)
        return candidate


def _one_job(overrides: list[str], run_dir: Path, job: Composed, *, estimate: bool) -> Path | None:
    """Run (or estimate) one composed job and print its folder; the folder (None: estimated)."""
    from evalkit.run import pipeline

    cfg = job.config
    if estimate or cfg.estimate:
        from evalkit.run.estimate import estimate as estimate_run
        from evalkit.run.estimate import format_estimate

        configure_logging(None)
        print(format_estimate(cfg, asyncio.run(estimate_run(cfg))), flush=True)
        return None
    run_dir = claim_run_dir(run_dir)
    configure_logging(run_dir)
    try:
        _save_hydra(run_dir, job, overrides)
        if cfg.runner.name == "ray":
            from evalkit.run.on_ray import run_on_ray

            run_on_ray(cfg, run_dir, overrides=overrides)
        else:
            asyncio.run(pipeline.run(cfg, run_dir, overrides=overrides))
    except EvalkitError:
        _drop_if_unused(run_dir)
        raise
    print(f"results: {shown(run_dir)}", flush=True)
    return run_dir


def combined_table(runs: Sequence[tuple[Path, str]]) -> str:
    """One table of a multirun's jobs, given as (run folder, task): their overall metrics."""
    from evalkit.runfolder.summary import TABLE_HEADER, align, metric_cells, read_summary

    lines: list[tuple[str, ...]] = [("job", *TABLE_HEADER)]
    for run_dir, task in runs:
        lines += [(run_dir.name, *metric_cells(task, r))
                  for r in read_summary(run_dir) if r.kind == "metric"]  # fmt: skip
    return align(lines)


def _drop_if_unused(run_dir: Path) -> None:
    """Remove a run folder the run stopped before using (no record of it was written).

    A run that fails before it wrote anything of its own (a dataset out of reach) leaves no
    half-made folder behind; one with a record, a journal or a server's log stays.
    """
    if not run_dir.is_dir() or {p.name for p in run_dir.iterdir()} - {".hydra", "evalkit.log"}:
        return  # a record, a journal or a server's log: kept
    configure_logging(None)  # let go of evalkit.log before the folder goes
    shutil.rmtree(run_dir, ignore_errors=True)


def swept_label(num: int, overrides: Sequence[str], jobs: Sequence[Sequence[str]]) -> str:
    """A multirun job's folder: its number and the values swept to make it.

    The keys whose value differs between the jobs are named with this job's value, made safe
    for a folder name (``/`` and other odd characters become ``_``; at most 120 characters).

    >>> jobs = [["task=docvqa", "backend.model=Qwen/Qwen2-VL"], ["task=vqav2", "backend.model=Qwen/Qwen2-VL"]]
    >>> swept_label(1, jobs[1], jobs)
    '1-task=vqav2'
    >>> swept_label(0, ["backend.model=a/b:c"], [["backend.model=a/b:c"], ["backend.model=d"]])
    '0-backend.model=a_b_c'
    """  # noqa: E501
    values: dict[str, set[str]] = {}
    for job in jobs:
        for override in job:
            key, _, value = override.partition("=")
            values.setdefault(key, set()).add(value)
    parts = [o for o in overrides if len(values.get(o.partition("=")[0], ())) > 1]
    label = re.sub(r"[^A-Za-z0-9._=,+\-]", "_", ",".join(parts))[:120] or "job"
    return f"{num}-{label}"


def _jobs(args: _RunArgs) -> list[tuple[list[str], Path, Composed]]:
    """Each job's overrides, folder and composed config, all composed before any runs."""
    if not args.multirun:
        job = compose_job(args.overrides)
        return [(args.overrides, Path(job.run_dir), job)]
    jobs = []
    sweep_dir: str | None = None
    expanded = sweep(args.overrides)
    own_subdir = any(o.lstrip("+~").startswith("hydra.sweep.subdir=") for o in args.overrides)
    for num, overrides in enumerate(expanded):
        node = compose_node([*overrides, f"hydra.job.num={num}"], hydra=True)
        sweep_dir = sweep_dir or str(node.hydra.sweep.dir)  # one timestamp for the sweep
        subdir = (
            str(node.hydra.sweep.subdir) if own_subdir else swept_label(num, overrides, expanded)
        )
        jobs.append((overrides, Path(sweep_dir) / subdir, from_node(node)))
    if jobs:
        # the sweep's folder is this process's alone too; its jobs' folders go inside it
        claimed = claim_run_dir(Path(sweep_dir or "."))
        jobs = [(o, claimed / d.relative_to(sweep_dir or "."), j) for o, d, j in jobs]
        first = jobs[0][2]
        (claimed / "multirun.yaml").write_text(_yaml({**first.job, "hydra": first.hydra}))
    return jobs


def _show(args: _RunArgs) -> None:
    from omegaconf import OmegaConf

    from evalkit.redact import redact_text

    node = compose_node(args.overrides, hydra=args.show != "job")
    text = OmegaConf.to_yaml({"hydra": node.hydra} if args.show == "hydra" else node)
    print(redact_text(text))


def _run_command(argv: Sequence[str], *, estimate: bool = False) -> None:
    args = _run_args(argv, _ESTIMATE_USAGE if estimate else _RUN_USAGE)
    if args.show:
        _show(args)
        return
    done: list[tuple[Path, str]] = []
    for overrides, run_dir, job in _jobs(args):
        folder = _one_job(overrides, run_dir, job, estimate=estimate)
        if folder is not None:
            done.append((folder, job.config.task.name))
    if args.multirun and len(done) > 1:
        print(f"\nmultirun: {len(done)} runs in {shown(done[0][0].parent)}", flush=True)
        print(combined_table(done), flush=True)


def run_command(argv: Sequence[str]) -> None:
    """``evalkit run``: evaluate; ``-m`` runs one job per combination of swept values."""
    _run_command(argv)


_ESTIMATE_USAGE = """usage: evalkit estimate KEY=VALUE ...

What a run would send and cost, with the same overrides as evalkit run; nothing is sent and
cached answers are subtracted.
groups: {groups}"""


def estimate_command(argv: Sequence[str]) -> None:
    """``evalkit estimate``: tokens and cost of a run, before spending (same overrides)."""
    _run_command(argv, estimate=True)

"""Command line: ``evalkit [run|estimate|rescore|compare|report] ...``; no command is ``run``.

::

    evalkit run task=NAME backend=NAME key=value ...   evaluate (Hydra overrides; -m sweeps)
    evalkit estimate task=NAME ...                      tokens and cost before spending
    evalkit rescore RUN_DIR [RUN_DIR ...]               score finished runs again
    evalkit compare BASE CAND [--fail-on-drop ...]      paired comparison; a gate for CI
    evalkit report RUN_DIR [CAND_DIR]                   one self-contained HTML page

A subcommand is one entry in :data:`COMMANDS` (``merge`` will be one more). Overrides are
checked before anything runs, so a typo costs one line with a suggestion instead of a stack
trace. Exit codes: 0 when the run finished (failed samples are counted, not fatal), 2 for a user
error or an aborted run; ``compare --fail-on-drop`` exits 1 on a significant drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from evalkit.compose import (
    Composed,
    compose_job,
    compose_node,
    from_node,
    group_options,
    register_schemas,
    sweep,
)
from evalkit.errors import ConfigError, EvalkitError, Interrupted, is_disk_full
from evalkit.registry import Registry

__all__ = [
    "COMMANDS",
    "entry",
    "group_options",
    "main",
    "register_schemas",
    "use_system_allocator",
]

_LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"


def use_system_allocator() -> None:
    """Let Arrow allocate with the C allocator in this process, unless the user chose a pool.

    Arrow's default, mimalloc, keeps memory in per-thread segments: a run reads in one thread
    and writes in another, and for the same 1000-sample run the process peaked about 10 MB
    higher with it than with malloc, for no speed a streaming run could measure. Arrow reads
    ``ARROW_DEFAULT_MEMORY_POOL`` once, when it loads, so this runs before anything imports it.
    """
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


def _fail(message: str) -> NoReturn:
    from evalkit.redact import redact_text

    print(f"evalkit: error: {redact_text(message)}", file=sys.stderr, flush=True)
    sys.exit(2)


def _shown(path: Path) -> Path:
    cwd = Path.cwd()
    return path.relative_to(cwd) if path.is_relative_to(cwd) else path


class _RedactingFormatter(logging.Formatter):
    """Log lines with every credential masked (:mod:`evalkit.redact`), on screen and on disk."""

    def format(self, record: logging.LogRecord) -> str:
        from evalkit.redact import redact_text

        return redact_text(super().format(record))


def _logging(run_dir: Path | None) -> None:
    """Log records to stderr, and to ``evalkit.log`` in the run folder (as Hydra's job did)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_evalkit", False):
            root.removeHandler(handler)
            handler.close()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if run_dir is not None:
        handlers.append(logging.FileHandler(run_dir / "evalkit.log", delay=True))
    for handler in handlers:
        handler.setFormatter(_RedactingFormatter(_LOG_FORMAT))
        handler._evalkit = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(logging.INFO)


# ------------------------------------------------------------------------------------- run
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
                f"{g}=[{'|'.join(group_options(g))}]" for g in ("task", "backend", "dataset")
            )
            print(usage.format(groups=groups))
            sys.exit(0)
        if arg in ("-m", "--multirun"):
            args.multirun = True
        elif arg in ("-c", "--cfg"):
            args.show = next(items, "")
            if args.show not in ("job", "hydra", "all"):
                _fail(f"--cfg takes job, hydra or all, got '{args.show}'")
        elif arg.startswith("-"):
            _fail(f"unknown option '{arg}' (see evalkit run --help)")
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


def _one_job(overrides: list[str], run_dir: Path, job: Composed, *, estimate: bool) -> None:
    """Run (or estimate) one composed job and print its folder."""
    from evalkit import pipeline

    cfg = job.config
    if estimate or cfg.estimate:
        from evalkit.estimate import estimate as estimate_run
        from evalkit.estimate import format_estimate

        _logging(None)
        print(format_estimate(cfg, asyncio.run(estimate_run(cfg))), flush=True)
        return
    run_dir = claim_run_dir(run_dir)
    _logging(run_dir)
    try:
        _save_hydra(run_dir, job, overrides)
        asyncio.run(pipeline.run(cfg, run_dir, overrides=overrides))
    except EvalkitError:
        _drop_if_unused(run_dir)
        raise
    print(f"results: {_shown(run_dir)}", flush=True)


def _drop_if_unused(run_dir: Path) -> None:
    """Remove a run folder the run stopped before using (no record of it was written).

    A run that fails before it wrote anything of its own (a dataset out of reach) leaves no
    half-made folder behind; one with a record, a journal or a server's log stays.
    """
    if not run_dir.is_dir() or {p.name for p in run_dir.iterdir()} - {".hydra", "evalkit.log"}:
        return  # a record, a journal or a server's log: kept
    _logging(None)  # let go of evalkit.log before the folder goes
    shutil.rmtree(run_dir, ignore_errors=True)


def _jobs(args: _RunArgs) -> list[tuple[list[str], Path, Composed]]:
    """Each job's overrides, folder and composed config, all composed before any runs."""
    if not args.multirun:
        job = compose_job(args.overrides)
        return [(args.overrides, Path(job.run_dir), job)]
    jobs = []
    sweep_dir: str | None = None
    for num, overrides in enumerate(sweep(args.overrides)):
        node = compose_node([*overrides, f"hydra.job.num={num}"], hydra=True)
        sweep_dir = sweep_dir or str(node.hydra.sweep.dir)  # one timestamp for the sweep
        jobs.append((overrides, Path(sweep_dir) / str(node.hydra.sweep.subdir), from_node(node)))
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
    for overrides, run_dir, job in _jobs(args):
        _one_job(overrides, run_dir, job, estimate=estimate)


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


# --------------------------------------------------------------------------------- rescore
def rescore_command(argv: Sequence[str]) -> None:
    """``evalkit rescore RUN_DIR ...``: score finished runs again with the current scorers."""
    from evalkit.report.folder import read_run
    from evalkit.report.summary import format_table
    from evalkit.rescore import rescore

    if not argv or argv[0] in ("-h", "--help"):
        usage = "usage: evalkit rescore RUN_DIR [RUN_DIR ...]"
        if not argv:
            _fail(f"rescore needs a run folder ({usage})")
        print(usage)
        return
    for arg in argv:
        summary = rescore(Path(arg))
        print(format_table(read_run(arg).task, summary))
        print(f"rescored: {arg}")


# --------------------------------------------------------------------------------- compare
_COMPARE_EPILOG = """exit status: 0 compared (and, with --fail-on-drop, no significant drop beyond
the tolerance); 1 a gated metric dropped by more than --max-drop and the drop is significant
(Holm-adjusted p < --alpha); 2 unusable input (missing runs, different scoring, no pairs).

example: evalkit compare results/docvqa/base/RUN results/docvqa/cand/RUN --fail-on-drop \\
         --max-drop 0.01 --markdown compare.md"""


def _max_drop(value: str) -> tuple[str | None, float]:
    import argparse

    name, _, number = value.rpartition("=")
    try:
        drop = float(number)
    except ValueError:
        message = f"expected a number or METRIC=NUMBER, got '{value}'"
        raise argparse.ArgumentTypeError(message) from None
    if drop < 0:
        raise argparse.ArgumentTypeError(f"a tolerated drop is >= 0, got {drop:g}")
    return (name or None), drop


def _write_or_print(target: str, text: str) -> None:
    if target == "-":
        print(text, end="" if text.endswith("\n") else "\n", flush=True)
        return
    try:
        Path(target).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror or exc}") from exc


def compare_command(argv: Sequence[str]) -> None:
    """``evalkit compare BASE CAND``: paired differences, tests, flips; a CI gate on drops."""
    import argparse

    from evalkit.compare import Gate, Options, compare_runs, find_runs
    from evalkit.compare.render import to_json, to_markdown, to_text

    parser = argparse.ArgumentParser(
        prog="evalkit compare",
        description="Compare two runs (run folders, or folders of runs matched by task) sample "
        "by sample: paired bootstrap CI of each metric's difference, exact McNemar or "
        "permutation p-values, the flipped samples, and an optional gate for CI.",
        epilog=_COMPARE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("base", type=Path, help="the baseline run folder (or folder of runs)")
    parser.add_argument("cand", type=Path, help="the candidate run folder (or folder of runs)")
    parser.add_argument(
        "--fail-on-drop", action="store_true", help="exit 1 on a significant drop beyond --max-drop"
    )
    parser.add_argument(
        "--max-drop",
        type=_max_drop,
        action="append",
        default=[],
        metavar="[METRIC=]X",
        help="tolerated drop in the metric's units (default 0); repeat as METRIC=X for one metric",
    )
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (0.05)")
    parser.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="[TASK/]METRIC",
        help="gate only these metrics (repeatable; default: all)",
    )
    parser.add_argument(
        "--json", nargs="?", const="-", metavar="FILE", help="write JSON (to stdout when no FILE)"
    )
    parser.add_argument(
        "--markdown",
        nargs="?",
        const="-",
        metavar="FILE",
        help="write Markdown for a PR comment (to stdout when no FILE)",
    )
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (2000)")
    parser.add_argument(
        "--permutations",
        type=int,
        default=10_000,
        help="Monte Carlo permutations when no exact test applies (10000)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the resampling (0)")
    parser.add_argument("--worst", type=int, default=10, help="flipped samples listed (10)")
    parser.add_argument(
        "--allow-mismatch", action="store_true", help="compare runs whose scoring or data differ"
    )
    parser.add_argument(
        "--failed-as-zero",
        action="store_true",
        help="score a failed sample 0 instead of leaving its pair out",
    )
    args = parser.parse_args(list(argv))  # fmt: skip
    if not 0 < args.alpha < 1:
        _fail(f"--alpha must be between 0 and 1, got {args.alpha:g}")
    if args.resamples < 0 or args.permutations < 1 or args.worst < 0:
        _fail("--resamples must be >= 0, --permutations >= 1 and --worst >= 0")
    by_metric = {name: drop for name, drop in args.max_drop if name}
    overall = [drop for name, drop in args.max_drop if not name]
    gate = Gate(args.fail_on_drop, overall[-1] if overall else 0.0, by_metric, args.alpha,
                tuple(args.metric))  # fmt: skip
    base, base_notes = find_runs(args.base)
    cand, cand_notes = find_runs(args.cand)
    options = Options(args.resamples, args.permutations, args.seed, args.worst,
                      args.allow_mismatch, args.failed_as_zero)  # fmt: skip
    comparison = compare_runs(base, cand, gate=gate, options=options)
    comparison.notes[:0] = base_notes + cand_notes
    to_stdout = "-" in (args.json, args.markdown)
    if args.json:
        _write_or_print(args.json, to_json(comparison))
    if args.markdown:
        _write_or_print(args.markdown, to_markdown(comparison))
    if not to_stdout:
        print(to_text(comparison), flush=True)
    sys.exit(comparison.exit_code)


# ---------------------------------------------------------------------------------- report
def report_command(argv: Sequence[str]) -> None:
    """``evalkit report RUN_DIR [CAND_DIR] [-o FILE]``: one self-contained HTML page."""
    import argparse

    from evalkit.html_report import write_report

    parser = argparse.ArgumentParser(
        prog="evalkit report",
        description="Write one self-contained HTML page about a run: summary with intervals, "
        "groups, cost, errors, the worst samples with their images; with CAND_DIR, the "
        "comparison and the flipped samples. Nothing is fetched; no JavaScript.",
    )
    parser.add_argument("run", type=Path, help="the run folder")
    parser.add_argument("cand", type=Path, nargs="?", help="a second run of the same task")
    parser.add_argument("-o", "--output", type=Path, help="where to write (RUN/report.html)")
    args = parser.parse_args(list(argv))
    path = write_report(args.run, args.cand, args.output)
    print(f"report: {_shown(path)}", flush=True)


@dataclass(frozen=True)
class Command:
    """A subcommand: its handler (the arguments after its name) and one line of help."""

    handler: Callable[[Sequence[str]], None]
    help: str


_C = Command
COMMANDS: Registry[Command] = Registry("command", {
    "run": _C(run_command, "evaluate a task with a backend (the default: evalkit task=...)"),
    "estimate": _C(estimate_command, "tokens and cost of a run before spending; sends nothing"),
    "rescore": _C(rescore_command, "score finished run folders again with the current scorers"),
    "compare": _C(compare_command, "compare two runs sample by sample; --fail-on-drop gates CI"),
    "report": _C(report_command, "one self-contained HTML page about a run (or two, compared)"),
})  # fmt: skip
"""Subcommand → command (``merge`` goes here next; a plugin may add its own)."""


def _help() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: evalkit [COMMAND] [ARGS ...]   (no command: run)", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {command.help}" for name, command in COMMANDS.items()]
    lines += ["", "evalkit COMMAND --help shows a command's own options.",
              "example: evalkit task=docvqa dataset.limit=20"]  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m evalkit`` and the ``evalkit`` script."""
    use_system_allocator()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in ("-h", "--help", "help"):
            print(_help())
            return
        explicit = bool(args) and args[0] in COMMANDS  # reading COMMANDS loads the plugins
        handler = COMMANDS[args[0] if explicit else "run"].handler
        handler(args[1:] if explicit else args)
    except Interrupted as exc:
        print(f"evalkit: interrupted: {exc}", file=sys.stderr, flush=True)
        sys.exit(130)
    except KeyboardInterrupt:  # outside the run's own handler (composing, starting a server)
        print("evalkit: interrupted; run the same command again to go on (answers already "
              "received are in the cache)", file=sys.stderr, flush=True)  # fmt: skip
        sys.exit(130)
    except EvalkitError as exc:
        _fail(str(exc))
    except BrokenPipeError:  # `evalkit ... | head -1`: the reader has gone, and so do we
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except (OSError, sqlite3.Error) as exc:
        if not is_disk_full(exc):
            raise
        where = getattr(exc, "filename", None) or "a file evalkit writes"
        _fail(f"no space left on the device of {where}: free some space (or write elsewhere: "
              "results_dir=DIR, cache.path=FILE) and run the command again")  # fmt: skip


def entry() -> NoReturn:
    """``python -m evalkit`` and the ``evalkit`` script: :func:`main`, then a quick exit.

    By the time :func:`main` returns or exits, the run folder is sealed (Parquet closed,
    ``run.json`` written, the cache closed) and no thread is left; what remains is the
    interpreter tearing down Arrow, NumPy and every module, which took 0.2-0.25 s of a
    one-sample run here. So the logs and standard streams are flushed and the process ends
    with ``os._exit`` and the same exit status. An exception other than ``SystemExit`` still
    takes Python's own way out (its traceback, then the usual teardown).
    """
    code = 0
    try:
        main()
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(code)

"""``evalkit compare BASE CAND``: the paired comparison and its CI gate."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from evalkit.cli.common import fail
from evalkit.errors import ConfigError

__all__ = ["compare_command"]


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
        fail(f"--alpha must be between 0 and 1, got {args.alpha:g}")
    if args.resamples < 0 or args.permutations < 1 or args.worst < 0:
        fail("--resamples must be >= 0, --permutations >= 1 and --worst >= 0")
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

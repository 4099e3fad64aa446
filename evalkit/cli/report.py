"""``evalkit report RUN_DIR [CAND_DIR]``: one self-contained HTML page."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evalkit.cli.common import shown

__all__ = ["report_command"]


def report_command(argv: Sequence[str]) -> None:
    """``evalkit report RUN_DIR [CAND_DIR] [-o FILE]``: one self-contained HTML page."""
    import argparse

    from evalkit.page import write_report

    parser = argparse.ArgumentParser(
        prog="evalkit report",
        description="Write one self-contained HTML page about a run: summary with intervals, "
        "groups, cost, errors, the worst samples with their images; with CAND_DIR, the "
        "comparison and the flipped samples. Nothing is fetched; no JavaScript.",
    )
    parser.add_argument("run", type=Path, help="the run folder")
    parser.add_argument("cand", type=Path, nargs="?", help="a second run of the same task")
    where = "where to write (RUN/report.html; two runs: RUN/report-vs-CAND.html)"
    parser.add_argument("-o", "--output", type=Path, help=where)
    args = parser.parse_args(list(argv))
    path = write_report(args.run, args.cand, args.output)
    print(f"report: {shown(path)}", flush=True)

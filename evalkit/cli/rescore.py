"""``evalkit rescore RUN_DIR ...``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evalkit.cli.common import fail

__all__ = ["rescore_command"]


def rescore_command(argv: Sequence[str]) -> None:
    """``evalkit rescore RUN_DIR ...``: score finished runs again with the current scorers."""
    from evalkit.run.rescore import rescore
    from evalkit.runfolder.read import read_run
    from evalkit.runfolder.summary import format_table

    if not argv or argv[0] in ("-h", "--help"):
        usage = "usage: evalkit rescore RUN_DIR [RUN_DIR ...]"
        if not argv:
            fail(f"rescore needs a run folder ({usage})")
        print(usage)
        return
    for arg in argv:
        summary = rescore(Path(arg))
        print(format_table(read_run(arg).task, summary))
        print(f"rescored: {arg}")

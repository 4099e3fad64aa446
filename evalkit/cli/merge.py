"""``evalkit merge SHARD_DIR ... -o RUN``."""

from __future__ import annotations

from collections.abc import Sequence

from evalkit.cli.common import fail, output_option, shown
from evalkit.errors import EvalkitError

__all__ = ["merge_command"]

_USAGE = """usage: evalkit merge SHARD_DIR [SHARD_DIR ...] -o RUN

Join the shards of one run (evalkit run ... shard.count=S shard.index=K) into the run folder
RUN: rows in dataset order, every metric computed again over all of them.
  SHARD_DIR     a shard's run folder, or a folder holding the shards' folders
  -o, --output  the new run folder (must not exist, or be empty)"""


def merge_command(argv: Sequence[str]) -> None:
    """``evalkit merge``: one run folder from the shard folders of a run."""
    from evalkit.run.merge import merge
    from evalkit.runfolder.summary import format_table

    parsed = output_option(argv, "merge", _USAGE)
    if parsed is None:
        return
    sources, output = parsed
    if not sources:
        fail(f"merge needs the shard folders ({_USAGE.splitlines()[0]})")
    if not output:
        fail(f"merge needs -o RUN, the new run folder ({_USAGE.splitlines()[0]})")
    merged = merge(sources, output)
    print(format_table(merged.task, merged.summary))
    print(f"samples: {merged.n_samples}  shards: {merged.parts} of {merged.count}")
    print(f"results: {shown(merged.run_dir)}", flush=True)
    if merged.incomplete:
        raise EvalkitError(merged.incomplete)

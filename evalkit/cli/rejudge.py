"""``evalkit rejudge RUN judge=... [-o NEW_RUN]``."""

from __future__ import annotations

from collections.abc import Sequence

from evalkit.cli.common import fail, output_option, shown

__all__ = ["rejudge_command"]

_USAGE = """usage: evalkit rejudge RUN judge=NAME [judge.KEY=VALUE ...] [-o NEW_RUN]

Judge a finished run's answers again with another judge, without asking the model again; the
new run folder (default: RUN-rejudged-<time>) can be compared with the first.
  RUN           a finished run folder of a task with a judge (mmvet, mmbench_en, ...)
  judge=...     the judge and its options, as for a run (judge=openai judge.model=M ...)
  -o, --output  the new run folder (must not exist, or be empty)"""


def rejudge_command(argv: Sequence[str]) -> None:
    """``evalkit rejudge``: a run's answers judged again, into a new run folder."""
    from evalkit.run.rejudge import rejudge

    parsed = output_option(argv, "rejudge", _USAGE)
    if parsed is None:
        return
    rest, output = parsed
    overrides = [arg for arg in rest if "=" in arg]
    folders = [arg for arg in rest if "=" not in arg]
    if len(folders) > 1:
        fail(f"rejudge takes one run folder, got '{folders[0]}' and '{folders[1]}'")
    source = folders[0] if folders else None
    if source is None:
        fail(f"rejudge needs a run folder ({_USAGE.splitlines()[0]})")
    outcome = rejudge(source, overrides, output)
    print(f"results: {shown(outcome.run_dir)}", flush=True)

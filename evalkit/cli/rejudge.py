"""``evalkit rejudge RUN judge=... [-o NEW_RUN]``."""

from __future__ import annotations

from collections.abc import Sequence

from evalkit.cli.common import fail, shown

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

    source: str | None = None
    output: str | None = None
    overrides: list[str] = []
    items = iter(argv)
    for arg in items:
        if arg in ("-h", "--help"):
            print(_USAGE)
            return
        if arg in ("-o", "--output"):
            output = next(items, None)
            if output is None:
                fail(f"{arg} needs the new run folder ({_USAGE.splitlines()[0]})")
        elif arg.startswith("--output="):
            output = arg.split("=", 1)[1]
        elif arg.startswith("-"):
            fail(f"unknown option '{arg}' (see evalkit rejudge --help)")
        elif "=" in arg:
            overrides.append(arg)
        elif source is None:
            source = arg
        else:
            fail(f"rejudge takes one run folder, got '{source}' and '{arg}'")
    if source is None:
        fail(f"rejudge needs a run folder ({_USAGE.splitlines()[0]})")
    outcome = rejudge(source, overrides, output)
    print(f"results: {shown(outcome.run_dir)}", flush=True)

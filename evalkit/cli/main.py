"""The dispatch: ``evalkit [COMMAND] ARGS``; the commands are a registry (plugins may add)."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

from evalkit.cli.common import fail, use_system_allocator
from evalkit.cli.compare import compare_command
from evalkit.cli.merge import merge_command
from evalkit.cli.rejudge import rejudge_command
from evalkit.cli.report import report_command
from evalkit.cli.rescore import rescore_command
from evalkit.cli.run import estimate_command, run_command
from evalkit.errors import EvalkitError, Interrupted, is_disk_full
from evalkit.registry import Registry

__all__ = ["COMMANDS", "Command", "entry", "main"]


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
    "merge": _C(merge_command, "join the shards of a run (shard.count=S) into one run folder"),
    "rejudge": _C(rejudge_command, "judge a run's answers again with another judge (a new run)"),
})  # fmt: skip
"""Subcommand → command (a plugin may add its own)."""


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
        if args and args[0] in ("-V", "--version", "version"):
            from evalkit import __version__

            print(f"evalkit {__version__}")
            return
        explicit = bool(args) and args[0] in COMMANDS  # reading COMMANDS loads the plugins
        if not explicit or args[0] in ("run", "estimate"):  # their words are overrides
            _no_bare_word(args[1:] if explicit else args)
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
        fail(str(exc))
    except BrokenPipeError:  # `evalkit ... | head -1`: the reader has gone, and so do we
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except (OSError, sqlite3.Error) as exc:
        if not is_disk_full(exc):
            raise
        where = getattr(exc, "filename", None) or "a file evalkit writes"
        fail(f"no space left on the device of {where}: free some space (or write elsewhere: "
              "results_dir=DIR, cache.path=FILE) and run the command again")  # fmt: skip


def _no_bare_word(args: Sequence[str]) -> None:
    """One line for a bare word among a run's overrides (``KEY=VALUE``, ``~KEY``) and options.

    It is a misspelt command (``compre``) or a task named without ``task=`` (``docvqa``).
    """
    import difflib

    from evalkit.errors import ConfigError, did_you_mean

    for position, word in enumerate(args):
        if "=" in word or word.startswith(("-", "~", "+")) or not word.strip():
            continue
        if position > 0 and args[position - 1] in ("-c", "--cfg"):
            continue  # the option's value
        from evalkit.compose.tasks import task_names

        tasks = task_names()
        if word in tasks:
            raise ConfigError(f"'{word}' is a task: choose it with task={word} "
                              f"(evalkit task={word} ...)")  # fmt: skip
        close = did_you_mean("command", word, list(COMMANDS))
        if position == 0 and "did you mean" in close:
            raise ConfigError(close)
        task = difflib.get_close_matches(word, tasks, n=1, cutoff=0.6)
        hint = f"; did you mean task={task[0]}?" if task else ""
        raise ConfigError(
            f"'{word}' is neither a command nor an override (KEY=VALUE){hint} "
            f"(commands: {', '.join(COMMANDS)})"
        )


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

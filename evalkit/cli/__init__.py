"""Command line: ``evalkit [run|estimate|rescore|compare|report] ...``; no command is ``run``.

::

    evalkit run task=NAME backend=NAME key=value ...   evaluate (Hydra overrides; -m sweeps)
    evalkit estimate task=NAME ...                      tokens and cost before spending
    evalkit rescore RUN_DIR [RUN_DIR ...]               score finished runs again
    evalkit compare BASE CAND [--fail-on-drop ...]      paired comparison; a gate for CI
    evalkit report RUN_DIR [CAND_DIR]                   one self-contained HTML page

A subcommand is its module here and one entry in :data:`~evalkit.cli.main.COMMANDS`
(``merge`` will be one more): ``main`` dispatches, ``run``, ``rescore``, ``compare`` and
``report`` hold the commands, ``common`` what they share. Overrides are
checked before anything runs, so a typo costs one line with a suggestion instead of a stack
trace. Exit codes: 0 when the run finished (failed samples are counted, not fatal), 2 for a user
error or an aborted run; ``compare --fail-on-drop`` exits 1 on a significant drop.
"""

from __future__ import annotations

from evalkit.cli.common import use_system_allocator
from evalkit.cli.main import COMMANDS, Command, entry, main
from evalkit.cli.run import claim_run_dir
from evalkit.compose import group_options, register_schemas

__all__ = [
    "COMMANDS",
    "Command",
    "claim_run_dir",
    "entry",
    "group_options",
    "main",
    "register_schemas",
    "use_system_allocator",
]

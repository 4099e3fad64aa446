"""``python -m evalkit``: see :mod:`evalkit.cli`."""

from evalkit.cli import entry

entry()

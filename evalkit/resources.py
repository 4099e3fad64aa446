"""Where evalkit's shipped files live: a source checkout or an installed wheel.

In a clone, ``configs/`` and ``tasks/`` sit beside the package; the wheel carries them inside
the package (``evalkit/configs``, ``evalkit/tasks``). The bundled offline samples always live
in ``evalkit/sample_data``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"evalkit's '{name}' folder is missing from {_PACKAGE}; reinstall evalkit"
    )


def configs_dir() -> Path:
    """The Hydra config folder."""
    return _find("configs")


def tasks_dir() -> Path:
    """The task-definition folder (one YAML per task, grouped by family)."""
    return _find("tasks")


def sample_data_dir() -> Path:
    """The bundled offline sample splits, one folder per task."""
    return _PACKAGE / "sample_data"

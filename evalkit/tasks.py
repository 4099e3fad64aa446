"""Task definitions: load ``tasks/<family>/<name>.yaml``, validate, register as Hydra's ``task``.

Each file is merged onto the :class:`~evalkit.config.TaskSpec` schema, so an unknown key or a
wrong type fails at load time with the file's name.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import cast

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from evalkit.config import TaskSpec
from evalkit.errors import ConfigError, UnknownTask, did_you_mean
from evalkit.resources import tasks_dir

__all__ = ["load_task", "prompt_families", "register_tasks", "task_files", "task_names"]


@cache
def task_files() -> dict[str, Path]:
    """Task name → its YAML file, for every definition under ``tasks/``."""
    files: dict[str, Path] = {}
    for path in sorted(tasks_dir().glob("*/*.yaml")):
        if path.stem in files:
            raise ConfigError(f"task '{path.stem}' is defined twice: {files[path.stem]} and {path}")
        files[path.stem] = path
    return files


def task_names() -> list[str]:
    """Every known task name, sorted."""
    return sorted(task_files())


@cache
def load_task(name: str) -> TaskSpec:
    """Load and validate one task definition.

    >>> load_task("docvqa").family.value
    'docvqa'
    """
    files = task_files()
    if name not in files:
        raise UnknownTask(did_you_mean("task", name, files))
    path = files[name]
    try:
        node = OmegaConf.merge(OmegaConf.structured(TaskSpec), OmegaConf.load(path))
        spec = cast(TaskSpec, OmegaConf.to_object(node))
    except OmegaConfBaseException as exc:
        raise ConfigError(f"invalid task definition {path}: {exc}") from exc
    if spec.name != name:
        raise ConfigError(
            f"invalid task definition {path}: name '{spec.name}' != file name '{name}'"
        )
    if "default" not in spec.prompts:
        raise ConfigError(f"invalid task definition {path}: prompts.default is required")
    if not spec.metrics:
        raise ConfigError(f"invalid task definition {path}: metrics must not be empty")
    from evalkit.score.metrics import FAMILY_METRICS

    known = FAMILY_METRICS[spec.family]
    for metric in spec.metrics:
        if metric not in known:
            hint = did_you_mean(f"{spec.family.value} metric", metric, known)
            raise ConfigError(f"invalid task definition {path}: {hint}")
    return spec


def prompt_families() -> set[str]:
    """Every prompt-family name some task defines (``default``, ``qwen-vl``, ...)."""
    return {family for name in task_files() for family in load_task(name).prompts}


def register_tasks() -> None:
    """Store every task in Hydra's ConfigStore as an option of the ``task`` group."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for name in task_files():
        store.store(group="task", name=name, node=load_task(name))

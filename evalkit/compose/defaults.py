"""Hydra's defaults list, and the config composed from it, kept per process.

Composing a job costs about a third of a second here, four fifths of it in two steps that
depend only on the config files and the overrides that choose config group options
(``task=docvqa``, ``backend=openai``): building the defaults list and merging the configs it
names. The overrides that set values (``backend.model=m``, ``dataset.limit=5``) are applied
after them, to the merged config. A process that composes many jobs with the same choices (a
sweep, a notebook, the test suite) keeps those two results and composes the next job from a
copy of them, with Hydra's own steps for everything else: the same config, Hydra's rules and
errors, in a tenth of the time.

What is kept is keyed by the config's name, every override that is not a plain value
override (a dotted key with no group path, package or sweep: ``a.b=1``, ``+a.b=1``,
``~a.b``), and a fingerprint of every config and task file Hydra could read (their bytes) and
of evalkit's modules, so an edited file is never served an old composition. It hooks Hydra's
``create_defaults_list`` and ``ConfigLoaderImpl._compose_config_from_defaults_list`` (hydra-core
1.3, which ``pyproject.toml`` pins); :func:`install` is idempotent and undone by
:func:`uninstall`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

__all__ = ["KEEP", "forget", "install", "uninstall"]

KEEP = 64
"""Defaults lists kept (with their composed configs); past that the oldest goes."""

_LISTS: dict[tuple[Any, ...], Any] = {}
"""Key → Hydra's ``DefaultsList`` for those choices (its ``config_overrides`` those of the
first job composed with them)."""
_CONFIGS: dict[int, Any] = {}
"""``id`` of a kept ``DefaultsList.defaults`` → the config Hydra composed from it."""
_ORIGINALS: dict[str, Callable[..., Any]] = {}


def _is_value_override(override: Any) -> bool:
    """A plain value override: a dotted key (no group can be named so), no package, no sweep."""
    key = str(override.key_or_group)
    return (
        "." in key and "/" not in key and override.package is None
        and not override.is_sweep_override()
    )  # fmt: skip


def _key(config_name: str | None, overrides: list[Any], *flags: bool) -> tuple[Any, ...] | None:
    from evalkit.compose.cache import cache_key

    files = cache_key([])  # every config and task file's bytes, evalkit's modules, the versions
    if files is None:
        return None
    chosen = tuple(o.input_line for o in overrides if not _is_value_override(o))
    return (config_name, chosen, flags, files)


def _create_defaults_list(
    repo: Any, config_name: str | None, overrides_list: list[Any], prepend_hydra: bool,
    skip_missing: bool,
) -> Any:  # fmt: skip
    original = _ORIGINALS["create_defaults_list"]
    key = _key(config_name, overrides_list, prepend_hydra, skip_missing)
    kept = _LISTS.get(key) if key is not None else None
    if kept is None:
        made = original(repo, config_name, overrides_list, prepend_hydra, skip_missing)
        if key is not None:
            if len(_LISTS) >= KEEP:
                oldest = _LISTS.pop(next(iter(_LISTS)))
                _CONFIGS.pop(id(oldest.defaults), None)
            _LISTS[key] = made
        return made
    # the choices are the kept job's; the values to set are this job's, in its order
    chosen = {o.input_line for o in kept.config_overrides}
    values = [o for o in overrides_list
              if _is_value_override(o) or o.input_line in chosen]  # fmt: skip
    return replace(kept, config_overrides=values)


def _compose_config_from_defaults_list(self: Any, defaults: list[Any], repo: Any) -> Any:
    original = _ORIGINALS["compose"]
    kept = any(entry.defaults is defaults for entry in _LISTS.values())
    if not kept:
        return original(self, defaults, repo)
    composed = _CONFIGS.get(id(defaults))
    if composed is None:
        composed = original(self, defaults, repo)
        _CONFIGS[id(defaults)] = composed
    return copy.deepcopy(composed)  # Hydra sets flags and values on what it gets back


def install() -> None:
    """Hook Hydra's two steps (once per process)."""
    from hydra._internal import config_loader_impl

    if _ORIGINALS:
        return
    loader = config_loader_impl.ConfigLoaderImpl
    _ORIGINALS["create_defaults_list"] = getattr(config_loader_impl, "create_defaults_list")  # noqa: B009
    _ORIGINALS["compose"] = getattr(loader, "_compose_config_from_defaults_list")  # noqa: B009
    setattr(config_loader_impl, "create_defaults_list", _create_defaults_list)  # noqa: B010
    setattr(loader, "_compose_config_from_defaults_list", _compose_config_from_defaults_list)  # noqa: B010


def uninstall() -> None:
    """Give Hydra its own steps back and drop what is kept."""
    from hydra._internal import config_loader_impl

    if not _ORIGINALS:
        return
    setattr(config_loader_impl, "create_defaults_list", _ORIGINALS.pop("create_defaults_list"))  # noqa: B010
    loader = config_loader_impl.ConfigLoaderImpl
    setattr(loader, "_compose_config_from_defaults_list", _ORIGINALS.pop("compose"))  # noqa: B010
    forget()


def forget() -> None:
    """Drop the defaults lists and configs kept in this process."""
    _LISTS.clear()
    _CONFIGS.clear()

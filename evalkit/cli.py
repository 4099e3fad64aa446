"""Command line: ``python -m evalkit task=NAME backend=NAME key=value ...`` (Hydra overrides).

Before Hydra runs, the overrides are checked so that a typo costs one line with a suggestion
instead of a stack trace: unknown task or backend, an unknown key, a value of the wrong type.
Exit codes: 0 when the run finished (failed samples are counted, not fatal), 2 for a user error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evalkit.config import RunConfig
from evalkit.errors import (
    BadOverride,
    ConfigError,
    EvalkitError,
    UnknownBackend,
    UnknownTask,
    did_you_mean,
)
from evalkit.resources import configs_dir
from evalkit.tasks import register_tasks, task_names

__all__ = ["check_overrides", "group_options", "main", "register_schemas"]

_GROUPS = ("task", "backend", "dataset", "cache", "limits", "report", "experiment", "debug")
_GROUP_ERRORS: dict[str, type[ConfigError]] = {"task": UnknownTask, "backend": UnknownBackend}
_FLAGS_WITH_VALUE = {
    "--cfg", "-c", "--package", "-p", "--config-name", "-cn", "--config-dir", "-cd",
    "--config-path", "-cp", "--info", "-i", "--experimental-rerun",
}  # fmt: skip


def group_options(group: str) -> list[str]:
    """The option names of a config group (task names come from ``tasks/``)."""
    if group == "task":
        return task_names()
    return sorted(p.stem for p in (configs_dir() / group).glob("*.yaml"))


def register_schemas() -> None:
    """Store the run schema and every task definition in Hydra's ConfigStore."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="run_schema", node=RunConfig)
    register_tasks()


def _user_overrides(argv: Sequence[str]) -> list[str]:
    """The ``key=value`` arguments, leaving out Hydra's flags and their values."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _FLAGS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-") and "=" in arg:
            out.append(arg)
    return out


def _check_key(path: list[str]) -> None:
    """Walk the dataclass schema along ``path``; an unknown key gets a did-you-mean line."""
    node: Any = RunConfig
    for depth, part in enumerate(path):
        if not (isinstance(node, type) and dataclasses.is_dataclass(node)):
            return  # dict-typed nodes (task.prompts.<family>) take any key
        names = [f.name for f in dataclasses.fields(node)]
        if part not in names:
            where = ".".join(path[:depth]) or "the config"
            hint = did_you_mean("key", part, names).removeprefix("unknown key ")
            # never echo the value: it may be a secret typed in the wrong place
            raise BadOverride(f"bad override '{'.'.join(path)}': {where} has no key {hint}")
        node = typing.get_type_hints(node).get(part)


def check_overrides(argv: Sequence[str]) -> None:
    """Validate command-line overrides before Hydra composes; raise a one-line ConfigError."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    args = _user_overrides(argv)
    parser = OverridesParser.create()
    try:
        parsed = parser.parse_overrides(args)
    except OverrideParseException as exc:
        first = str(exc).strip().splitlines()[0]
        raise BadOverride(f"bad override syntax: {first}") from exc
    for override in parsed:
        key = override.key_or_group
        if key.startswith("hydra") or override.is_delete():
            continue
        if key in _GROUPS:
            options = group_options(key)
            values = (
                list(override.sweep_string_iterator())
                if override.is_sweep_override()
                else [override.get_value_element_as_str()]
            )
            for value in values:
                if value in ("null", "None") and key in ("experiment", "debug"):
                    continue
                if value not in options:
                    error = _GROUP_ERRORS.get(key, BadOverride)
                    what = key if key in _GROUP_ERRORS else f"{key} option"
                    raise error(did_you_mean(what, value, options))
            continue
        if "/" not in key:
            _check_key(key.split("."))
    _dry_compose(parsed)


def _dry_compose(parsed: Sequence[Any]) -> None:
    """Compose once with the first value of every sweep to catch type and value errors."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

    first: list[str] = []
    for override in parsed:
        if override.key_or_group.startswith("hydra"):
            continue
        if override.is_sweep_override():
            value = next(iter(override.sweep_string_iterator()))
            first.append(f"{override.get_key_element()}={value}")
        else:
            first.append(override.input_line)
    with initialize_config_dir(config_dir=str(configs_dir()), version_base="1.3"):
        try:
            cfg = compose(config_name="config", overrides=first)
            OmegaConf.to_object(cfg)
        except MissingMandatoryValue as exc:
            key = getattr(exc, "full_key", "") or "a value"
            raise ConfigError(f"{key} is required: add {key}=VALUE to the command") from exc
        except (HydraException, OmegaConfBaseException) as exc:
            raise BadOverride(_first_line(exc)) from exc


def _first_line(exc: BaseException) -> str:
    """The most specific line of a Hydra/OmegaConf error chain (the root cause's message)."""
    override = ""
    while True:
        text = str(exc).strip()
        if text.startswith("Error merging override "):
            override = text.removeprefix("Error merging override ").splitlines()[0]
        if exc.__cause__ is None:
            break
        exc = exc.__cause__
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    useful = [
        ln for ln in lines if not ln.startswith(("full_key", "object_type", "reference_type"))
    ]
    detail = useful[0] if useful else type(exc).__name__
    key = override.partition("=")[0]
    return f"bad override '{key}': {detail}" if key else f"bad override: {detail}"


def _job(cfg: Any) -> None:
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf
    from omegaconf.errors import MissingMandatoryValue

    from evalkit import pipeline

    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        run_cfg = OmegaConf.to_object(cfg)
        assert isinstance(run_cfg, RunConfig)
        if run_cfg.estimate:
            from evalkit.estimate import estimate, format_estimate

            print(format_estimate(run_cfg, asyncio.run(estimate(run_cfg))), flush=True)
            shutil.rmtree(run_dir, ignore_errors=True)  # nothing was run: leave no folder
            return
        asyncio.run(pipeline.run(run_cfg, run_dir, overrides=list(hydra_cfg.overrides.task)))
    except MissingMandatoryValue as exc:
        _fail(f"{exc.full_key} is required: add {exc.full_key}=VALUE to the command")
    except EvalkitError as exc:
        _fail(str(exc))
    shown = run_dir.relative_to(Path.cwd()) if run_dir.is_relative_to(Path.cwd()) else run_dir
    print(f"results: {shown}", flush=True)


def _fail(message: str) -> None:
    print(f"evalkit: error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def use_system_allocator() -> None:
    """Let Arrow allocate with the C allocator in this process, unless the user chose a pool.

    Arrow's default, mimalloc, keeps memory in per-thread segments: a run reads in one thread
    and writes in another, and for the same 1000-sample run the process peaked about 10 MB
    higher with it than with malloc, for no speed a streaming run could measure. Arrow reads
    ``ARROW_DEFAULT_MEMORY_POOL`` once, when it loads, so this runs before anything imports it.
    """
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


def main() -> None:
    """Entry point of ``python -m evalkit`` and the ``evalkit`` script."""
    import hydra

    use_system_allocator()
    try:
        register_schemas()
        check_overrides(sys.argv[1:])
    except EvalkitError as exc:
        _fail(str(exc))
    hydra.main(config_path=str(configs_dir()), config_name="config", version_base="1.3")(_job)()

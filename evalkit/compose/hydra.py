"""``compose(overrides) -> RunConfig``: the one way a run's configuration is made.

The command line, the tests and the benchmarks all call it, and Hydra composes every time.
Group choices (``task=``, ``backend=``, ...) are checked against their options first, with a
did-you-mean; then Hydra composes once, and what fails (an unknown key, a value of the wrong
type, a missing mandatory value) becomes one :class:`~evalkit.errors.ConfigError` line that
names the key and never echoes a value that may be a secret typed in the wrong place.

Hydra's cost here is where evalkit can cut it: Hydra is initialised once per process, the
schemas are stored once, and only the task a job chooses is stored in the ConfigStore, not
all of ``tasks/``; :mod:`evalkit.compose.cache` keeps Hydra's output for a repeated command.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from evalkit.compose import cache as compose_cache
from evalkit.compose import defaults
from evalkit.compose.cache import Composed
from evalkit.compose.tasks import check_task, load_task, task_files, task_names, task_node
from evalkit.config import ApiConfig, RunConfig, check_ranges, check_source_options
from evalkit.errors import BadOverride, ConfigError, UnknownBackend, UnknownTask, did_you_mean
from evalkit.resources import configs_dir
from evalkit.structured import to_object

__all__ = [
    "GROUPS",
    "Composed",
    "compose",
    "compose_job",
    "compose_node",
    "from_node",
    "group_options",
    "parse_overrides",
    "register_schemas",
    "sweep",
    "to_run_config",
]

log = logging.getLogger(__name__)

GROUPS = (
    "task",
    "backend",
    "dataset",
    "cache",
    "limits",
    "report",
    "runner",
    "judge",
    "experiment",
    "debug",
)
"""The config groups a user picks an option of (``task=docvqa``, ``backend=openai``, ...)."""
OPTIONAL_GROUPS = ("experiment", "debug")
"""Groups whose default is no option at all (``null``)."""
_GROUP_ERRORS: dict[str, type[ConfigError]] = {"task": UnknownTask, "backend": UnknownBackend}


def group_options(group: str) -> list[str]:
    """The option names of a config group (task names come from the task folders)."""
    if group == "task":
        return task_names()
    files = {p.stem for p in (configs_dir() / group).glob("*.yaml")}
    if group == "backend":
        from evalkit.backends.registry import BACKENDS

        files |= set(BACKENDS)
    return sorted(files)


@cache
def register_schemas() -> None:
    """Store the run schema and each backend's and judge's schema in Hydra's ConfigStore."""
    from hydra.core.config_store import ConfigStore

    from evalkit.backends.registry import BACKENDS
    from evalkit.config import JUDGE_SCHEMAS

    store = ConfigStore.instance()
    store.store(name="run_schema", node=RunConfig)
    for name, schema in JUDGE_SCHEMAS.items():
        store.store(group="judge", name=f"{name}_schema", node=schema)
    files = {p.stem for p in (configs_dir() / "backend").glob("*.yaml")}
    for name, entry in BACKENDS.items():
        store.store(group="backend", name=f"{name}_schema", node=entry.schema)
        if name not in files:  # a plugin's backend without a config file: its schema's defaults
            store.store(group="backend", name=name, node=entry.schema(name=name))


def _store_task(name: str) -> None:
    """Store one task as an option of Hydra's ``task`` group (plain data, from its file).

    Composing merges it onto the :class:`TaskSpec` schema (types, unknown keys) and
    :func:`check_task` checks the rest.
    """
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(group="task", name=name, node=task_node(name))


def _hydra_ready() -> None:
    """Initialise Hydra on evalkit's config folder, once per process."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_schemas()
    defaults.install()  # repeated group choices compose from a kept copy (compose/defaults.py)
    if not GlobalHydra.instance().is_initialized():
        initialize_config_dir(config_dir=str(configs_dir()), version_base="1.3")


def _chosen_tasks(parsed: Sequence[Any]) -> list[str]:
    """The tasks a job's overrides choose (the default task when none is named)."""
    chosen = [
        value
        for o in parsed
        if o.key_or_group == "task" and not o.is_delete()
        for value in (
            o.sweep_string_iterator() if o.is_sweep_override() else [o.get_value_element_as_str()]
        )
    ]
    default = _default_task()
    return chosen or ([default] if default else [])


def refuse_secrets(overrides: Sequence[str]) -> None:
    """Refuse an override whose key names a secret (``+backend.api_key=...``), value unread.

    A value typed on the command line is saved with the run (``run.json``, ``.hydra/``) and
    sits in the shell's history; a key belongs in an environment variable that the backend
    names. The message never repeats the value.
    """
    from evalkit.redact import is_secret_name

    for override in overrides:
        key = override.partition("=")[0].lstrip("+~").strip()
        if any(is_secret_name(part) for part in key.split(".")):
            group = "judge" if key.startswith("judge.") else "backend"
            raise BadOverride(
                f"bad override '{key}' names a secret, and evalkit takes none on the command "
                "line (it would be saved with the run); put it in an environment variable "
                f"and name that variable: {group}.api_key_env=VAR"
            )


def parse_overrides(overrides: Sequence[str]) -> list[Any]:
    """Hydra's parsed overrides; bad syntax and unknown group options are one-line errors."""
    refuse_secrets(overrides)
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except OverrideParseException as exc:
        first = str(exc).strip().splitlines()[0]
        raise BadOverride(f"bad override syntax: {first}") from exc
    for override in parsed:
        key = override.key_or_group
        if key not in GROUPS or override.is_delete():
            continue
        options = group_options(key)
        values = (
            list(override.sweep_string_iterator())
            if override.is_sweep_override()
            else [override.get_value_element_as_str()]
        )
        for value in values:
            if value in ("null", "None") and key in OPTIONAL_GROUPS:
                continue
            if value not in options:
                error = _GROUP_ERRORS.get(key, BadOverride)
                what = key if key in _GROUP_ERRORS else f"{key} option"
                raise error(did_you_mean(what, value, options))
    return parsed


def sweep(overrides: Sequence[str]) -> list[list[str]]:
    """The jobs of a multirun: every combination of the swept values, the first varying slowest.

    >>> sweep(["task=docvqa,vqav2", "dataset.limit=5"])
    [['task=docvqa', 'dataset.limit=5'], ['task=vqav2', 'dataset.limit=5']]
    """
    choices = []
    for override in parse_overrides(overrides):
        if override.is_sweep_override():
            key = override.get_key_element()
            choices.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        else:
            choices.append([override.input_line])
    return [list(job) for job in itertools.product(*choices)]


def _schema_fields(schema: type) -> list[str]:
    return [f.name for f in dataclasses.fields(schema)]


def _closeness(key: str, names: Sequence[str]) -> float:
    """How close the nearest of ``names`` is to ``key`` (0 when none is close)."""
    import difflib

    return max((difflib.SequenceMatcher(None, key, n).ratio() for n in names), default=0.0)


def _unknown_key(key: str, schema: type, full_key: str) -> str:
    """``bad override 'limits.concurency': limits has no key 'concurency'; did you mean ...``."""
    from evalkit.backends.registry import BACKENDS

    schemas = {n: e.schema for n, e in BACKENDS.items()}
    names = _schema_fields(schema)
    where = full_key.rpartition(".")[0] or "the config"
    hint = did_you_mean("key", key, names).removeprefix("unknown key ")
    backend = next((n for n, s in schemas.items() if s is schema), None)
    if backend is not None:
        where = f"backend '{backend}'"
        others = {n: _schema_fields(s) for n, s in schemas.items() if s is not schema}
        elsewhere = sorted({f for fields in others.values() for f in fields} - set(names))
        if _closeness(key, elsewhere) > _closeness(key, names):  # another backend has it
            match = max(elsewhere, key=lambda f: _closeness(key, [f]))
            owners = ", ".join(f"backend={n}" for n, f in others.items() if match in f)
            hint = (
                f"'{key}' (it is an option of {owners})"
                if match == key
                else f"'{key}'; did you mean '{match}'? (an option of {owners})"
            )
    return f"bad override '{full_key}': {where} has no key {hint}"


def _one_line(exc: BaseException) -> ConfigError:
    """The most useful line of a Hydra/OmegaConf error chain, as a ConfigError."""
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, MissingMandatoryValue

    override, cause = "", exc
    while True:
        text = str(cause).strip()
        for prefix in ("Error merging override ", "Could not override '", "Could not append to "):
            if text.startswith(prefix):
                override = text.removeprefix(prefix).split("'")[0].splitlines()[0]
        if cause.__cause__ is None:
            break
        cause = cause.__cause__
    if isinstance(cause, MissingMandatoryValue):
        key = getattr(cause, "full_key", "") or "a value"
        return ConfigError(f"{key} is required: add {key}=VALUE to the command")
    schema = getattr(cause, "object_type", None)
    name = getattr(cause, "key", None)
    keyed = isinstance(cause, ConfigAttributeError | ConfigKeyError) and name is not None
    if keyed and isinstance(schema, type) and dataclasses.is_dataclass(schema):
        full = getattr(cause, "full_key", None) or override.partition("=")[0] or str(name)
        return BadOverride(_unknown_key(str(name), schema, full))
    lines = [ln.strip() for ln in str(cause).splitlines() if ln.strip()]
    useful = [
        ln for ln in lines if not ln.startswith(("full_key", "object_type", "reference_type"))
    ]
    detail = useful[0] if useful else type(cause).__name__
    ambiguous = re.match(r"Ambiguous value for argument '([^=']+)=([^']*)'", detail)
    if ambiguous is not None:  # dataset.splits=val,testA: a list, a sweep or a string?
        key, value = ambiguous.groups()
        return BadOverride(
            f"bad override '{key}={value}': a list is written {key}=[{value}]; to run once per "
            f"value add -m (--multirun); to keep the comma, quote it: {key}='{value}'"
        )
    group = re.match(r"Multiple values for (\w+)\.", detail)
    if group is not None:  # +runner=ray: the group is in the defaults already
        name = group.group(1)
        return BadOverride(
            f"bad override '+{name}': {name} is chosen in the defaults already: write "
            f"{name}=VALUE, without '+'"
        )
    key = override.partition("=")[0]
    return BadOverride(f"bad override '{key}': {detail}" if key else f"bad override: {detail}")


def compose_node(overrides: Sequence[str] = (), *, hydra: bool = False) -> Any:
    """The composed ``DictConfig`` (with Hydra's own node when ``hydra``); errors are one line."""
    from hydra import compose as hydra_compose
    from hydra.errors import HydraException, MissingConfigException
    from omegaconf.errors import OmegaConfBaseException

    parsed = parse_overrides(overrides)
    _hydra_ready()
    stored: set[str] = set()
    wanted = _chosen_tasks(parsed)
    while True:
        for name in wanted:
            if name not in stored:
                _store_task(name)
                stored.add(name)
        try:
            node = hydra_compose(
                config_name="config", overrides=list(overrides), return_hydra_config=hydra
            )
            break
        except MissingConfigException as exc:
            # an overlay (experiment=...) chose a task of its own: store it and compose again
            missing = str(getattr(exc, "missing_cfg_file", "") or "").removeprefix("task/")
            if missing in stored or missing not in task_files():
                _blame_the_task_file(exc, parsed)
                raise _one_line(exc) from exc
            wanted = [missing]
        except (HydraException, OmegaConfBaseException) as exc:
            _blame_the_task_file(exc, parsed)
            raise _one_line(exc) from exc
    _no_undeclared_keys(node)
    return node


def _no_undeclared_keys(node: Any, path: str = "") -> None:
    """Refuse a key that no schema declares (``+backend.temprature=0``, ``+runner=ray``).

    ``+key=value`` adds a key past the schema's checks, and the typed config would drop it:
    the run would go on as if it had not been typed. Free-form tables (``pricing.models``,
    ``extra_body``, a metric's parameters) are plain dicts and take any key.
    """
    from omegaconf import DictConfig, ListConfig, OmegaConf

    schema = OmegaConf.get_type(node)
    declared = (
        {f.name for f in dataclasses.fields(schema)}
        if isinstance(schema, type) and dataclasses.is_dataclass(schema)
        else None
    )
    keys: list[Any] = list(node.keys()) if isinstance(node, DictConfig) else list(range(len(node)))
    for key in keys:
        if not path and key == "hydra":
            continue
        full = f"{path}.{key!s}" if path else str(key)
        if declared is not None and key not in declared:
            assert schema is not None
            raise BadOverride(_unknown_key(str(key), schema, full))
        child = node._get_node(key)
        if (
            isinstance(child, DictConfig | ListConfig)
            and not child._is_missing()
            and not (child._is_none())
        ):
            _no_undeclared_keys(child, full)


def _blame_the_task_file(exc: BaseException, parsed: Sequence[Any]) -> None:
    """Raise the task file's own error when composing failed inside an untouched ``task``.

    No override touched the task, so its file is wrong: validating it alone names the file
    and the problem.
    """
    import re

    cause = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    named = re.search(r"In 'task/([^']+)'", str(exc))
    if not named and not str(getattr(cause, "full_key", "") or "").startswith("task."):
        return
    if any(o.key_or_group.startswith("task.") for o in parsed):
        return
    chosen = [o.get_value_element_as_str() for o in parsed
              if o.key_or_group == "task" and not o.is_sweep_override()]  # fmt: skip
    name = named.group(1) if named else (chosen[0] if chosen else _default_task())
    if name:
        load_task(name)  # raises the task file's own one-line error


def _default_task() -> str | None:
    """The task ``configs/config.yaml`` chooses when no ``task=`` is given."""
    import yaml

    defaults = yaml.safe_load((configs_dir() / "config.yaml").read_text()).get("defaults", [])
    return next((d["task"] for d in defaults if isinstance(d, dict) and "task" in d), None)


def to_run_config(node: Any) -> RunConfig:
    """A composed node (Hydra's part left out) as the :class:`RunConfig` dataclasses."""
    from omegaconf import open_dict

    if "hydra" in node:
        node = node.copy()
        with open_dict(node):
            del node["hydra"]
    return _checked(to_object(RunConfig, node, errors=_one_line))


def _checked(cfg: RunConfig) -> RunConfig:
    """What the schema cannot say: numeric ranges, the task's own rules, a server to ask."""
    check_ranges(cfg)
    check_task(cfg.task)
    check_source_options(cfg.task, cfg.dataset)
    backend = cfg.backend
    if isinstance(backend, ApiConfig) and not (backend.base_url or backend.serve
                                               or backend.base_urls):  # fmt: skip
        from evalkit.backends.api import NO_URL

        raise ConfigError(NO_URL)
    if isinstance(backend, ApiConfig) and backend.base_urls:
        if backend.base_url or backend.serve:
            given = "backend.base_url" if backend.base_url else "backend.serve"
            raise ConfigError(
                f"give backend.base_urls (replicas) or {given}, not both: every request goes "
                "to one of the backend.base_urls"
            )
        for url in backend.base_urls:
            check_url(url, "backend.base_urls")
    if isinstance(backend, ApiConfig) and backend.base_url:
        if backend.serve:
            raise ConfigError(
                "give backend.base_url or backend.serve, not both: a started server is asked "
                "at its own loopback address, so backend.base_url would be ignored"
            )
        check_url(backend.base_url)
    check_runner(cfg)
    check_judge(cfg)
    if cfg.shard.index >= cfg.shard.count:
        raise ConfigError(
            f"shard.index={cfg.shard.index} is not a part of shard.count={cfg.shard.count}: "
            f"the parts are numbered 0 to {cfg.shard.count - 1}"
        )
    if cfg.task.fewshot.k == 0 and cfg.task.fewshot.split is not None:
        raise ConfigError(
            "task.fewshot.split is read only with examples to show: add task.fewshot.k=N"
        )
    return cfg


_RAY_ONLY = ("workers", "address", "shards", "cpus_per_worker", "gpus_per_worker", "keep_shards")


def check_runner(cfg: RunConfig) -> None:
    """Refuse a ``runner`` option the chosen runner does not read, or a shard of a Ray run."""
    runner = cfg.runner
    if runner.name not in ("local", "ray"):
        raise ConfigError(f"runner.name must be local or ray, got '{runner.name}'")
    if runner.name == "local":
        given = [k for k in _RAY_ONLY if getattr(runner, k) is not None]
        if given:
            raise ConfigError(
                f"runner.{given[0]} is read only by runner=ray, and this run is local: add "
                f"runner=ray, or leave runner.{given[0]} out"
            )
        return
    if cfg.shard.count != 1:
        raise ConfigError(
            "runner=ray cuts the run into shards itself (runner.shards): leave shard.* out"
        )


def check_judge(cfg: RunConfig) -> None:
    """Refuse a judge that nothing would ask, a judged task without one, a mode that cannot be.

    >>> check_judge(compose(["task=mmvet"]))
    Traceback (most recent call last):
    ...
    evalkit.errors.ConfigError: task 'mmvet' is scored by a judge (mmvet grades each answer) and this run has none: add judge=openai judge.model=MODEL judge.base_url=URL judge.api_key_env=VAR (or judge=dashscope, judge=hf), or judge=stand_in for evalkit's deterministic stand-in (offline; its grades are not the benchmark's)
    """  # noqa: E501
    from evalkit.config import JudgeMode, NoJudgeConfig
    from evalkit.judge.protocols import PROTOCOLS

    judge, spec = cfg.judge, cfg.task.judge
    if isinstance(judge, NoJudgeConfig) or judge.name == "none":
        if judge.mode is not None:
            raise ConfigError("judge.mode is read only with a judge: add judge=openai (or "
                              "dashscope, hf, stand_in), or leave judge.mode out")  # fmt: skip
        if spec is not None and PROTOCOLS[spec.protocol].kind == "grade":
            raise ConfigError(
                f"task '{cfg.task.name}' is scored by a judge ({spec.protocol} grades each "
                "answer) and this run has none: add judge=openai judge.model=MODEL "
                "judge.base_url=URL judge.api_key_env=VAR (or judge=dashscope, judge=hf), or "
                "judge=stand_in for evalkit's deterministic stand-in (offline; its grades are "
                "not the benchmark's)"
            )
        return
    if spec is None:
        raise ConfigError(
            f"judge={judge.name}: task '{cfg.task.name}' has no judge protocol, so nothing "
            "would ask the judge; leave judge out (tasks with a judge: "
            f"{', '.join(_judged_tasks())})"
        )
    protocol = PROTOCOLS[spec.protocol]
    if protocol.kind == "grade" and judge.mode not in (None, JudgeMode.always):
        raise ConfigError(
            f"judge.mode={judge.mode}: {protocol.name} grades every answer, and there is no rule "
            "to fall back on; leave judge.mode out"
        )
    if protocol.kind == "extract" and judge.repeats > 1:
        raise ConfigError(
            f"judge.repeats={judge.repeats}: {protocol.name}'s judge reads an answer out, once; "
            "repeats are for graders"
        )
    if isinstance(judge, ApiConfig):
        if judge.base_urls:
            raise ConfigError("judge.base_urls is not supported: give one judge.base_url")
        if judge.serve and judge.base_url:
            raise ConfigError(
                "give judge.base_url or judge.serve, not both: a started judge server is asked "
                "at its own loopback address, so judge.base_url would be ignored"
            )
        if judge.serve:
            return
        if not judge.base_url:
            raise ConfigError(
                "judge.base_url is required: add judge.base_url=URL to the command (or "
                "judge.serve='COMMAND --port {port}', which starts the judge's server)"
            )
        check_url(judge.base_url, "judge.base_url")


def _judged_tasks() -> list[str]:
    """The tasks whose definition names a judge protocol."""
    judged = []
    for name in task_names():
        try:
            if load_task(name).judge is not None:
                judged.append(name)
        except ConfigError:
            continue
    return judged


def check_url(url: str, key: str = "backend.base_url") -> None:
    """A one-line error for a ``backend.base_url`` that is not an http(s) URL.

    >>> check_url("127.0.0.1:8000/v1")
    Traceback (most recent call last):
    ...
    evalkit.errors.ConfigError: backend.base_url '127.0.0.1:8000/v1' is not a URL: it needs http:// or https:// and a host, e.g. http://127.0.0.1:8000/v1
    """  # noqa: E501
    from urllib.parse import urlsplit

    from evalkit.redact import redact_text

    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        valid = valid and (parts.port or 0) >= 0  # a port that is not a number raises here
    except ValueError:
        valid = False
    if not valid:
        raise ConfigError(
            f"{key} '{redact_text(url)}' is not a URL: it needs http:// or https:// "
            "and a host, e.g. http://127.0.0.1:8000/v1"
        )


def from_node(node: Any) -> Composed:
    """Hydra's composed node (with its ``hydra`` part) as a :class:`Composed` job."""
    from omegaconf import OmegaConf

    config = to_run_config(node)
    container = OmegaConf.to_container(node, resolve=False, enum_to_str=True)
    assert isinstance(container, dict)
    job = {str(k): v for k, v in container.items()}
    hydra = job.pop("hydra", {})
    run_dir = str(node.hydra.run.dir) if "hydra" in node else ""
    return Composed(config, run_dir, job, hydra)


def compose_job(overrides: Sequence[str] = ()) -> Composed:
    """One job, composed by Hydra: the typed config, its folder and its record.

    A command composed before on the same files is taken from :mod:`evalkit.compose.cache`
    (Hydra's own output, kept); its config is checked again all the same.
    """
    refuse_secrets(overrides)
    key = compose_cache.cache_key(overrides)  # hashed once: the lookup and the keeping share it
    kept = compose_cache.lookup(key)
    if kept is not None:
        _checked(kept.config)
        return kept
    job = from_node(compose_node(overrides, hydra=True))
    compose_cache.keep(key, job)
    return job


def compose(overrides: Sequence[str] = ()) -> RunConfig:
    """The run configuration for ``overrides``, validated and converted to dataclasses.

    >>> compose(["task=vqav2", "dataset.limit=5"]).dataset.limit
    5
    """
    return compose_job(overrides).config

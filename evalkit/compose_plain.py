"""Compose a run without importing Hydra, when the overrides are plain; Hydra does the rest.

Importing Hydra and composing with it costs about 0.4 s here, more than a one-sample run's
request. The common command line is simple: group choices (``task=docvqa backend=openai``)
and plain values (``dataset.limit=5``, ``backend.base_url=http://...``). For those this module
follows the rules Hydra applies to evalkit's own config files: the defaults list of
``configs/config.yaml`` in order, ``_self_`` where it stands, a group file's
``[<name>_schema, _self_]``, ``# @package`` headers, a ``???`` that never overrides a value,
overrides applied after the defaults, ``${a.b}`` interpolations and Hydra's ``now`` resolver,
and :func:`evalkit.structured.build` for types.

Anything else raises :class:`~evalkit.structured.NotPlain` and :func:`evalkit.compose.compose_job`
asks Hydra: sweeps, ``+key``/``~key``/``++key``, quoted or bracketed values, interpolations in
overrides, ``experiment=``/``debug=`` overlays, ``hydra.*`` keys, an unknown key or option, a
value that needs converting, and every error (Hydra's path words them). So a plain composition
is either Hydra's result or not taken; ``tests/test_compose_plain.py`` compares the two over
every task, backend and option, and over a value of each field.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from evalkit.config import RunConfig
from evalkit.resources import configs_dir
from evalkit.structured import MISSING, NotPlain, build, complete, defaults
from evalkit.tasks import task_names, task_node

__all__ = ["GROUPS", "OPTIONAL_GROUPS", "Composed", "compose_plain", "group_options", "load_yaml"]

GROUPS = ("task", "backend", "dataset", "cache", "limits", "report", "experiment", "debug")
"""The config groups a user picks an option of (``task=docvqa``, ``backend=openai``, ...)."""
OPTIONAL_GROUPS = ("experiment", "debug")
"""Groups whose default is no option at all (``null``)."""

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*")
_TEXT = re.compile(r"[A-Za-z0-9_/.:@%+-]+")
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\.[0-9]+")
_NUMBERISH = re.compile(r"[-+]?\.?[0-9].*|[-+]?(?:inf|nan)", re.IGNORECASE)
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)\}")
_NOW = re.compile(r"\$\{now:([^${}\\]*)\}")
_PACKAGE = re.compile(r"^#\s*@package\s+(\S+)\s*$", re.MULTILINE)


@dataclass
class Composed:
    """One composed job: the typed config, and the record of how it was made."""

    config: RunConfig
    run_dir: str
    """``hydra.run.dir``, resolved: where the run folder goes."""
    job: dict[str, Any]
    """The composed config as plain data, interpolations as written (``.hydra/config.yaml``)."""
    hydra: dict[str, Any] = field(default_factory=dict)
    """Hydra's node, as far as it describes this run (``.hydra/hydra.yaml``)."""
    composer: str = "plain"
    """``plain`` (this module) or ``hydra``."""


# ------------------------------------------------------------------------------- YAML
@cache
def _yaml_loader() -> Any:
    """PyYAML's safe loader (libyaml's parser where it is built) read as OmegaConf reads.

    Dates stay text and a key given twice is refused, as OmegaConf's loader does; a plain
    scalar that OmegaConf's wider float pattern might read as a number (``1e5``) is left to it.
    """
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            keys = [k.value for k, _ in node.value if k.tag == "tag:yaml.org,2002:str"]
            if len(keys) != len(set(keys)):
                raise NotPlain(f"a key given twice in {node.start_mark}")
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_str(self, node: Any) -> Any:
            value = super().construct_scalar(node)
            plain = not node.style  # None from PyYAML's parser, "" from libyaml's
            if plain and _NUMBERISH.fullmatch(value):
                raise NotPlain(f"'{value}' may be a number to OmegaConf")
            return value

    Loader.add_constructor("tag:yaml.org,2002:str", Loader.construct_yaml_str)
    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if not tag.endswith(":timestamp")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


def load_yaml(text: str) -> Any:
    """A config file's data, as OmegaConf would load it, or :class:`NotPlain`."""
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise NotPlain(f"YAML: {exc}") from exc


# ------------------------------------------------------------------------------- overrides
def _value(text: str) -> Any:
    """A plain override value as Hydra's grammar reads it, or :class:`NotPlain`."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _TEXT.fullmatch(text) and not _NUMBERISH.fullmatch(text):
        return text
    raise NotPlain(f"value '{text}' is not plain")


def _split(overrides: Sequence[str]) -> tuple[dict[str, str | None], list[tuple[str, Any]]]:
    """Group choices and value assignments, in order; anything else is :class:`NotPlain`."""
    choices: dict[str, str | None] = {}
    values: list[tuple[str, Any]] = []
    for override in overrides:
        key, equals, text = override.partition("=")
        if not equals or not _KEY.fullmatch(key) or key.split(".")[0] == "hydra":
            raise NotPlain(f"override '{override}' is not key=value")
        value = _value(text)
        if key not in GROUPS:
            values.append((key, value))
            continue
        if key in choices:
            raise NotPlain(f"{key} chosen twice")
        if value is None and key in OPTIONAL_GROUPS:
            choices[key] = None
        elif key in OPTIONAL_GROUPS or not isinstance(value, str):
            raise NotPlain(f"{key}={text} needs Hydra")
        else:
            options = group_options(key)
            if value not in options:
                raise NotPlain(f"{key} has no option '{value}'")
            choices[key] = value
    return choices, values


def group_options(group: str) -> list[str]:
    """The option names of a config group (task names come from ``tasks/``)."""
    if group == "task":
        return task_names()
    return sorted(p.stem for p in (configs_dir() / group).glob("*.yaml"))


# ------------------------------------------------------------------------------- merging
def _merge(base: Any, new: Any) -> Any:
    """``new`` merged onto ``base``: mappings key by key, anything else replaced.

    A ``???`` never replaces a value (OmegaConf's rule); both inputs are left untouched.
    """
    if not isinstance(base, dict) or not isinstance(new, dict):
        return copy.deepcopy(new)
    out = copy.deepcopy(base)
    for key, value in new.items():
        if value == MISSING and key in out:
            continue
        out[key] = _merge(out[key], value) if key in out else copy.deepcopy(value)
    return out


def _put(tree: dict[str, Any], package: str, data: Any) -> dict[str, Any]:
    """``data`` merged into ``tree`` at the dotted ``package`` (``""``: the root)."""
    if not package:
        merged: dict[str, Any] = _merge(tree, data)
        return merged
    head, _, rest = package.partition(".")
    out = dict(tree)
    out[head] = _put(tree.get(head) or {}, rest, data) if rest else _merge(tree.get(head), data)
    return out


def _group(group: str, option: str) -> tuple[Any, type | None]:
    """A group option's data and the schema its defaults list names (``None``: the field's)."""
    if group == "task":
        return copy.deepcopy(task_node(option)), None
    text = (configs_dir() / group / f"{option}.yaml").read_text(encoding="utf-8")
    if _PACKAGE.search(text):
        raise NotPlain(f"{group}/{option}.yaml sets its own package")
    data = load_yaml(text) or {}
    if not isinstance(data, dict):
        raise NotPlain(f"{group}/{option}.yaml is not a mapping")
    listed = data.pop("defaults", None)
    if listed is None:
        return data, None
    from evalkit.backends.registry import SCHEMAS

    if group != "backend" or len(listed) != 2 or listed[1] != "_self_":
        raise NotPlain(f"{group}/{option}.yaml has a defaults list")
    name = listed[0].removesuffix("_schema") if isinstance(listed[0], str) else ""
    if name not in SCHEMAS or listed[0] != f"{name}_schema":
        raise NotPlain(f"{group}/{option}.yaml names schema {listed[0]!r}")
    return _merge(defaults(SCHEMAS[name]), data), SCHEMAS[name]


def _config_file(name: str) -> tuple[str, Any]:
    """A non-group entry of the root defaults list: its package and data."""
    text = (configs_dir() / f"{name}.yaml").read_text(encoding="utf-8")
    header = _PACKAGE.search(text)
    if header is None or header.group(1).startswith("_"):
        raise NotPlain(f"{name}.yaml has no plain @package header")
    return header.group(1), load_yaml(text) or {}


def _defaults(
    choices: dict[str, str | None],
) -> tuple[dict[str, Any], dict[str, Any], type | None, dict[str, str | None]]:
    """The root defaults list composed: the tree, Hydra's node, the backend schema, the choices."""
    root = load_yaml((configs_dir() / "config.yaml").read_text(encoding="utf-8"))
    if not isinstance(root, dict) or not isinstance(root.get("defaults"), list):
        raise NotPlain("config.yaml has no defaults list")
    listed = root.pop("defaults")
    hydra = root.pop("hydra", {}) or {}
    tree: dict[str, Any] = {}
    backend_schema: type | None = None
    chosen: dict[str, str | None] = {}
    for entry in listed:
        if entry == "run_schema":
            tree = _merge(tree, defaults(RunConfig))
        elif entry == "_self_":
            tree = _merge(tree, root)
        elif isinstance(entry, str):
            tree = _put(tree, *_config_file(entry))
        elif isinstance(entry, dict) and len(entry) == 1:
            ((key, option),) = entry.items()
            optional = key.startswith("optional ")
            group = key.removeprefix("optional ").strip()
            if group not in GROUPS:
                if optional and not (configs_dir() / group / f"{option}.yaml").exists():
                    continue  # an optional file that is not there (configs/local/)
                raise NotPlain(f"defaults entry {entry}")
            option = choices.get(group, option)
            chosen[group] = option
            if option is None:
                continue
            data, schema = _group(group, str(option))
            tree = _put(tree, group, data)
            if group == "backend":
                backend_schema = schema
        else:
            raise NotPlain(f"defaults entry {entry!r}")
    unused = set(choices) - set(chosen)
    if unused:
        raise NotPlain(f"no defaults entry for {sorted(unused)}")
    return tree, hydra, backend_schema, chosen


def _assign(tree: dict[str, Any], key: str, value: Any) -> None:
    """``key=value`` on an existing key (a new key needs ``+``: Hydra's case)."""
    *parents, last = key.split(".")
    node: Any = tree
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict) or last not in node:
        raise NotPlain(f"'{key}' is not a key of the composed config")
    node[last] = value


# ------------------------------------------------------------------------------- interpolation
def _resolve(tree: dict[str, Any]) -> dict[str, Any]:
    """Every ``${a.b}`` in ``tree`` replaced by the value it names (types kept when whole)."""

    def lookup(path: str, seen: frozenset[str]) -> Any:
        if path in seen:
            raise NotPlain(f"interpolation cycle at {path}")
        node: Any = tree
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise NotPlain(f"interpolation of a missing key {path}")
            node = node[part]
        return walk(node, seen | {path})

    def text(value: str, seen: frozenset[str]) -> Any:
        if "${" not in value:
            return value
        if "\\" in value:
            raise NotPlain("an escaped interpolation")
        whole = _REF.fullmatch(value)
        if whole:
            return lookup(whole.group(1), seen)

        def piece(match: re.Match[str]) -> str:
            found = lookup(match.group(1), seen)
            if isinstance(found, bool) or not isinstance(found, str | int | float):
                raise NotPlain(f"${{{match.group(1)}}} inside text is a {type(found).__name__}")
            return str(found)

        out = _REF.sub(piece, value)
        if "${" in _REF.sub("", value):
            raise NotPlain(f"an interpolation that is not a plain reference: {value}")
        return out

    def walk(node: Any, seen: frozenset[str]) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, seen) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, seen) for v in node]
        return text(node, seen) if isinstance(node, str) else node

    resolved = walk(tree, frozenset())
    assert isinstance(resolved, dict)
    return resolved


def _run_dir(hydra: dict[str, Any], resolved: dict[str, Any]) -> str:
    """``hydra.run.dir`` with its references and ``${now:...}`` filled in."""
    pattern = (hydra.get("run") or {}).get("dir")
    if not isinstance(pattern, str):
        raise NotPlain("config.yaml has no hydra.run.dir")
    now = datetime.now()
    filled = _NOW.sub(lambda m: now.strftime(m.group(1)), pattern)
    out = _resolve({**resolved, "__dir__": filled})["__dir__"]
    if not isinstance(out, str):
        raise NotPlain("hydra.run.dir is not text")
    return out


# ------------------------------------------------------------------------------- compose
def compose_plain(overrides: Sequence[str] = ()) -> Composed:
    """The composed job for plain ``overrides``, or :class:`NotPlain` (then Hydra composes).

    >>> job = compose_plain(["task=vqav2", "dataset.limit=5"])
    >>> job.config.dataset.limit, job.config.task.name
    (5, 'vqav2')
    """
    from evalkit.backends.registry import SCHEMAS

    choices, values = _split(overrides)
    tree, hydra, backend_schema, chosen = _defaults(choices)
    for key, value in values:
        _assign(tree, key, value)
    resolved = _resolve(tree)
    backend = resolved.get("backend")
    name = backend.get("name") if isinstance(backend, dict) else None
    schema = backend_schema or SCHEMAS.get(str(name))
    if schema is None:
        raise NotPlain(f"no schema for backend {name!r}")
    config = build(RunConfig, {k: v for k, v in resolved.items() if k != "backend"})
    config.backend = build(schema, backend, "backend")
    record = {
        **hydra,
        "run": {**(hydra.get("run") or {}), "dir": _run_dir(hydra, resolved)},
        "runtime": {"choices": dict(chosen)},
        "overrides": {"task": list(overrides)},
    }
    job = complete(RunConfig, {k: v for k, v in tree.items() if k != "backend"})
    job["backend"] = complete(schema, tree["backend"])
    return Composed(config, record["run"]["dir"], {k: job[k] for k in tree}, record)

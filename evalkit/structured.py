"""Plain data ↔ the schema's dataclasses: the one converter, both ways.

:func:`to_object` turns plain data (a YAML or JSON record, a composed node) into a schema's
dataclasses through OmegaConf, which converts what can be converted (``"5"`` into an ``int``
field) and words what cannot; every error is one :class:`~evalkit.errors.ConfigError` line.
Composing a run, reading a run folder back, reading prices and task files all use it.
:func:`plain` goes the other way, for ``run.json`` and the ``.hydra/`` record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from enum import Enum
from pathlib import PurePath
from typing import Any, TypeVar

from evalkit.errors import ConfigError

__all__ = ["first_line", "plain", "to_object"]

T = TypeVar("T")


def plain(value: Any) -> Any:
    """``value`` as plain (JSON) data, containers copied.

    Dataclasses become dicts with text keys, enums their values, tuples lists, paths text.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    return value


def first_line(exc: BaseException) -> str:
    """An error's first line, or its class name when it has no message.

    OmegaConf's errors: the message without the key/type lines that follow it.
    """
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def to_object(
    schema: type[T],
    data: Any,
    *,
    what: str = "",
    errors: Callable[[Exception], Exception] | None = None,
    fields: dict[str, type] | None = None,
) -> T:
    """An instance of ``schema`` from plain ``data`` (or from a node already of that schema).

    ``fields`` gives a field a subclass of its declared schema (a run's ``backend`` is the
    chosen backend's own schema). An error is ``errors(exc)`` when given, else one line that
    starts with ``what``.

    >>> from evalkit.config import LimitsConfig
    >>> to_object(LimitsConfig, {"concurrency": "4"}).concurrency
    4
    >>> to_object(LimitsConfig, {"concurency": 4}, what="limits")
    Traceback (most recent call last):
    ...
    evalkit.errors.ConfigError: limits: Key 'concurency' not in 'LimitsConfig'
    """
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        if isinstance(data, DictConfig) and OmegaConf.get_type(data) is schema and not fields:
            node = data
        else:
            node = OmegaConf.structured(schema)
            for name, kind in (fields or {}).items():
                setattr(node, name, OmegaConf.structured(kind))
            node.merge_with(data)
        result = OmegaConf.to_object(node)
    except OmegaConfBaseException as exc:
        if errors is not None:
            raise errors(exc) from exc
        raise ConfigError(f"{what}: {first_line(exc)}" if what else first_line(exc)) from exc
    if not isinstance(result, schema):  # pragma: no cover - OmegaConf guarantees it
        raise ConfigError(f"{what or 'config'}: a {type(result).__name__}, not {schema.__name__}")
    return result

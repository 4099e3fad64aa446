"""Plain data → the schema's dataclasses, strictly, without OmegaConf.

A run's configuration is plain YAML data checked against :mod:`evalkit.config`'s dataclasses.
OmegaConf does that with conversions (``"5"`` into an ``int`` field, ``1`` into a ``bool``) and
careful errors, at a start-up cost of a few hundred milliseconds. :func:`build` does only what
is certain: a value of exactly the field's type (an ``int`` into a ``float`` field becomes a
float, a string into an enum field its member). Everything else, an unknown key, a missing
mandatory value (``???``), a value OmegaConf would have to convert, raises :class:`NotPlain`,
and the caller hands the same input to OmegaConf, which converts it or names the error.
So :func:`build` never accepts what OmegaConf would refuse, and when it accepts, it returns what
OmegaConf's ``to_object`` returns; ``tests/test_structured.py`` holds it to that.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Hashable
from enum import Enum
from functools import cache
from pathlib import PurePath
from typing import Any, TypeVar, Union, cast

__all__ = ["MISSING", "NotPlain", "build", "complete", "defaults", "plain"]

MISSING = "???"
"""A mandatory value not given yet (OmegaConf's marker, so both read the same files)."""

T = TypeVar("T")


class NotPlain(Exception):
    """The data needs OmegaConf: a conversion, a missing value, an unknown key, an error."""


@cache
def _hints(schema: Hashable) -> dict[str, Any]:
    return typing.get_type_hints(schema)


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


def defaults(schema: type) -> dict[str, Any]:
    """A schema's default values as plain data; a field without a default is :data:`MISSING`."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(schema):
        if f.default is not dataclasses.MISSING:
            out[f.name] = plain(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = plain(f.default_factory())
        else:
            out[f.name] = MISSING
    return out


def complete(kind: Any, data: Any) -> Any:
    """``data`` with the defaults of every dataclass inside it filled in; not validated.

    That is how OmegaConf's merged node shows a task's ``prompts`` entries and ``metrics``.

    >>> from evalkit.config import MetricSpec
    >>> complete(list[MetricSpec], [{"name": "anls"}])
    [{'name': 'anls', 'column': None, 'params': {}}]
    """
    origin = typing.get_origin(kind)
    if origin is Union or origin is types.UnionType:
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return complete(options[0], data) if len(options) == 1 and data is not None else data
    if origin is list and isinstance(data, list):
        (item,) = typing.get_args(kind)
        return [complete(item, v) for v in data]
    if origin is dict and isinstance(data, dict):
        item = typing.get_args(kind)[1]
        return {k: complete(item, v) for k, v in data.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind) and isinstance(data, dict):
        hints = _hints(kind)
        out = {**defaults(kind), **data}
        return {k: complete(hints[k], v) if k in hints else v for k, v in out.items()}
    return data


def build(schema: type[T], data: Any, path: str = "") -> T:
    """An instance of ``schema`` from plain ``data``, or :class:`NotPlain`.

    >>> from evalkit.config import LimitsConfig
    >>> build(LimitsConfig, {"concurrency": 4, "timeout_s": 10}).timeout_s
    10.0
    >>> build(LimitsConfig, {"concurrency": "4"})
    Traceback (most recent call last):
    ...
    evalkit.structured.NotPlain: concurrency: 4 is a str, not int
    """
    if not isinstance(data, dict):
        raise NotPlain(f"{path or 'the config'}: not a mapping")
    hints = _hints(cast(Hashable, schema))
    names = {f.name for f in dataclasses.fields(schema)}  # type: ignore[arg-type]
    unknown = [key for key in data if key not in names]
    if unknown:
        raise NotPlain(f"{_at(path, str(unknown[0]))}: not a field of {schema.__name__}")
    given = {}
    for f in dataclasses.fields(schema):  # type: ignore[arg-type]
        where = _at(path, f.name)
        if f.name in data:
            given[f.name] = _convert(hints[f.name], data[f.name], where)
        elif f.default is MISSING or (
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ):
            raise NotPlain(f"{where}: missing")
    return schema(**given)


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _convert(kind: Any, value: Any, path: str) -> Any:
    if isinstance(value, str) and (value == MISSING or "${" in value):
        raise NotPlain(f"{path}: missing or unresolved")
    origin = typing.get_origin(kind)
    if origin is Union or origin is types.UnionType:
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        if value is None:
            return None
        if len(options) != 1:
            raise NotPlain(f"{path}: a union of {options}")
        return _convert(options[0], value, path)
    if kind is Any:
        return _any(value, path)
    if value is None:
        raise NotPlain(f"{path}: null for a {kind} field")
    if origin is list:
        if not isinstance(value, list):
            raise NotPlain(f"{path}: not a list")
        (item,) = typing.get_args(kind)
        return [_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        key, item = typing.get_args(kind)
        if key is not str or not isinstance(value, dict):
            raise NotPlain(f"{path}: not a mapping with text keys")
        if not all(isinstance(k, str) for k in value):
            raise NotPlain(f"{path}: a key that is not text")
        return {k: _convert(item, v, _at(path, k)) for k, v in value.items()}
    if isinstance(kind, type):
        if dataclasses.is_dataclass(kind):
            return build(kind, value, path)
        if issubclass(kind, Enum):
            members = {m.value: m for m in kind}
            if isinstance(value, str) and value in members:
                return members[value]
            raise NotPlain(f"{path}: {value!r} is not a value of {kind.__name__}")
        if kind is float and type(value) is int:
            return float(value)
        if kind in (int, float, str, bool) and type(value) is kind:
            return value
    raise NotPlain(
        f"{path}: {value} is a {type(value).__name__}, not {getattr(kind, '__name__', kind)}"
    )


def _any(value: Any, path: str) -> Any:
    """An untyped value: plain data only, copied (as OmegaConf's ``to_object`` returns it)."""
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise NotPlain(f"{path}: a key that is not text")
        return {k: _any(v, _at(path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_any(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        if value == MISSING or "${" in value:
            raise NotPlain(f"{path}: missing or unresolved")
        return value
    if value is None or type(value) in (int, float, bool):
        return value
    raise NotPlain(f"{path}: a {type(value).__name__}")

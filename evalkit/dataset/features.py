"""A task's Hub schema, declared once in its YAML, in a short form of ``datasets.Features``.

``dataset.features`` in a task file lists the columns of the Hub copy the task was written
against, each as a type: a value type's name (``string``, ``int64``, ``float32``, ``bool``,
...), ``image`` (``datasets.Image``), ``[T]`` (a list of ``T``) or ``{name: T, ...}`` (a
struct)::

    features:
      questionId: string
      answers: [string]
      image: image
      ocr_info: [{word: string, bounding_box: {width: float64, height: float64}}]

It is what the bundled samples are generated in (``scripts/make_*samples.py``) and checked
against (``tests/dataset``), and what a task file's column names are checked against when it is
loaded: a column the schema lacks is a one-line error before anything is read. Checking needs no
``datasets`` import; :func:`hub_features` builds the real ``datasets.Features``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from evalkit.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    import datasets

__all__ = ["VALUE_TYPES", "check_features", "has_column", "hub_features", "short_form"]

VALUE_TYPES = frozenset({
    "null", "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "string", "large_string", "binary", "large_binary",
    "date32", "date64",
})  # fmt: skip
"""The ``datasets.Value`` types a schema may name (Arrow's names, as ``datasets`` spells them)."""

IMAGE = "image"


def check_features(spec: Mapping[str, Any], where: str = "dataset.features") -> None:
    """Raise :class:`ConfigError` naming the first entry of ``spec`` that is not a type.

    >>> check_features({"answers": ["strin"]}, "features")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    evalkit.errors.ConfigError: features.answers[0]: unknown type 'strin'; did you mean 'string'?...
    """
    for name, kind in spec.items():
        _check_type(kind, f"{where}.{name}")


def _check_type(kind: Any, where: str) -> None:
    if isinstance(kind, str):
        if kind != IMAGE and kind not in VALUE_TYPES:
            known = sorted(VALUE_TYPES | {IMAGE})
            raise ConfigError(f"{where}: {did_you_mean('type', kind, known)}")
    elif isinstance(kind, list):
        if len(kind) != 1:
            raise ConfigError(f"{where}: a list type is [T], one element type ({len(kind)} given)")
        _check_type(kind[0], f"{where}[0]")
    elif isinstance(kind, Mapping):
        if not kind:
            raise ConfigError(f"{where}: a struct needs at least one field")
        check_features(kind, where)
    else:
        raise ConfigError(f"{where}: expected a type name, [T] or {{field: T}}, not {kind!r}")


def has_column(spec: Mapping[str, Any], name: str) -> bool:
    """Whether ``name`` is a column of ``spec``, or ``a.b`` a field ``b`` of struct column ``a``.

    >>> has_column({"types": {"structural": "string"}}, "types.structural")
    True
    """
    if name in spec:
        return True
    head, dot, rest = name.partition(".")
    inner = spec.get(head)
    return bool(dot) and isinstance(inner, Mapping) and has_column(inner, rest)


def hub_features(spec: Mapping[str, Any]) -> datasets.Features:
    """The ``datasets.Features`` that ``spec`` declares.

    >>> hub_features({"answers": ["string"], "image": "image"})
    {'answers': List(Value('string')), 'image': Image(mode=None, decode=True)}
    """
    import datasets

    check_features(spec)

    def build(kind: Any) -> Any:
        if isinstance(kind, str):
            return datasets.Image() if kind == IMAGE else datasets.Value(kind)
        if isinstance(kind, list):
            return datasets.List(build(kind[0]))
        return {name: build(inner) for name, inner in kind.items()}

    return datasets.Features({name: build(kind) for name, kind in spec.items()})


def short_form(features: Mapping[str, Any]) -> dict[str, Any]:
    """The short form of a ``datasets.Features`` (or any mapping of its feature types).

    The inverse of :func:`hub_features`, to write a new task's ``features`` from a copy's
    ``ds.features``, and to compare a file's schema with a task's.

    >>> import datasets
    >>> short_form(datasets.Features({"a": datasets.List(datasets.Value("int8"))}))
    {'a': ['int8']}
    """
    import datasets

    def name(feature: Any) -> Any:
        if isinstance(feature, datasets.Image):
            return IMAGE
        if isinstance(feature, datasets.Value):
            return feature.dtype
        if isinstance(feature, datasets.List | list):
            return [name(feature.feature if isinstance(feature, datasets.List) else feature[0])]
        if isinstance(feature, Mapping):
            return {key: name(inner) for key, inner in feature.items()}
        raise ValueError(f"no short form for {type(feature).__name__}")

    return {key: name(feature) for key, feature in features.items()}

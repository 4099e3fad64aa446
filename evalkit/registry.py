"""``Registry[T]``: named entries of one kind, the one lookup, and other packages' plugins.

Every table evalkit chooses from by name is a :class:`Registry`: task folders, metrics,
parsers, backends (each with its config schema), model families and commands. A lookup of a
name that is not there is one line with a did-you-mean, the same everywhere.

Another package adds entries without editing evalkit through the Python entry-point group
``evalkit.plugins``: each entry point names a function that takes no argument and calls
``add`` on the registries it extends. For example, in the plugin's ``pyproject.toml``::

    [project.entry-points."evalkit.plugins"]
    mine = "evalkit_mine:register"

and in ``evalkit_mine/__init__.py``::

    def register() -> None:
        from evalkit.backends.registry import BACKENDS, BackendEntry
        from evalkit.score.registry import METRICS, MetricKind
        from evalkit.compose.tasks import TASK_FOLDERS

        TASK_FOLDERS.add("mine", Path(__file__).parent / "tasks")
        METRICS.add("shouting", MetricKind("text", "...", per_sample=...))
        BACKENDS.add("echo", BackendEntry("evalkit_mine.echo:EchoBackend", EchoConfig))

The plugins are loaded once per process, the first time any registry is read. A plugin that
fails to load, or that adds a name already taken, is a one-line error naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Generic, TypeVar

from evalkit.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = ["PLUGIN_GROUP", "Registry", "load_plugins", "plugin_fingerprint"]

PLUGIN_GROUP = "evalkit.plugins"
"""The entry-point group other packages register their additions under."""

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (``metric``, ``backend``, ...), in the order they were added."""

    def __init__(
        self,
        kind: str,
        entries: Mapping[str, T] | None = None,
        *,
        error: Callable[[str], Exception] = ConfigError,
    ) -> None:
        self.kind = kind
        """What an entry is, in messages (``unknown metric 'x'; did you mean ...``)."""
        self._entries: dict[str, T] = dict(entries or {})
        self._error = error

    def add(self, name: str, entry: T) -> T:
        """Add ``entry`` as ``name``; a name already taken is a one-line error."""
        if name in self._entries:
            raise ConfigError(f"{self.kind} '{name}' is registered twice")
        self._entries[name] = entry
        return entry

    def remove(self, name: str) -> None:
        """Take ``name`` out (a plugin's tests undo what they added)."""
        self._entries.pop(name, None)

    def _all(self) -> dict[str, T]:
        load_plugins()
        return self._entries

    def __getitem__(self, name: str) -> T:
        entries = self._all()
        if name not in entries:
            raise self._error(did_you_mean(self.kind, name, entries))
        return entries[name]

    def get(self, name: str) -> T | None:
        """The entry, or ``None``."""
        return self._all().get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._all()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._all()))

    def __len__(self) -> int:
        return len(self._all())

    def names(self) -> list[str]:
        """Every name, in the order added."""
        return list(self._all())

    def items(self) -> list[tuple[str, T]]:
        """Every (name, entry), in the order added."""
        return list(self._all().items())


_LOADING: list[bool] = []


def load_plugins() -> tuple[str, ...]:
    """Call every ``evalkit.plugins`` entry point once; the names of those loaded.

    A registry read while the plugins load (from a plugin's own imports) sees the entries
    added so far.
    """
    if _LOADING:
        return ()
    _LOADING.append(True)
    try:
        return _load_plugins()
    finally:
        _LOADING.pop()


@cache
def _points() -> tuple[EntryPoint, ...]:
    """The installed ``evalkit.plugins`` entry points, by name (read once per process)."""
    from importlib.metadata import entry_points

    return tuple(sorted(entry_points(group=PLUGIN_GROUP), key=lambda p: p.name))


@cache
def _load_plugins() -> tuple[str, ...]:
    loaded = []
    for point in _points():
        try:
            register = point.load()
            register()
        except ConfigError as exc:
            raise ConfigError(f"evalkit plugin '{point.name}' ({point.value}): {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - any failure of someone else's code: one line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ConfigError(
                f"evalkit plugin '{point.name}' ({point.value}) failed to load: "
                f"{type(exc).__name__}{': ' + first if first else ''}"
            ) from exc
        loaded.append(point.name)
    return tuple(loaded)


def plugin_fingerprint() -> list[str]:
    """The installed plugins, as ``name=value@version`` (what a composition depends on)."""
    found = []
    for point in _points():
        version = point.dist.version if point.dist is not None else "?"
        found.append(f"{point.name}={point.value}@{version}")
    return found

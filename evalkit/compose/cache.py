"""Hydra's composed output, kept between processes so that a repeated command starts quickly.

Importing Hydra and composing costs about half a second here, more than a one-sample run's
request. The same command line on the same files composes to the same result, so the first
composition is kept (pickled: the typed :class:`~evalkit.config.RunConfig`, the ``.hydra/``
record and the run folder's name) under a key that covers everything it was made from:

* the overrides, in order, the working folder and ``EVALKIT_TASKS``;
* the bytes of every config file and every task file Hydra could read;
* the size and modification time of every module of evalkit (the schemas and the composer);
* the versions of Python, evalkit, hydra-core and omegaconf, and the installed plugins
  (``evalkit.plugins`` entry points, with their packages' versions).

Nothing here knows Hydra's rules: what is kept is what Hydra returned. The one value that
changes between runs, the time in the run folder's name (``${now:...}`` in ``hydra.run.dir``),
is formatted again for the new run; a composition with ``${now:...}`` or an ``oc.`` resolver
(an environment variable) anywhere else is not kept. A damaged or unreadable entry is
ignored and composed again. Entries live in the user's cache folder
(``~/.cache/evalkit/compose``), and in the process that kept or read them; at most
:data:`KEEP` of them are kept in each.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from evalkit.config import RunConfig
from evalkit.resources import configs_dir

__all__ = ["KEEP", "Composed", "cache_folder", "cache_key", "forget", "keep", "lookup"]

KEEP = 256
"""Entries kept; past that the older half goes."""
_NOW = re.compile(r"\$\{now:([^}]*)\}")
_PACKAGES = ("evalkit", "hydra-core", "omegaconf")


@dataclass
class Composed:
    """One composed job: the typed config, and the record of how it was made."""

    config: RunConfig
    run_dir: str
    """``hydra.run.dir``, resolved: where the run folder goes."""
    job: dict[str, Any]
    """The composed config as plain data, interpolations as written (``.hydra/config.yaml``)."""
    hydra: dict[str, Any] = field(default_factory=dict)
    """Hydra's own node (``.hydra/hydra.yaml``)."""


def cache_folder() -> Path:
    """``compose/`` in the user's cache folder."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("evalkit")) / "compose"


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cache_key(overrides: Sequence[str]) -> str | None:
    """The hash of everything a composition of ``overrides`` is made from.

    ``None`` when those files cannot be read: the command is composed and not kept (composing
    says what is wrong with them).
    """
    try:
        return _hash(overrides)
    except Exception:  # noqa: BLE001 - a cache key that cannot be made only means: no cache
        return None


def _hash(overrides: Sequence[str]) -> str:
    from evalkit.compose.tasks import task_folders
    from evalkit.registry import plugin_fingerprint

    digest = hashlib.sha256()
    head = {
        "overrides": list(overrides),
        "cwd": os.getcwd(),
        "tasks_env": os.environ.get("EVALKIT_TASKS", ""),
        "python": sys.version,
        "versions": [_version(name) for name in _PACKAGES],
        "plugins": plugin_fingerprint(),
    }
    digest.update(json.dumps(head, sort_keys=True).encode())
    files = sorted(configs_dir().rglob("*.yaml"))
    files += [p for folder in task_folders() for p in sorted(folder.glob("*/*.yaml"))]
    for path in files:
        digest.update(f"\0{path}\0".encode())
        digest.update(path.read_bytes())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        stat = path.stat()
        digest.update(f"\0{path.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _stamps(template: str, run_dir: str) -> list[tuple[str, str]] | None:
    """Each ``${now:FORMAT}`` of ``template`` with the text it has in ``run_dir``.

    Found by formatting the last minute's times and looking for them in the folder Hydra
    named: asking the ``now`` resolver again would not do, as its answer is kept per config
    object and a second later it gives another time. ``None`` when a time is not found.

    >>> from datetime import datetime
    >>> now = datetime.now().strftime("%Y%m%d-%H%M%S")
    >>> _stamps("${results_dir}/${task.name}/${now:%Y%m%d-%H%M%S}", f"/r/s/t/{now}") == [
    ...     ("%Y%m%d-%H%M%S", now)]
    True
    """
    from datetime import datetime, timedelta

    stamps = []
    now = datetime.now()
    for fmt in _NOW.findall(template):
        texts = (t for back in range(61) if (t := (now - timedelta(seconds=back)).strftime(fmt)))
        found = next((text for text in texts if text in run_dir), None)
        if found is None:
            return None
        stamps.append((fmt, found))
    return stamps


def _keepable(job: Composed) -> bool:
    """Whether the composition can be reused as it is: no time or environment in its values."""
    text = json.dumps(job.job, default=str)
    return "${now:" not in text and "${oc." not in text


_IN_PROCESS: dict[str, bytes] = {}
"""Entries this process kept or read, by key (a notebook or a test session composes often)."""


def forget() -> None:
    """Drop the entries held in this process (the files stay)."""
    _IN_PROCESS.clear()


def lookup(key: str | None) -> Composed | None:
    """The composition kept under ``key`` (:func:`cache_key`), its run folder named for now."""
    if key is None:
        return None
    try:
        data = _IN_PROCESS.get(key)
        if data is None:
            data = (cache_folder() / f"{key}.pickle").read_bytes()
        entry = pickle.loads(data)  # a fresh copy each time: callers may change their config
        job, stamps = entry["job"], entry["stamps"]
        _remember(key, data)
    except Exception:  # noqa: BLE001 - anything wrong with an entry means: compose again
        return None
    now = datetime.now()
    run_dir = job.run_dir
    for fmt, text in stamps:
        run_dir = run_dir.replace(text, now.strftime(fmt), 1)
    job.run_dir = run_dir
    return job  # type: ignore[no-any-return]


def keep(key: str | None, job: Composed) -> None:
    """Keep Hydra's composition under ``key``, if it can be reused as it is."""
    template = str((job.hydra.get("run") or {}).get("dir") or "")
    stamps = _stamps(template, job.run_dir)
    if stamps is None or key is None or not _keepable(job):
        return
    if any(job.run_dir.count(text) != 1 for _, text in stamps):
        return
    try:
        data = pickle.dumps({"job": job, "stamps": stamps})
        _remember(key, data)
        folder = cache_folder()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{key}.pickle"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        _prune(folder)
    except Exception:  # noqa: BLE001 - a cache that cannot be written is only slower
        return


def _remember(key: str, data: bytes) -> None:
    if len(_IN_PROCESS) >= KEEP:
        _IN_PROCESS.pop(next(iter(_IN_PROCESS)))
    _IN_PROCESS[key] = data


def _prune(folder: Path) -> None:
    entries = list(folder.glob("*.pickle"))
    if len(entries) <= KEEP:
        return
    entries.sort(key=lambda p: p.stat().st_mtime)
    for path in entries[: len(entries) // 2]:
        path.unlink(missing_ok=True)

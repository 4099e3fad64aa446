"""``run.json``: the secret-free record of how a run was made and what it cost."""

from __future__ import annotations

import dataclasses
import json
import platform
from enum import Enum
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_NAME", "package_versions", "to_jsonable", "write_manifest"]

MANIFEST_NAME = "run.json"
_PACKAGES = ("evalkit", "datasets", "pandas", "pyarrow", "pycocoevalcap", "hydra-core", "pillow")


def package_versions() -> dict[str, str | None]:
    """Versions of Python and the packages that shape results."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, tuples and paths → plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def write_manifest(run_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write ``run.json`` atomically."""
    path = run_dir / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(to_jsonable(manifest), indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path

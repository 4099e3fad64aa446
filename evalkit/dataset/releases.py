"""Benchmarks' own release files, read as rows of the task's Hub schema (``dataset=local``).

A task whose benchmark ships its data in a simple layout of its own names that layout in its
YAML (``dataset.release``). ``dataset.path`` may then point at the files as the benchmark
distributes them, besides parquet / JSON lines in the Hub schema: each reader turns a release
row into the row the Hub copy holds (same columns, same order, so the same sample ids).

- ``chartqa-json``: ChartQA's ``<split>_human.json`` and ``<split>_augmented.json`` (lists of
  ``{imgname, query, label}``) beside their ``png/`` folder; the release root, a split's folder
  or one of the files. Rows come human first, then augmented, as in the Hub copy
  (``lmms-lab/ChartQA``), so a row's position is the same id; ``type`` is
  ``human_<split>`` / ``augmented_<split>``.
- ``mathvista-json``: MathVista's ``data/<split>.json`` (an object of problems by ``pid``; the
  image path relative to it, under ``images/``) with the prompts of ``data/query.json`` beside
  it (the Hub copy's ``query``): the folder or the file.
- ``mmbench-tsv``: MMBench's TSV as VLMEvalKit and OpenCompass distribute it (``index``,
  ``question``, ``hint``, ``A``-``D``, ``answer``, ``category``, ``l2-category``, base64
  ``image``; a row whose image cell holds another row's index shares that row's image).
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError, DataError
from evalkit.registry import Registry

__all__ = ["RELEASES", "Release", "release_files"]

Row = tuple[dict[str, Any] | DataError, Path]


@dataclass(frozen=True)
class Release:
    """One benchmark's release layout."""

    description: str
    """What the files are, in messages and README."""
    claims: Callable[[Path], bool]
    """Whether ``dataset.path`` is in this layout (and not parquet / JSON lines)."""
    files: Callable[[Path, str], list[Path]]
    """The files a split reads, in order; a one-line :class:`ConfigError` when there are none."""
    rows: Callable[[list[Path]], Iterator[Row]]
    """Hub-schema rows (or the :class:`DataError` standing in for one), with their file's folder."""


# --------------------------------------------------------------------------- ChartQA
_CHARTQA_KINDS = ("human", "augmented")


def _json_list(path: Path) -> bool:
    """Whether a ``.json`` file holds a JSON list (a release file), not JSON lines."""
    if path.suffix != ".json" or not path.is_file():
        return False
    with path.open("rb") as handle:
        head = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


def _chartqa_claims(path: Path) -> bool:
    if path.is_file():
        return _json_list(path)
    return path.is_dir() and any(
        _json_list(f) for f in [*path.glob("*_human.json"), *path.glob("*/*_human.json")]
    )


def _chartqa_files(path: Path, split: str) -> list[Path]:
    if path.is_file():
        return [path]
    folder = path / split if (path / split).is_dir() else path
    files = [f for kind in _CHARTQA_KINDS if (f := folder / f"{split}_{kind}.json").is_file()]
    if not files:
        raise ConfigError(
            f"dataset.path {path}: no {split}_human.json or {split}_augmented.json for split "
            f"'{split}' (ChartQA's release layout: <split>/<split>_human.json beside png/)"
        )
    return files


def _read_json(file: Path, kind: type, what: str) -> Any:
    """A release file's JSON value of ``kind``, or the :class:`DataError` standing in for it.

    ``what`` names the expected value (``JSON list of questions``) in the error.
    """
    noun = "JSON list" if kind is list else "JSON object"
    try:
        value = json.loads(file.read_bytes())
    except (OSError, ValueError) as exc:
        return DataError(f"{file.name}: not a readable {noun} ({exc})")
    return value if isinstance(value, kind) else DataError(f"{file.name}: expected a {what}")


def _chartqa_rows(files: list[Path]) -> Iterator[Row]:
    for file in files:
        split, _, kind = file.stem.rpartition("_")
        kind_of = f"{kind}_{split}" if kind in _CHARTQA_KINDS and split else None
        entries = _read_json(file, list, "JSON list of questions")
        if isinstance(entries, DataError):
            yield entries, file.parent
            continue
        for n, entry in enumerate(entries):
            if not isinstance(entry, dict) or not {"imgname", "query", "label"} <= entry.keys():
                have = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
                yield (
                    DataError(f"{file.name}[{n}]: expected imgname, query and label, got {have}"),
                    file.parent,
                )
                continue
            row = {"type": kind_of, "question": str(entry["query"]), "answer": str(entry["label"]),
                   "image": f"png/{entry['imgname']}"}  # fmt: skip
            yield row, file.parent


# --------------------------------------------------------------------------- MMBench
_MMBENCH_COLUMNS = {"l2-category": "L2-category"}
"""The TSV's column names that differ from the Hub copy's."""
_MMBENCH_NEEDS = ("index", "question", "answer", "image")


def _mmbench_claims(path: Path) -> bool:
    return path.is_file() and path.suffix == ".tsv"


def _mmbench_files(path: Path, split: str) -> list[Path]:
    del split  # a TSV holds one split
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle, delimiter="\t"), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"dataset.path {path}: cannot read it as text ({exc})") from exc
    missing = [c for c in _MMBENCH_NEEDS if c not in header]
    if missing:
        raise ConfigError(
            f"dataset.path {path}: not MMBench's TSV layout, it lacks {', '.join(missing)} "
            f"(its columns: {', '.join(header[:12]) or 'none'})"
        )
    return [path]


def _mmbench_rows(files: list[Path]) -> Iterator[Row]:
    csv.field_size_limit(sys.maxsize)  # an image cell is megabytes of base64
    for file in files:
        images: dict[str, bytes] = {}
        with file.open(newline="", encoding="utf-8-sig") as handle:
            for n, raw in enumerate(csv.DictReader(handle, delimiter="\t"), 2):
                row: dict[str, Any] = {_MMBENCH_COLUMNS.get(k, k): v for k, v in raw.items()}
                cell = row.get("image") or ""
                index = str(row.get("index", ""))
                if len(cell) > 64:
                    try:
                        images[index] = base64.b64decode(cell, validate=True)
                    except (binascii.Error, ValueError):
                        yield DataError(f"{file.name}:{n}: image is not base64"), file.parent
                        continue
                    row["image"] = {"bytes": images[index], "path": None}
                elif cell in images:  # a circular pass names the row holding its image
                    row["image"] = {"bytes": images[cell], "path": None}
                else:
                    yield (
                        DataError(f"{file.name}:{n}: image '{cell}' names no earlier row's image"),
                        file.parent,
                    )
                    continue
                yield row, file.parent


# --------------------------------------------------------------------------- MathVista
def _json_object(path: Path) -> bool:
    """Whether a ``.json`` file holds one JSON object over several lines (a release keyed by id).

    JSON lines start with a row on their first line, whose values are its columns; a release
    file starts an object over several lines, or holds on one line objects keyed by id.
    """
    if path.suffix != ".json" or not path.is_file():
        return False
    with path.open("rb") as handle:
        first = handle.readline().strip().lstrip(b"\xef\xbb\xbf")
    if not first.startswith(b"{"):
        return False
    try:
        whole = json.loads(first)
    except ValueError:
        return True  # an object over several lines
    # one line: a release keyed by id holds only objects; a JSON-lines row holds its columns
    return bool(whole) and all(isinstance(v, dict) for v in whole.values())


def _mathvista_claims(path: Path) -> bool:
    if path.is_file():
        return _json_object(path)
    # its splits' files by name: another JSON object beside parquet (a dataset_info.json)
    # does not make a folder MathVista's
    return path.is_dir() and any(_json_object(path / f"{s}.json") for s in ("testmini", "test"))


def _mathvista_files(path: Path, split: str) -> list[Path]:
    if path.is_file():
        return [path]
    if not (path / f"{split}.json").is_file():
        raise ConfigError(
            f"dataset.path {path}: no {split}.json for split '{split}' (MathVista's release "
            "layout: data/<split>.json, its images under data/images/)"
        )
    return [path / f"{split}.json"]


def _mathvista_rows(files: list[Path]) -> Iterator[Row]:
    for file in files:
        problems = _read_json(file, dict, "JSON object of problems by pid")
        prompts = file.parent / "query.json"  # the prompts, kept apart in the release
        queries = {}
        if prompts.is_file():
            queries = _read_json(prompts, dict, "JSON object of prompts by pid")
        failed = next((v for v in (problems, queries) if isinstance(v, DataError)), None)
        if failed is not None:
            yield failed, file.parent
            continue
        for pid, problem in problems.items():
            if not isinstance(problem, dict):
                yield DataError(f"{file.name}[{pid}]: expected an object"), file.parent
                continue
            # the Hub copy holds the picture in decoded_image and its path in image
            row = {"pid": str(pid), **problem, "decoded_image": problem.get("image")}
            if "query" not in row and str(pid) in queries:
                row["query"] = queries[str(pid)]
            yield row, file.parent


RELEASES: Registry[Release] = Registry("release layout", {
    "chartqa-json": Release(
        "ChartQA's JSON (<split>_human.json, <split>_augmented.json beside png/)",
        _chartqa_claims, _chartqa_files, _chartqa_rows,
    ),
    "mathvista-json": Release(
        "MathVista's JSON (data/<split>.json: problems by pid; data/query.json: their prompts; "
        "images under data/images/)",
        _mathvista_claims, _mathvista_files, _mathvista_rows,
    ),
    "mmbench-tsv": Release(
        "MMBench's TSV (index, question, hint, A-D, answer, category, base64 image)",
        _mmbench_claims, _mmbench_files, _mmbench_rows,
    ),
})  # fmt: skip


def release_files(name: str | None, path: Path, split: str) -> tuple[Release, list[Path]] | None:
    """The release layout ``path`` is in and the files its split reads; ``None``: not one."""
    if name is None:
        return None
    release = RELEASES[name]
    if not release.claims(path):
        return None
    return release, release.files(path, split)

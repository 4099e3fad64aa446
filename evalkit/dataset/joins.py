"""What a split needs beyond its own rows: images joined by id, and a standard subset's id list.

* **Image joins** (``dataset.images`` of a task): GQA's Hub copy keeps questions and images in
  two configurations; each question names its image (``imageId``), an image row's ``id``. The
  image rows (398 for testdev-balanced) are read once into a table, left encoded; each question
  then gets its image, or an error row naming the missing id.
* **Subsets** (``dataset.subset``): a list of ids keeps only the rows whose column value it
  names, as the Karpathy test split of Flickr30k is 1,000 of the copy's 31,783 images. The list
  is a file (one id per line, ``#`` starts a comment) or a column of another dataset's split
  (a copy that kept Karpathy's split column), read once, that column alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from evalkit.config import DatasetConfig, ImageJoin, Subset, TaskSpec
from evalkit.dataset.hf import MissingColumn, iter_hf_rows
from evalkit.dataset.local import data_files, iter_local_rows
from evalkit.errors import ConfigError, DataError, MissingField
from evalkit.resources import sample_data_dir

__all__ = ["ImageTable", "SubsetList", "read_dataset_ids", "read_id_list", "subset_list"]


@dataclass(frozen=True, slots=True)
class SubsetList:
    """The ids a split is cut to, and where they came from (what ``run.json`` records)."""

    where: str
    """The list file's path, or ``<dataset>[@<revision>]:<split>:<column>``."""
    ids: frozenset[str]
    warning: str | None = None
    """Set when the list's length is not the task's ``subset.rows``."""


def read_id_list(path: Path) -> frozenset[str]:
    """The ids a list file names: one per line, blank lines and ``#`` comments skipped."""
    try:
        data = path.read_bytes()
        if b"\0" in data:
            raise UnicodeDecodeError("utf-8", data, data.index(b"\0"), data.index(b"\0") + 1,
                                     "a NUL byte")  # fmt: skip
        lines = data.decode("utf-8-sig").splitlines()
    except OSError as exc:
        raise ConfigError(f"dataset.subset: cannot read {path} ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"dataset.subset: {path} is not a text file (byte {exc.start}: {exc.reason}); "
            "expected UTF-8 text, one id per line"
        ) from exc
    ids = frozenset(s for line in lines if (s := line.split("#", 1)[0].strip()))
    if not ids:
        raise ConfigError(f"dataset.subset: {path} lists no ids")
    return ids


def _subset_where(subset: Subset) -> str:
    at = f"@{subset.revision}" if subset.revision else ""
    return f"{subset.hf_id}{at}:{subset.split}:{subset.id_column or subset.column}"


@lru_cache(maxsize=8)
def _dataset_ids(
    path: str, config: str | None, split: str, column: str, revision: str | None
) -> frozenset[str]:
    # one read per run, however often the split is described (run, estimate, few-shot pools)
    ids: set[str] = set()
    for row in iter_hf_rows(path=path, config=config, split=split, revision=revision,
                            image_column="", columns=[column]):  # fmt: skip
        value = row.get(column)
        if value is not None and str(value).strip():
            ids.add(str(value).strip())
    return frozenset(ids)


def read_dataset_ids(subset: Subset) -> frozenset[str]:
    """The values of ``subset.id_column`` in split ``subset.split`` of ``subset.hf_id``."""
    assert subset.hf_id is not None
    column = subset.id_column or subset.column
    where = _subset_where(subset)
    try:
        ids = _dataset_ids(subset.hf_id, subset.hf_config, subset.split, column, subset.revision)
    except MissingColumn as exc:
        raise ConfigError(f"dataset.subset: {where}: {exc}") from exc
    except ConfigError as exc:
        raise ConfigError(
            f"dataset.subset: {exc}; or give the list as task.dataset.subset.file=LIST"
        ) from exc
    if not ids:
        raise ConfigError(f"dataset.subset: {where} lists no ids")
    return ids


def _applies(subset: Subset, source: str, split: str) -> bool:
    # the bundled samples are synthetic stand-ins, already as small as a subset
    return source != "sample" and (not subset.splits or split in subset.splits)


def subset_list(task: TaskSpec, source: str, split: str) -> SubsetList | None:
    """The ids to keep for this source and split, or ``None`` when every row is kept.

    A ``file`` is read each call (it is small); a dataset's column once per process.
    """
    subset = task.dataset.subset
    if subset is None or not _applies(subset, source, split):
        return None
    if subset.file is not None:
        path = Path(subset.file).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"task '{task.name}': its subset list {path} is missing (build it with "
                f"scripts/karpathy_split.py), or score the whole split with "
                "task.dataset.subset=null"
            )
        where, ids = str(path), read_id_list(path)
    elif subset.hf_id is not None:
        where, ids = _subset_where(subset), read_dataset_ids(subset)
    else:
        raise ConfigError(
            f"task '{task.name}': dataset.subset needs a file or an hf_id naming its ids"
        )
    warning = None
    if subset.rows is not None and len(ids) != subset.rows:
        warning = (
            f"dataset.subset: {where} lists {len(ids)} ids, the task expects {subset.rows} "
            "(has it changed?); scores are not comparable with runs over the expected subset"
        )
    return SubsetList(where, ids, warning)


@dataclass
class ImageTable:
    """Images by id, still encoded, each with the folder its relative paths resolve against."""

    join: ImageJoin
    where: str
    images: dict[str, tuple[Any, Path | None]]

    def attach(self, row: dict[str, Any], image_column: str) -> Path | None:
        """Put the row's image in ``image_column``; a missing id is the row's data error."""
        key = row.get(self.join.key)
        if key is None:
            raise MissingField(f"column '{self.join.key}' (the image id) is missing or empty")
        found = self.images.get(str(key))
        if found is None:
            raise MissingField(f"image '{key}' is not among the {len(self.images)} of {self.where}")
        row[image_column] = found[0]
        return found[1]

    @classmethod
    def load(
        cls, task: TaskSpec, cfg: DatasetConfig, *, source: str, dataset_id: str, split: str,
        revision: str | None,
    ) -> ImageTable | None:  # fmt: skip
        """Read the task's image configuration for this source; ``None`` when it has none."""
        join = task.dataset.images
        if join is None:
            return None
        image_split = join.split or split
        rows: Iterator[tuple[Any, Path | None]]
        if source == "hf":
            where = f"{dataset_id} config {join.config} split {image_split}"
            rows = ((r, None) for r in iter_hf_rows(
                path=dataset_id, config=join.config, split=image_split, revision=revision,
                image_column=task.columns.image, streaming=cfg.streaming is not False,
            ))  # fmt: skip
        else:
            path = _local_images(task, cfg, source, image_split)
            where = str(path)
            rows = iter_local_rows(path)
        images: dict[str, tuple[Any, Path | None]] = {}
        for row, base in rows:
            if isinstance(row, DataError):
                raise ConfigError(f"{where}: {row}")
            if not isinstance(row, Mapping) or join.id not in row:
                raise ConfigError(f"{where}: image rows need an '{join.id}' column")
            images[str(row[join.id])] = (row.get(task.columns.image), base)
        if not images:
            raise ConfigError(f"{where}: no image rows")
        return cls(join, where, images)


def _local_images(task: TaskSpec, cfg: DatasetConfig, source: str, split: str) -> Path:
    if source == "sample":
        path = sample_data_dir() / task.name / "images" / f"{split}.parquet"
        if not path.is_file():
            raise ConfigError(f"bundled '{task.name}' sample has no images for split '{split}'")
        return path
    if not cfg.images:
        raise ConfigError(
            f"task '{task.name}' reads its images from configuration "
            f"'{task.dataset.images.config if task.dataset.images else ''}': give "
            "dataset.images=FILE_OR_DIR with the image rows"
        )
    path = Path(cfg.images).expanduser()
    data_files(path, check=True)
    return path

"""Stage ①: a task's data source → :class:`~evalkit.records.Sample` items, streamed.

Sources: ``sample`` (the bundled offline split), ``hf`` (Hugging Face ``datasets``, streaming)
and ``local`` (parquet / JSON-lines files in the same schema). An unusable row becomes an
:class:`Item` carrying its :class:`~evalkit.errors.DataError`, never an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from evalkit.config import DatasetConfig, Source, TaskSpec, check_source_options
from evalkit.dataset.columns import explodes, needs_pixels, row_id, row_to_samples
from evalkit.dataset.fewshot import FewShotPool
from evalkit.dataset.hf import check_hub, iter_hf_rows
from evalkit.dataset.joins import ImageTable, subset_list
from evalkit.dataset.local import data_files, iter_local_rows
from evalkit.dataset.releases import release_files
from evalkit.dataset.shards import Shard
from evalkit.errors import ConfigError, DataError, did_you_mean
from evalkit.records import Sample
from evalkit.resources import sample_data_dir

__all__ = [
    "SPLIT_COLUMN",
    "Item",
    "RowCount",
    "SourceInfo",
    "describe_source",
    "describe_sources",
    "expected_samples",
    "iter_items",
    "iter_run_items",
    "plan_shard",
    "row_count_record",
    "run_grouping",
]

SPLIT_COLUMN = "split"
"""The column (and summary group) naming each sample's split when a run reads several."""

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What was read, for ``run.json``."""

    source: str
    id: str
    config: str | None
    split: str
    revision: str | None
    subset: str | None = None
    """The id list the split was cut to (``dataset.subset``), when one applies: its file, or
    ``<dataset>[@<revision>]:<split>:<column>``."""
    images: str | None = None
    """The configuration the images were joined from (``dataset.images``), when there is one."""
    subset_ids: int | None = None
    """How many ids that list names."""
    release: str | None = None
    """The benchmark's release layout the local files were read in (``dataset.release`` of the
    task); ``None``: the Hub schema."""


@dataclass(frozen=True, slots=True)
class Item:
    """One sample to evaluate, or the data error that replaced it."""

    sample_id: str
    sample: Sample | None = None
    error: DataError | None = None
    elsewhere: bool = False
    """Another shard's sample: numbered in the stream (its id and place), not evaluated."""


def _sample_file(task: TaskSpec, split: str) -> Path:
    folder = sample_data_dir() / task.name
    available = sorted(p.stem for p in folder.glob("*.parquet"))
    if not available:
        raise ConfigError(
            f"task '{task.name}' has no bundled sample; use dataset.source=hf or local"
        )
    if split not in available:
        raise ConfigError(
            f"bundled '{task.name}' sample: {did_you_mean('split', split, available)}"
        )
    return folder / f"{split}.parquet"


def describe_source(task: TaskSpec, cfg: DatasetConfig) -> SourceInfo:
    """Resolve the task's defaults against the ``dataset`` overrides; checks what it can."""
    check_source_options(task, cfg)
    split = cfg.split or task.dataset.split
    joined = task.dataset.images.config if task.dataset.images is not None else None
    if cfg.source is Source.sample:
        path = str(_sample_file(task, split))
        return SourceInfo("sample", path, None, split, None, None, joined)
    if cfg.source is Source.local:
        if not cfg.path:
            raise ConfigError("dataset.source=local needs dataset.path=FILE_OR_DIR")
        local = Path(cfg.path).expanduser()
        release = task.dataset.release
        if release_files(release, local, split) is None:
            release = None
            # a wrong path, wrong files, fake Parquet: one line, now
            data_files(local, check=True, release=task.dataset.release)
        info = SourceInfo("local", str(local), None, split, None, None, joined, release=release)
    else:
        if task.dataset.splits and split not in task.dataset.splits:
            raise ConfigError(
                f"task '{task.name}': {did_you_mean('split', split, task.dataset.splits)}"
            )
        info = SourceInfo("hf", cfg.id or task.dataset.hf_id, cfg.config or task.dataset.hf_config,
                          split, cfg.revision or task.dataset.revision, None, joined)  # fmt: skip
        check_hub(info.id)  # seconds, not half a minute of retries, when the Hub is out of reach
    # a missing or empty subset list is one line now, not after the first rows
    cut = subset_list(task, info.source, split)
    if cut is None:
        return info
    if cut.warning:
        _log.warning(cut.warning)
    return replace(info, subset=cut.where, subset_ids=len(cut.ids))


def describe_sources(task: TaskSpec, cfg: DatasetConfig) -> list[SourceInfo]:
    """One :class:`SourceInfo` per split the run reads (``dataset.splits``, else one)."""
    if not cfg.splits:
        return [describe_source(task, cfg)]
    if cfg.split is not None:
        raise ConfigError("give dataset.split or dataset.splits, not both")
    if cfg.source is Source.local:
        raise ConfigError(
            "dataset.splits: a local source is one set of files; run each split's files alone"
        )
    if len(set(cfg.splits)) != len(cfg.splits):
        raise ConfigError(f"dataset.splits names a split twice: {list(cfg.splits)}")
    return [describe_source(task, replace(cfg, split=s, splits=[])) for s in cfg.splits]


def run_grouping(task: TaskSpec, cfg: DatasetConfig) -> tuple[list[str], list[str]]:
    """The columns a run keeps and the fields its summary groups by.

    With several splits, ``split`` is kept and is the first group.
    """
    keep, group_by = list(task.columns.keep), list(task.group_by)
    if cfg.splits:
        if SPLIT_COLUMN in keep:
            raise ConfigError(
                f"task '{task.name}' keeps a column named '{SPLIT_COLUMN}': run its splits alone"
            )
        keep, group_by = [*keep, SPLIT_COLUMN], [SPLIT_COLUMN, *group_by]
    return keep, group_by


def iter_run_items(
    task: TaskSpec,
    cfg: DatasetConfig,
    infos: list[SourceInfo],
    counts: list[RowCount] | None = None,
    *,
    fewshot: bool = True,
    images: bool = True,
    shard: Shard | None = None,
) -> Iterator[Item]:
    """Every split's items in turn, :func:`iter_items` each.

    With ``dataset.splits`` a sample is ``<split>/<id>`` and carries its split in its
    ``meta`` (ids may repeat across splits). With ``shard``, the rows of the other parts
    come as ``elsewhere`` items (the parts count rows across the splits, in turn).
    """
    counts = counts if counts is not None else [RowCount() for _ in infos]
    if not cfg.splits:
        yield from iter_items(task, cfg, infos[0], counts[0], fewshot=fewshot, images=images,
                              shard=shard)  # fmt: skip
        return
    for info, count in zip(infos, counts, strict=True):
        one = replace(cfg, split=info.split, splits=[])
        for item in iter_items(task, one, info, count, fewshot=fewshot, images=images,
                               shard=shard):  # fmt: skip
            sample_id = f"{info.split}/{item.sample_id}"
            if item.sample is None:
                yield replace(item, sample_id=sample_id)
            else:
                meta = {**item.sample.meta, SPLIT_COLUMN: info.split}
                yield Item(sample_id, sample=replace(item.sample, id=sample_id, meta=meta))


def expected_samples(task: TaskSpec, cfg: DatasetConfig, info: SourceInfo) -> int | None:
    """How many samples the run will see; ``None`` when unknown.

    Known when the source says (Parquet metadata, read without the data), a subset list
    names the rows, or ``dataset.limit`` bounds it; unknown for JSON lines, a streamed split,
    or rows that explode into samples.
    """
    rows: int | None = None
    exploded = task.explode_references or task.explode_questions or task.circular
    if info.subset_ids is not None:
        rows = None if exploded else info.subset_ids  # at most: ids the split lacks are skipped
    elif task.dataset.where:
        rows = None  # known only once read: the filter leaves rows out
    elif info.source in ("sample", "local") and not exploded and info.release is None:
        files = data_files(Path(info.id))
        if all(f.suffix == ".parquet" for f in files):
            rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    if cfg.limit is not None:
        return cfg.limit if rows is None else min(rows, cfg.limit)
    return rows


def plan_shard(
    count: int, index: int, task: TaskSpec, cfg: DatasetConfig, infos: list[SourceInfo]
) -> Shard | None:
    """Part ``index`` of ``count`` of the run reading ``infos`` (``None``: the whole run).

    The parts are contiguous ranges when the rows the run reads are known before reading:
    one sample per row, and each split's count known (:func:`expected_samples`, or a Hub
    split's declared ``dataset.rows``); otherwise every ``count``-th row.
    """
    if count == 1:
        return None
    units: int | None = 0 if not explodes(task) else None
    for info in infos:
        if units is None:
            break
        one = replace(cfg, split=info.split, splits=[])
        rows = expected_samples(task, one, info)
        declared = task.dataset.rows.get(info.split)
        # the declared count is the whole split's: of no use once dataset.where filters it
        known = declared if info.subset is None and not task.dataset.where else None
        if rows is None and info.source == "hf" and known:
            rows = known if cfg.limit is None else min(known, cfg.limit)
        units = None if rows is None else units + rows
    return Shard(count, index, units)


def _rows(
    info: SourceInfo, task: TaskSpec, cfg: DatasetConfig
) -> Iterator[tuple[Any, Path | None]]:
    if info.source == "hf":
        for row in iter_hf_rows(
            path=info.id,
            config=info.config,
            split=info.split,
            revision=info.revision,
            image_column=task.columns.image,
            streaming=cfg.streaming is not False,
        ):
            yield row, None
    elif info.release is not None:
        found = release_files(info.release, Path(info.id), info.split)
        assert found is not None  # describe_source found the layout
        yield from found[0].rows(found[1])
    else:
        yield from iter_local_rows(Path(info.id))


@dataclass
class RowCount:
    """How many dataset rows a stream read, and whether it read them all."""

    rows: int = 0
    complete: bool = False
    """The source ran out (not stopped by ``dataset.limit`` or by the consumer)."""
    kept: int = 0
    """Rows a subset list named (every row read when there is none)."""
    left_out: int = 0
    """Rows ``dataset.where`` left out (SEED-Bench's video questions)."""


def _split_samples(
    task: TaskSpec, cfg: DatasetConfig, info: SourceInfo
) -> Callable[[str], Iterator[Sample]]:
    """A function streaming the usable samples of a split of the same source (few-shot pools).

    A local source has one set of files: every split name reads them.
    """
    whole = replace(cfg, limit=None)

    def stream(split: str) -> Iterator[Sample]:
        other = info
        if split != info.split and info.source != "local":
            other = describe_source(task, replace(whole, split=split))
        for item in iter_items(task, whole, other, fewshot=False):
            if item.sample is not None:
                yield item.sample

    return stream


def iter_items(
    task: TaskSpec,
    cfg: DatasetConfig,
    info: SourceInfo,
    count: RowCount | None = None,
    *,
    fewshot: bool = True,
    images: bool = True,
    shard: Shard | None = None,
) -> Iterator[Item]:
    """Stream the task's items, at most ``cfg.limit`` of them; ``count`` tallies the rows read.

    ``images=False``: rows need not carry their images (:func:`row_to_samples`).
    ``shard``: the rows of other parts are ``elsewhere`` items, by id only when a row is one
    sample (their images are not read), counted toward the limit all the same.

    A circular task's question is kept whole: its last question may take the run a few
    samples past the limit, never short of one of its passes.

    With ``task.fewshot.k`` set (and ``fewshot``), each sample carries its in-context examples.
    """
    pool = FewShotPool.load(task, info.split, _split_samples(task, cfg, info)) if fewshot else None
    for item in _iter_items(task, cfg, info, count, images=images, shard=shard):
        sample = item.sample
        if pool is not None and sample is not None:
            try:
                shown = pool.choose(sample)
            except DataError as exc:
                item = Item(item.sample_id, error=exc)
            else:
                item = Item(item.sample_id, sample=replace(sample, examples=shown))
        yield item


def _iter_items(
    task: TaskSpec,
    cfg: DatasetConfig,
    info: SourceInfo,
    count: RowCount | None = None,
    *,
    images: bool = True,
    shard: Shard | None = None,
) -> Iterator[Item]:
    produced = 0
    by_id = not explodes(task)  # one sample per row: another part's row is named, not read
    count = count if count is not None else RowCount()
    cut = subset_list(task, info.source, info.split) if info.subset else None
    keep = cut.ids if cut is not None else None
    keep_column = task.dataset.subset.column if task.dataset.subset is not None else ""
    joined = None
    if images or needs_pixels(task):  # answers from a file need no joined images (GQA's)
        joined = ImageTable.load(task, cfg, source=info.source, dataset_id=info.id,
                                 split=info.split, revision=info.revision)  # fmt: skip
    for index, (row, base_dir) in enumerate(_rows(info, task, cfg)):
        if cfg.limit is not None and produced >= cfg.limit:
            return
        count.rows = index + 1
        if isinstance(row, DataError):
            mine = shard is None or shard.take()
            items = [Item(f"row-{index}", error=row, elsewhere=not mine)]
        elif (keep is not None and str(row.get(keep_column)) not in keep) or not _wanted(
            row, task, count
        ):
            continue
        else:
            count.kept += 1
            mine = shard is None or shard.take()
            if not mine and by_id:
                items = [Item(row_id(row, task, index), elsewhere=True)]
            else:
                items = _row_items(row, task, index, base_dir, joined, images=images)
            if not mine:  # another part's row: its samples' ids and places, nothing more
                items = [Item(i.sample_id, elsewhere=True) for i in items]
        for item in items:
            # a circular question's passes stay together: the limit never cuts one short
            whole = task.circular and item is not items[0]
            if cfg.limit is not None and produced >= cfg.limit and not whole:
                return
            produced += 1
            yield item
    count.complete = True


def _wanted(row: Any, task: TaskSpec, count: RowCount) -> bool:
    """Whether ``dataset.where`` keeps the row (counted in ``count`` when not).

    A row lacking a filtered column is kept: it becomes its error row.
    """
    for column, values in task.dataset.where.items():
        value = row.get(column)
        if value is not None and str(value) not in values:
            count.left_out += 1
            return False
    return True


def _row_items(
    row: Any, task: TaskSpec, index: int, base_dir: Path | None, joined: ImageTable | None,
    *, images: bool,
) -> list[Item]:  # fmt: skip
    """A row's samples, or the one error item that replaces them."""
    try:
        if joined is not None:
            base_dir = joined.attach(row, task.columns.image)
        return [
            Item(s.id, sample=s)
            for s in row_to_samples(row, task, base_dir=base_dir, index=index, images=images)
        ]
    except DataError as exc:
        return [Item(row_id(row, task, index), error=exc)]


def row_count_record(
    task: TaskSpec, info: SourceInfo, count: RowCount
) -> tuple[dict[str, Any], str | None]:
    """What ``run.json`` records of the rows read, and a warning when a whole Hub split differs.

    ``rows_expected`` is the task's count for the split (``dataset.rows``); ``rows_seen`` is
    the count read, recorded only when the whole split was read; with a subset list,
    ``subset_kept`` is how many rows it named (it warns when some of its ids were not found).

    >>> from evalkit.config import TaskDataset
    >>> spec = TaskSpec(name="t", kind="vqa", dataset=TaskDataset(hf_id="d", rows={"val": 10}))
    >>> info = SourceInfo("hf", "d", None, "val", None)
    >>> row_count_record(spec, info, RowCount(9, complete=True))[1]
    "dataset: read 9 rows of d split 'val', the task expects 10 (its Hub copy has changed?); scores are not comparable with runs over the expected rows"
    """  # noqa: E501
    expected = task.dataset.rows.get(info.split)
    seen = count.rows if count.complete else None
    record: dict[str, Any] = {"rows_expected": expected, "rows_seen": seen}
    if task.dataset.where:  # how many rows the task's filter left out (SEED-Bench's videos)
        record["where"] = dict(task.dataset.where)
        record["rows_left_out"] = count.left_out if count.complete else None
    warnings: list[str] = []
    if info.source == "hf" and expected is not None and seen is not None and seen != expected:
        revision = f" at {info.revision}" if info.revision else ""
        warnings.append(
            f"dataset: read {seen} rows of {info.id}{revision} split '{info.split}', the task "
            f"expects {expected} (its Hub copy has changed?); scores are not comparable with "
            "runs over the expected rows"
        )
    if info.subset is not None:
        kept = count.kept if count.complete else None
        record["subset_kept"] = kept
        if kept is not None and info.subset_ids is not None and kept < info.subset_ids:
            warnings.append(
                f"dataset: {info.subset} names {info.subset_ids} ids, the split holds {kept} "
                "of them; the rest were not scored"
            )
    return record, "; ".join(warnings) or None

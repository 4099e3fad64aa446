"""The short story of a run: plan → open → schedule → record → aggregate → report.

Samples stream in; at most ``limits.concurrency`` are in flight; each finished sample is
appended to the run's journal at once, so a crash keeps what finished. A sample whose data or
request fails is a row with ``error_type`` and a one-line ``error``, never a crash and never
scored. Each step is a part that can be called alone (:mod:`evalkit.run`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from evalkit.backends.base import Backend, backend_record, needs_images
from evalkit.backends.retry import in_flight_for
from evalkit.compose.tasks import prompt_families
from evalkit.config import RunConfig, TaskSpec, check_ranges
from evalkit.dataset import (
    SPLIT_COLUMN,
    Item,
    RowCount,
    SourceInfo,
    describe_sources,
    expected_samples,
    iter_run_items,
    plan_shard,
    row_count_record,
)
from evalkit.dataset.shards import Shard
from evalkit.errors import (
    ConfigError,
    DataError,
    DiskFull,
    EvalkitError,
    Interrupted,
    is_disk_full,
)
from evalkit.judge.judge import judge_line, open_judge
from evalkit.prompt import plan_rendering
from evalkit.run.interrupt import Interrupt
from evalkit.run.progress import progress_bar
from evalkit.run.record import Recorder, Tally, ask
from evalkit.run.schedule import schedule
from evalkit.run.scoring import ScoringPlan, plan_scoring
from evalkit.run.session import RunSession, open_session
from evalkit.runfolder.manifest import (
    PARTIAL_NAME,
    CacheInfo,
    CostInfo,
    Counts,
    RunManifest,
    Timing,
    package_versions,
    to_jsonable,
    write_manifest,
)
from evalkit.runfolder.positions import write_positions
from evalkit.runfolder.schema import sample_schema
from evalkit.runfolder.summary import format_table, write_summary
from evalkit.runfolder.writer import SampleWriter
from evalkit.score.aggregate import MetricValue

__all__ = ["RunOutcome", "cost_rows", "run"]

_log = logging.getLogger("evalkit")


@dataclass
class RunOutcome:
    """What a finished run produced."""

    run_dir: Path
    run_id: str
    n_samples: int = 0
    n_failed: int = 0
    summary: list[MetricValue] = field(default_factory=list)


def _number(
    items: Iterator[Item], order: dict[str, int], own: set[str] | None = None,
    elsewhere: Callable[[str], None] | None = None,
) -> Iterator[Item]:  # fmt: skip
    """Record each item's stream position; a repeated id becomes an error row with a new id.

    Another shard's items are numbered too (so positions and repeated ids are the whole
    run's), told to ``elsewhere`` and left out; ``own`` collects the ids passed on.
    """
    for item in items:
        if item.sample_id in order:
            error = DataError(f"duplicate sample id '{item.sample_id}'")
            item = Item(f"{item.sample_id}~dup{len(order)}", error=error,
                        elsewhere=item.elsewhere)  # fmt: skip
        order[item.sample_id] = len(order)
        if item.elsewhere:
            if elsewhere is not None:
                elsewhere(item.sample_id)
            continue
        if own is not None:
            own.add(item.sample_id)
        yield item


def _dataset_record(
    task: TaskSpec, infos: list[SourceInfo], counts: list[RowCount]
) -> tuple[dict[str, Any], list[str]]:
    """``run.json``'s ``dataset`` and the warnings about row counts.

    The record holds the source and the rows read; with several splits, each split's too.
    """
    records = [row_count_record(task, i, c) for i, c in zip(infos, counts, strict=True)]
    warnings = [w for _, w in records if w]
    if len(infos) == 1:
        return {**to_jsonable(infos[0]), **records[0][0]}, warnings
    splits = [{"split": i.split, "subset": i.subset, "subset_ids": i.subset_ids, **r}
              for i, (r, _) in zip(infos, records, strict=True)]  # fmt: skip

    def total(key: str) -> int | None:
        values = [r.get(key) for r in splits]
        return None if None in values else sum(int(v) for v in values if v is not None)

    first = to_jsonable(infos[0])
    return {
        **first,
        "split": "+".join(i.split for i in infos),
        "splits": splits,
        "rows_expected": total("rows_expected"),
        "rows_seen": total("rows_seen"),
        **({"rows_left_out": total("rows_left_out")} if task.dataset.where else {}),
    }, warnings


def cost_rows(
    tally: Tally, session: RunSession, judge: dict[str, Any] | None = None
) -> list[MetricValue]:
    """The summary's cost totals (in run.json's ``cost.currency``; cached answers are saved).

    With a judge (its ``run.json`` record), its own totals too (``judge_cost_*``, in
    ``judge.cost.currency``).
    """
    known = session.priced
    rows = [
        MetricValue(name, value if known else None, None, None, tally.n, tally.failed, "cost")
        for name, value in (("cost_spent", tally.cost_spent), ("cost_saved", tally.cost_saved))
    ]
    if judge is not None:
        rows += [MetricValue(f"judge_cost_{k}", judge["cost"][k], None, None, judge["asked"],
                             judge["failed"], "cost") for k in ("spent", "saved")]  # fmt: skip
    return rows


def _manifest(
    cfg: RunConfig, *, run_id: str, scoring: ScoringPlan, data: dict[str, Any],
    session: RunSession, recorder: Recorder, summary: list[MetricValue], started: datetime,
    wall: float, overrides: list[str], failed: str | None,
    interrupted: str | None, budget: str | None, versions: dict[str, str | None],
    shard: dict[str, Any] | None = None, judge: dict[str, Any] | None = None,
) -> RunManifest:  # fmt: skip
    tally, calls, price = recorder.tally, session.calls, session.price
    known = session.priced
    return RunManifest(
        run_id=run_id,
        task=cfg.task.name,
        kind=cfg.task.kind,
        backend=session.backend.identity,
        overrides=overrides,
        config=cfg,
        dataset={**data, "samples": tally.n},
        scoring=scoring.record(recorder.aggregator.unparsed),
        results={r.metric: r.value for r in summary if r.kind == "metric"},
        counts=Counts(tally.n, tally.failed, tally.skipped, dict(tally.errors)),
        usage=tally.usage,
        cost=CostInfo(
            currency=price.currency if price else None,
            spent=round(tally.cost_spent, 6) if known else None,
            saved=round(tally.cost_saved, 6) if known else None,
            max_cost=cfg.limits.max_cost,
            price=price,
        ),
        cache=CacheInfo(
            cfg.cache.mode.value,
            session.cache_path,
            calls.tally.hits,
            calls.tally.misses,
            calls.tally.saved,
        ),  # fmt: skip
        timing=Timing(
            started=started.isoformat(),
            finished=datetime.now(UTC).isoformat(),
            wall_s=round(wall, 3),
            samples_per_s=round(tally.n / wall, 3) if wall > 0 else None,
        ),
        aborted=failed,
        interrupted=interrupted,
        budget=budget,
        versions=versions,
        backend_record=backend_record(session.backend),
        shard=shard,
        judge=judge,
    )


def _shard_record(shard: Shard | None, *, wall: float | None = None) -> dict[str, Any] | None:
    """``run.json``'s ``shard``: the part, its rule, and where and how long it ran."""
    if shard is None:
        return None
    record = {**shard.record(), "host": socket.gethostname(), "worker": os.getpid(),
              "attempts": 1}  # fmt: skip
    return record if wall is None else {**record, "wall_s": round(wall, 3)}


def _nothing_to_evaluate(infos: list[SourceInfo], counts: list[RowCount]) -> str:
    """Why a run read no sample at all: an empty source, or a subset list that kept none."""
    where = " + ".join(f"{i.id} split '{i.split}'" for i in infos)
    rows = sum(c.rows for c in counts)
    cut = [i for i in infos if i.subset is not None]
    if rows and cut:
        return (f"no sample to evaluate: {cut[0].subset} names {cut[0].subset_ids} ids and none "
                f"of the {rows} rows of {where} is among them")  # fmt: skip
    return f"no sample to evaluate: {where} has no rows"


def _budget_note(cfg: RunConfig, tally: Tally) -> str | None:
    """How ``limits.max_cost`` stopped the run, when it left samples unsent."""
    if not tally.skipped:
        return None
    return (f"limits.max_cost={cfg.limits.max_cost:g} reached; {tally.skipped} of {tally.n} "
            "samples were not sent (Skipped rows); raise it and run again to send "
            "them")  # fmt: skip


async def run(
    cfg: RunConfig, run_dir: Path, *, overrides: list[str] | None = None,
    backend: Backend | None = None,
) -> RunOutcome:  # fmt: skip
    """Evaluate ``cfg.task`` with ``cfg.backend`` and write the run folder ``run_dir``.

    ``backend``: one already open to use (and leave open), instead of opening ``cfg.backend``.

    A full disk is one :class:`~evalkit.errors.DiskFull` line: the rows recorded so far stay
    in the folder's journal (``evalkit rescore`` seals it once there is room) and the answers
    received are in the cache, so running the command again resumes.
    """
    try:
        return await _run(cfg, run_dir, overrides=overrides, backend=backend)
    except (OSError, sqlite3.Error) as exc:
        if not is_disk_full(exc):
            raise
        where = getattr(exc, "filename", None) or run_dir
        if (run_dir / "run.json").exists():
            after = f"{run_dir} is sealed"
        elif (run_dir / PARTIAL_NAME).exists():
            after = (f"the rows recorded so far are in {run_dir} (evalkit rescore {run_dir} "
                     "seals them once there is room)")  # fmt: skip
        else:
            after = "nothing of the run was recorded yet"
        raise DiskFull(
            f"no space left on the device of {where}: {after}; answers already received are "
            "in the cache, so running the command again resumes"
        ) from exc


async def _run(
    cfg: RunConfig, run_dir: Path, *, overrides: list[str] | None = None,
    backend: Backend | None = None,
) -> RunOutcome:  # fmt: skip
    task = cfg.task
    infos = describe_sources(task, cfg.dataset)
    check_ranges(cfg)  # compose() checked; a RunConfig built in code is checked here
    plan = plan_rendering(task, cfg.backend, prompt_families)
    scoring = plan_scoring(task, cfg.dataset, cfg.report, plan)
    metrics, keep = scoring.metrics, scoring.keep
    for metric in metrics:
        if metric.corpus is not None:
            metric.corpus.require()  # before any model call: the scores would be lost otherwise
    aggregator = scoring.aggregator()
    shard = plan_shard(cfg.shard.count, cfg.shard.index, task, cfg.dataset, infos)
    if task.circular_passes is not None and cfg.dataset.limit is not None:
        _log.warning(
            "dataset.limit=%d reads the first rows only: a question's other circular passes "
            "are rows further on (ids %d apart), so %s_circular judges the passes read",
            cfg.dataset.limit, task.circular_passes, metrics[0].column,
        )  # fmt: skip

    run_dir.mkdir(parents=True, exist_ok=True)
    async with (
        open_session(cfg, log_dir=run_dir, backend=backend) as session,
        open_judge(
            cfg, cache=session.calls.cache, cache_mode=cfg.cache.mode, log_dir=run_dir
        ) as judge,
    ):
        if plan.params.min_tokens and not session.backend.takes_min_tokens:
            _log.warning(
                "prompt '%s' asks for at least %d new tokens; backend %s has no such "
                "parameter, so answers may be shorter than the protocol's",
                cfg.backend.prompt_family,
                plan.params.min_tokens,
                session.backend.identity.name,
            )
        started = datetime.now(UTC)
        run_id = f"{task.name}-{started:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        versions = package_versions()
        write_manifest(run_dir, {  # replaced by run.json when sealed; rescore seals from it
            "run_id": run_id, "task": task.name, "kind": task.kind,
            "backend": session.backend.identity, "overrides": overrides or [], "config": cfg,
            "dataset": to_jsonable(infos[0] if len(infos) == 1 else infos),
            "timing": {"started": started.isoformat()}, "versions": versions,
            "shard": _shard_record(shard),
        }, name=PARTIAL_NAME)  # fmt: skip
        judged = judge is not None
        writer = SampleWriter(run_dir, sample_schema(scoring.columns, judged=judged), meta=keep,
                              flush_every=cfg.report.flush_every)  # fmt: skip
        recorder = Recorder(
            run_id=run_id, task=task.name, session=session, parser=scoring.parser, metrics=metrics,
            writer=writer, aggregator=aggregator, keep=keep,
            max_error_rate=cfg.limits.max_error_rate, judged=judged,
        )  # fmt: skip
        clock = time.perf_counter()
        expected = [expected_samples(task, cfg.dataset, i) for i in infos]  # limit: per split
        total = None if None in expected else sum(n for n in expected if n is not None)
        total = shard.expected(total) if shard is not None else total
        recorder.progress = bar = progress_bar(
            total, enabled=cfg.report.progress, interval_s=cfg.report.progress_every_s
        )
        counts = [RowCount() for _ in infos]
        rows = iter_run_items(task, cfg.dataset, infos, counts,
                              images=needs_images(session.backend), shard=shard)  # fmt: skip
        own: set[str] | None = set() if shard is not None else None  # a shard's ids only
        # optional: a backend that keeps account of its answers (replay) learns the others'
        elsewhere = getattr(session.backend, "asked_elsewhere", None) if shard else None
        items = _number(rows, recorder.tally.order, own, elsewhere)
        # the first SIGINT/SIGTERM stops the asking; GRACE_S later, what is in flight is cancelled
        interrupt = Interrupt(on_grace_over=lambda: asking.cancel(), run_dir=run_dir)
        asking = asyncio.ensure_future(schedule(
            items, partial(ask, plan=plan, session=session, judge=judge, parser=scoring.parser),
            recorder.record,
            workers=in_flight_for(session.backend, cfg.limits.concurrency),
            stop=lambda: recorder.aborted is not None or interrupt.signal is not None,
            halts=lambda answer: answer.stop is not None,
        ))  # fmt: skip
        try:
            with interrupt:
                try:
                    await asking
                except asyncio.CancelledError:
                    if interrupt.signal is None:
                        raise  # the run itself was cancelled: not ours to seal
        finally:
            asking.cancel()
            bar.close()
            writer.flush()

    tally = recorder.tally
    interrupted = interrupt.signal
    failed = recorder.aborted or (f"interrupted by {interrupted}" if interrupted else None)
    failed = failed or tally.error_rate_exceeded(cfg.limits.max_error_rate, minimum=1)
    failed = failed or (judge.coverage_failure() if judge is not None else None)
    judged_by = judge.record() if judge is not None else None  # run.json's judge, made once
    empty = None if tally.n or interrupted else _nothing_to_evaluate(infos, counts)
    if empty and shard is not None and any(c.rows for c in counts):
        _log.warning("shard %d of %d holds none of the run's %d samples", shard.index,
                     shard.count, len(recorder.tally.order))  # fmt: skip
        empty = None  # a part left empty by a small run is still a part: merge expects it
    failed = failed or empty
    budget = _budget_note(cfg, tally)
    corpus = [m.column for m in metrics if m.corpus is not None]
    if corpus and cfg.report.progress and tally.n:  # seconds of Java after "100%": say so
        print(f"scoring: {', '.join(corpus)} over {tally.n} answers (corpus metrics: the PTB "
              "tokenizer and METEOR run in Java)", file=sys.stderr, flush=True)  # fmt: skip
    aggregation = aggregator.finish()
    writer.close(updates=aggregation.per_sample, order=recorder.tally.order)
    if shard is not None:
        order = recorder.tally.order
        write_positions(run_dir, {i: order[i] for i in own or ()})
    summary = aggregation.rows
    write_summary(run_dir, run_id=run_id, task=task.name,
                  rows=[*summary, *cost_rows(recorder.tally, session, judged_by)])  # fmt: skip
    wall = time.perf_counter() - clock
    data, rows_warnings = _dataset_record(task, infos, counts)
    for warning in rows_warnings if not failed else ():
        _log.warning(warning)
    write_manifest(run_dir, _manifest(
        cfg, run_id=run_id, scoring=scoring, data=data, session=session,
        recorder=recorder, summary=summary, started=started, wall=wall,
        overrides=overrides or [], failed=failed, interrupted=interrupted, budget=budget,
        versions=versions, shard=_shard_record(shard, wall=wall), judge=judged_by,
    ))  # fmt: skip
    if cfg.report.table and not empty:
        # the overall rows, and each split's when the run read several
        shown = [r for r in summary if r.kind == "metric"
                 or (cfg.dataset.splits and r.group_by == SPLIT_COLUMN)]  # fmt: skip
        print(format_table(task.name, shown))
        errors = ", ".join(f"{k} x{v}" for k, v in tally.errors.most_common())
        skipped = f"  skipped: {tally.skipped}" if tally.skipped else ""
        print(f"samples: {tally.n}  failed: {tally.failed}{f' ({errors})' if errors else ''}"
              f"{skipped}  wall: {wall:.1f}s")  # fmt: skip
        if judged_by is not None:
            print(judge_line(judged_by))
        if budget:
            print(f"stopped by the budget: {budget}")
    elif budget:
        _log.warning("stopped by the budget: %s", budget)
    if empty:
        raise ConfigError(empty)
    if interrupted:
        raise Interrupted(
            f"{interrupted}: {tally.n} samples recorded, sealed in {run_dir}; run the same "
            "command again to resume (answers that arrived come from the cache)"
        )
    if recorder.aborted:
        raise EvalkitError(f"run aborted: {recorder.aborted} (rows so far are in {run_dir})")
    if failed:
        raise EvalkitError(f"run failed: {failed} (rows are in {run_dir}; "
                           "limits.max_error_rate=null keeps such runs)")  # fmt: skip
    return RunOutcome(run_dir, run_id, tally.n, tally.failed,
                      [r for r in summary if r.kind == "metric"])  # fmt: skip

"""The one module that wires a run: dataset → prompt → backend → parse → score → report.

Samples stream in; at most ``limits.concurrency`` are in flight; each finished sample is appended
to the run's journal at once, so a crash keeps what finished. A sample whose data or request
fails is a row with ``error_type`` and a one-line ``error``, never a crash and never scored.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from tqdm import tqdm

from evalkit.backends import Backend, build_backend
from evalkit.backends.budget import Budget
from evalkit.backends.retry import Caller
from evalkit.cache import ResponseCache, cache_path
from evalkit.cache.cached import CachedCaller
from evalkit.config import CacheMode, Price, RunConfig
from evalkit.dataset import Item, describe_source, iter_items
from evalkit.errors import BackendError, BudgetExhausted, ConfigError, DataError, EvalkitError
from evalkit.parse import parse_prediction
from evalkit.prompt import RenderPlan, plan_rendering, render
from evalkit.records import Family, Sample, SampleResult, Usage
from evalkit.report.cost import high_resolution, parse_prices, price_for, usage_cost
from evalkit.report.manifest import package_versions, to_jsonable, write_manifest
from evalkit.report.schema import sample_schema
from evalkit.report.summary import format_table, write_summary
from evalkit.report.writer import SampleWriter
from evalkit.score.captions import require_java
from evalkit.score.metrics import MetricValue, corpus_scores, sample_scores, summarize
from evalkit.tasks import prompt_families

__all__ = ["RunOutcome", "run"]

log = logging.getLogger(__name__)

_MIN_SAMPLES_FOR_ERROR_RATE = 20


@dataclass
class RunOutcome:
    """What a finished run produced."""

    run_dir: Path
    run_id: str
    n_samples: int = 0
    n_failed: int = 0
    summary: list[MetricValue] = field(default_factory=list)


@dataclass
class _Tally:
    """Running totals while samples finish."""

    n: int = 0
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    usage: Usage = Usage()
    unparsed: int = 0
    per_sample: dict[str, dict[str, float]] = field(default_factory=dict)
    """metric → sample id → value."""
    predictions: dict[str, str] = field(default_factory=dict)
    references: dict[str, list[str]] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)
    """sample id → position in the dataset stream."""
    skipped: int = 0
    """Samples not sent because ``limits.max_cost`` was reached."""
    cost_spent: float = 0.0
    cost_saved: float = 0.0


async def _ask(item: Item, *, plan: RenderPlan, caller: CachedCaller) -> SampleResult:
    """Render and ask one item; failures come back as error results, nothing is scored yet."""
    sample = item.sample
    if sample is None:
        error = item.error or DataError("unusable row")
        empty = Sample(id=item.sample_id, images=())
        return SampleResult(empty, None, None, None, {}, error.kind, str(error))
    request = render(sample, plan)
    try:
        completion, hit = await caller.answer(request)
    except (BackendError, BudgetExhausted) as exc:
        return SampleResult(sample, request, None, None, {}, exc.kind, str(exc))
    return SampleResult(sample, request, completion, None, {}, cache_hit=hit)


def _score(result: SampleResult, *, cfg: RunConfig, plan: RenderPlan) -> SampleResult:
    """Parse and score an answered sample."""
    if result.completion is None:
        return result
    prediction = parse_prediction(
        text=result.completion.text,
        family=cfg.task.family,
        sample=result.sample,
        box_format=plan.box_format,
    )
    scores = sample_scores(task=cfg.task, sample=result.sample, prediction=prediction)
    return replace(result, prediction=prediction, scores=scores)


def _row(
    result: SampleResult, *, run_id: str, cfg: RunConfig, backend: Backend, price: Price | None
) -> dict[str, Any]:
    sample, completion, prediction = result.sample, result.completion, result.prediction
    usage = completion.usage if completion else Usage()
    row: dict[str, Any] = {
        "run_id": run_id,
        "task": cfg.task.name,
        "sample_id": sample.id,
        "backend": backend.identity.name,
        "model": backend.identity.model,
        "prompt": result.request.prompt if result.request else None,
        "prediction": completion.text if completion else None,
        "parsed": prediction.answer if prediction else None,
        "references": list(sample.references),
        "pred_box": list(prediction.box) if prediction and prediction.box else None,
        "gold_box": list(sample.box) if sample.box else None,
        "image_width": sample.images[0].width if sample.images else None,
        "image_height": sample.images[0].height if sample.images else None,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "image_tokens": usage.image_tokens,
        "cost": _cost(result, backend, price),
        "latency_s": completion.latency_s if completion else None,
        "ttft_s": completion.ttft_s if completion else None,
        "cache_hit": result.cache_hit,
        "attempts": completion.attempts if completion else None,
        "finish_reason": completion.finish_reason if completion else None,
        "error_type": result.error_type,
        "error": result.error,
    }
    row.update(result.scores)
    return row


def _cost(result: SampleResult, backend: Backend, price: Price | None) -> float | None:
    if result.completion is None:
        return None
    if not backend.cacheable:  # the in-process baseline costs nothing
        return 0.0
    return usage_cost(result.completion.usage, price)


def _record(tally: _Tally, result: SampleResult, family: Family, cost: float | None) -> None:
    tally.n += 1
    if result.error_type == "Skipped":
        tally.skipped += 1
        return
    if not result.ok:
        tally.failed += 1
        tally.errors[result.error_type or "Error"] += 1
        return
    if cost is not None:
        if result.cache_hit:
            tally.cost_saved += cost
        else:
            tally.cost_spent += cost
    if result.completion is not None:
        tally.usage = tally.usage + result.completion.usage
    for metric, value in result.scores.items():
        tally.per_sample.setdefault(metric, {})[result.sample.id] = value
    if family is Family.grounding and result.prediction and result.prediction.box is None:
        tally.unparsed += 1
    if family is Family.captioning and result.prediction is not None:
        tally.predictions[result.sample.id] = result.prediction.answer
        tally.references[result.sample.id] = list(result.sample.references)


class _NoProgress:
    """The progress bar of ``report.progress=false``.

    A disabled tqdm would do, but its first construction costs 7 ms (a multiprocessing lock).
    """

    def update(self, n: int = 1) -> None:
        """Nothing to show."""

    def set_postfix(self, **kwargs: Any) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""


def _progress_bar(cfg: RunConfig) -> tqdm[Any] | _NoProgress:
    if not cfg.report.progress:
        return _NoProgress()
    return tqdm(total=cfg.dataset.limit, unit="sample", file=sys.stderr, dynamic_ncols=True)


def _number(items: Iterator[Item], order: dict[str, int]) -> Iterator[Item]:
    """Record each item's stream position; a repeated id becomes an error row with a new id."""
    for item in items:
        if item.sample_id in order:
            error = DataError(f"duplicate sample id '{item.sample_id}'")
            item = Item(f"{item.sample_id}~dup{len(order)}", error=error)
        order[item.sample_id] = len(order)
        yield item


def _price(cfg: RunConfig, backend: Backend) -> Price | None:
    """The model's price; its absence is a warning, or an error when a budget needs it."""
    price = price_for(backend.identity.model, parse_prices(cfg.pricing.models))
    if price is None and backend.cacheable:
        model = backend.identity.model
        if cfg.limits.max_cost is not None:
            raise ConfigError(
                f"limits.max_cost needs a price for model '{model}': add it to "
                f"configs/pricing.yaml or with '+pricing.models.{model}={{...}}'"
            )
        log.warning("no price for model '%s' in configs/pricing.yaml: cost is not tallied", model)
    return price


def _budget(cfg: RunConfig, backend: Backend, price: Price | None) -> Budget | None:
    if cfg.limits.max_cost is None or price is None or not backend.cacheable:
        return None  # no cap, or nothing to pay for
    return Budget(
        cfg.limits.max_cost,
        price,
        backend.identity.model,
        high_resolution=high_resolution(cfg.backend),
    )


async def run(cfg: RunConfig, run_dir: Path, *, overrides: list[str] | None = None) -> RunOutcome:
    """Evaluate ``cfg.task`` with ``cfg.backend`` and write the run folder ``run_dir``."""
    task = cfg.task
    info = describe_source(task, cfg.dataset)
    plan = plan_rendering(task, cfg.backend, prompt_families())
    if task.family is Family.captioning:
        require_java()  # before any model call: the scores would be lost otherwise
    if cfg.limits.concurrency < 1:
        raise ConfigError(f"limits.concurrency must be >= 1, got {cfg.limits.concurrency}")
    backend = build_backend(cfg.backend, task, plan.box_format)
    try:
        price = _price(cfg, backend)
    except ConfigError:
        await backend.aclose()
        raise
    cache = None
    if backend.cacheable and cfg.cache.mode is not CacheMode.off:
        cache = ResponseCache(cache_path(cfg.cache.path))
    caller = CachedCaller(
        Caller(backend, cfg.limits), cache, cfg.cache.mode, _budget(cfg, backend, price)
    )

    run_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    run_id = f"{task.name}-{started:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    writer = SampleWriter(run_dir, sample_schema(task.metrics), flush_every=cfg.report.flush_every)
    tally = _Tally()
    aborted: str | None = None
    clock = time.perf_counter()
    bar = _progress_bar(cfg)
    items = _number(iter_items(task, cfg.dataset, info), tally.order)
    workers = cfg.limits.concurrency
    chunk = max(16, workers)  # items read per trip to the reader thread
    queue: asyncio.Queue[Item | None] = asyncio.Queue(maxsize=2 * chunk)

    async def produce() -> None:
        """Read ahead off the event loop (file or network I/O, image checks)."""
        size = min(8, chunk)  # a short first trip: the first requests leave sooner
        try:
            while True:
                batch = await asyncio.to_thread(list, islice(items, size))
                for item in batch:
                    await queue.put(item)
                if len(batch) < size:
                    break
                size = chunk
        except asyncio.CancelledError:
            raise  # the run is ending and no worker waits for an end marker
        except BaseException:
            await end_markers()
            raise  # after the workers are told: the run re-raises it
        await end_markers()

    async def end_markers() -> None:
        for _ in range(workers):  # one per worker
            await queue.put(None)

    def record(answered: SampleResult) -> None:
        nonlocal aborted
        result = _score(answered, cfg=cfg, plan=plan)
        row = _row(result, run_id=run_id, cfg=cfg, backend=backend, price=price)
        writer.append(row)
        _record(tally, result, task.family, row["cost"])
        bar.update(1)
        bar.set_postfix(errors=tally.failed, tokens=_tokens(tally.usage), refresh=False)
        aborted = aborted or _error_rate_exceeded(tally, cfg)

    # Workers only ask; one recorder parses, scores and journals. A worker whose answer came
    # sends its next request at once, and the bookkeeping runs while requests are in flight
    # rather than before them (at C=64 the answers of a round arrive together).
    answered: asyncio.Queue[SampleResult] = asyncio.Queue()

    async def work() -> None:
        """One of ``concurrency`` workers: take an item, ask, hand the answer on."""
        while (item := await queue.get()) is not None and aborted is None:
            answered.put_nowait(await _ask(item, plan=plan, caller=caller))

    async def recorder() -> None:
        while True:
            record(await answered.get())

    producer = asyncio.create_task(produce())
    recording = asyncio.create_task(recorder())
    pool = [asyncio.create_task(work()) for _ in range(workers)]
    asking = asyncio.gather(*pool)
    try:
        either: list[asyncio.Future[Any]] = [asking, recording]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if recording.done():
            recording.result()  # the recorder only ends by failing: that failure is the run's
        await asking
        if aborted is None:
            await producer  # re-raises a reader failure
    finally:
        for task_ in (asking, producer, recording):  # cancelling the gather cancels the pool
            task_.cancel()
        # collect every outcome (a failure worth raising was raised above)
        await asyncio.gather(asking, producer, recording, return_exceptions=True)
        recorder_failed = recording.done() and not recording.cancelled()
        while not recorder_failed and not answered.empty():  # answered is not lost
            record(answered.get_nowait())
        bar.close()
        await backend.aclose()
        if cache is not None:
            cache.close()
        writer.flush()

    in_dataset_order = sorted(tally.predictions, key=tally.order.__getitem__)
    corpus = corpus_scores(
        task=task,
        predictions={i: tally.predictions[i] for i in in_dataset_order},
        references={i: tally.references[i] for i in in_dataset_order},
        resamples=cfg.report.bootstrap,
        confidence=cfg.report.confidence,
        seed=cfg.report.seed,
    )
    tally.per_sample.update(corpus.per_image)
    writer.close(updates=corpus.per_image, order=tally.order)
    in_order = {
        metric: [v for _, v in sorted(by_id.items(), key=lambda kv: tally.order[kv[0]])]
        for metric, by_id in tally.per_sample.items()
    }
    summary = summarize(
        task=task,
        per_sample=in_order,
        corpus=corpus,
        n_failed=tally.failed,
        resamples=cfg.report.bootstrap,
        confidence=cfg.report.confidence,
        seed=cfg.report.seed,
    )
    priced = price is not None or not backend.cacheable
    totals = [
        MetricValue(
            "cost_spent", tally.cost_spent if priced else None, None, None, tally.n, tally.failed
        ),
        MetricValue(
            "cost_saved", tally.cost_saved if priced else None, None, None, tally.n, tally.failed
        ),
    ]  # in run.json's cost.currency; cached answers are saved, not spent
    write_summary(run_dir, run_id=run_id, task=task.name, rows=[*summary, *totals])
    wall = time.perf_counter() - clock
    write_manifest(
        run_dir,
        {
            "run_id": run_id,
            "task": task.name,
            "family": task.family,
            "backend": backend.identity,
            "overrides": overrides or [],
            "config": cfg,
            "dataset": {**to_jsonable(info), "samples": tally.n},
            "scoring": {
                "metrics": task.metrics,
                "vqa_mode": task.vqa_mode if task.family is Family.vqa else None,
                "anls_threshold": task.anls_threshold if task.family is Family.docvqa else None,
                "box_format": plan.box_format if task.family is Family.grounding else None,
                "unparsed_boxes": tally.unparsed if task.family is Family.grounding else None,
                "unavailable": ["SPICE"] if task.family is Family.captioning else [],
            },
            "results": {r.metric: r.value for r in summary},
            "counts": {
                "samples": tally.n,
                "failed": tally.failed,
                "skipped": tally.skipped,
                "errors": dict(tally.errors),
            },
            "usage": tally.usage,
            "cost": {
                "currency": price.currency if price else None,
                "spent": round(tally.cost_spent, 6) if price or not backend.cacheable else None,
                "saved": round(tally.cost_saved, 6) if price or not backend.cacheable else None,
                "max_cost": cfg.limits.max_cost,
                "price": price,
            },
            "cache": {
                "mode": cfg.cache.mode,
                "path": str(cache.path) if cache is not None else None,
                "hits": caller.tally.hits,
                "misses": caller.tally.misses,
                "saved_tokens": caller.tally.saved,
            },
            "timing": {
                "started": started.isoformat(),
                "finished": datetime.now(UTC).isoformat(),
                "wall_s": round(wall, 3),
                "samples_per_s": round(tally.n / wall, 3) if wall > 0 else None,
            },
            "aborted": aborted,
            "versions": package_versions(),
        },
    )
    if cfg.report.table:
        print(format_table(task.name, summary))
        print(f"samples: {tally.n}  failed: {tally.failed}  wall: {wall:.1f}s")
    if aborted:
        raise EvalkitError(f"run aborted: {aborted} (rows so far are in {run_dir})")
    return RunOutcome(run_dir, run_id, tally.n, tally.failed, summary)


def _tokens(usage: Usage) -> int:
    return (usage.input_tokens or 0) + (usage.output_tokens or 0)


def _error_rate_exceeded(tally: _Tally, cfg: RunConfig) -> str | None:
    limit = cfg.limits.max_error_rate
    if limit is None or tally.n < _MIN_SAMPLES_FOR_ERROR_RATE:
        return None
    rate = tally.failed / tally.n
    if rate <= limit:
        return None
    top = ", ".join(f"{k} x{v}" for k, v in tally.errors.most_common(2))
    return (
        f"{tally.failed} of {tally.n} samples failed "
        f"({rate:.0%} > limits.max_error_rate={limit}): {top}"
    )

"""``evalkit rescore RUN_DIR``: score a finished run again with the current scorers.

Every prediction is parsed and scored again from the raw text saved in ``samples.parquet`` by
the task's parser and metrics (a judge's recorded verdicts stand: a grade, an extraction),
through the same parts a run uses (``run.record.score_result``,
``score.aggregate.Aggregator``); the corpus metrics, the per-group rows and the summary are
recomputed and the three files rewritten. No backend is called. ``run.json`` records when and
with which package versions it was rescored. Run folders of format 1 (before metrics had
parameters) are read too, and written back in the current format.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from evalkit.compose.tasks import prompt_families
from evalkit.config import RunConfig
from evalkit.errors import ConfigError
from evalkit.judge.base import Verdict, apply_verdict
from evalkit.judge.protocols import PROTOCOLS
from evalkit.prompt import plan_rendering
from evalkit.records import Completion, ImageRef, Sample, SampleResult
from evalkit.run.record import score_result
from evalkit.run.scoring import plan_scoring
from evalkit.runfolder.manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    PARTIAL_NAME,
    Scoring,
    package_versions,
    to_jsonable,
    write_manifest,
)
from evalkit.runfolder.read import read_run
from evalkit.runfolder.rows import rows_to_table
from evalkit.runfolder.schema import kept_type, sample_schema
from evalkit.runfolder.summary import SUMMARY_NAME, read_summary, write_summary
from evalkit.runfolder.writer import JOURNAL_NAME, SAMPLES_NAME, read_samples
from evalkit.score.aggregate import MetricValue

__all__ = ["Scored", "rescore", "score_rows", "scoring_record", "seal_unfinished"]


def _sample(row: dict[str, Any], keep: list[str]) -> Sample:
    """The sample as the row recorded it: ids, references, gold box, kept columns, image size.

    A multiple-choice sample's options come back in the order it showed them.
    """
    width, height = row.get("image_width"), row.get("image_height")
    images = (ImageRef.size_only(int(width), int(height)),) if width and height else ()
    box = list(row["gold_box"]) if row.get("gold_box") else None
    meta = {name: row.get(name) for name in keep}
    gold = (box[0], box[1], box[2], box[3]) if box is not None and len(box) == 4 else None
    options = tuple(str(o) for o in row.get("choices") or ())
    references = tuple(row["references"] or ())
    return Sample(row["sample_id"], images, "", references, gold, meta, options)


def seal_unfinished(run_dir: Path) -> None:
    """Seal a folder whose run ended without sealing it (a second Ctrl-C, a kill, a crash).

    The journal's complete batches become ``samples.parquet`` (in the order they finished);
    ``run.json`` is made from ``run.partial.json`` with the counts, usage, cost and cache hits
    of those rows, and says how the run ended. :func:`rescore` then scores it as any run.
    """
    partial = read_run(run_dir, unsealed=True).manifest
    journal = run_dir / JOURNAL_NAME
    if journal.exists() and journal.stat().st_size == 0:  # it died before its first write
        table = sample_schema([]).empty_table()
    else:
        table = read_samples(run_dir)
    rows = table.to_pylist()
    kinds = Counter(str(r["error_type"]) for r in rows if r.get("error_type"))
    skipped = kinds.pop("Skipped", 0)
    answered = [r for r in rows if not r.get("error_type")]

    def total(column: str, chosen: list[dict[str, Any]] = answered) -> float | None:
        values: list[float] = [r[column] for r in chosen if r.get(column) is not None]
        return sum(values) if values else None

    spent = total("cost", [r for r in answered if not r.get("cache_hit")])
    saved = total("cost", [r for r in answered if r.get("cache_hit")])
    now = datetime.now(UTC).isoformat()
    manifest = {
        **partial,
        "dataset": {**(partial.get("dataset") or {}), "samples": len(rows)}
        if isinstance(partial.get("dataset"), dict) else {"samples": len(rows)},
        "results": {},
        "counts": {"samples": len(rows), "failed": sum(kinds.values()), "skipped": skipped,
                   "errors": dict(kinds)},
        "usage": {k: total(k) for k in ("input_tokens", "output_tokens", "image_tokens")},
        "cost": {"spent": spent, "saved": saved},
        "cache": {"hits": sum(1 for r in rows if r.get("cache_hit"))},
        "timing": {**(partial.get("timing") or {}), "finished": now},
        "aborted": "the run ended without sealing its folder (a second Ctrl-C, a kill, a crash or "
                   f"a full disk); evalkit rescore sealed the {len(rows)} rows it had recorded",
        "interrupted": None,
    }  # fmt: skip
    tmp = run_dir / (SAMPLES_NAME + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(run_dir / SAMPLES_NAME)
    (run_dir / JOURNAL_NAME).unlink(missing_ok=True)
    write_manifest(run_dir, manifest)


@dataclass
class Scored:
    """Rows scored again from their saved answers, and what they add up to."""

    table: pa.Table
    """The rows with parsed answers and metric columns recomputed."""
    summary: list[MetricValue]
    """Every summary row (overall, per group, circular), cost rows left out."""
    scoring: Scoring
    """``run.json``'s ``scoring`` for these rows."""


def score_rows(table: pa.Table, config: RunConfig) -> Scored:
    """Parse and score every answered row of ``table`` again, as the run ``config`` would.

    The one scoring of saved rows: ``rescore`` (a run folder again) and ``merge`` (shards'
    rows joined) both come here, so a corpus metric, a group row or a bootstrap interval is
    computed over all the rows given, in their order, exactly as a run computes it.
    """
    task = config.task
    plan = plan_scoring(task, config.dataset, config.report,
                        plan_rendering(task, config.backend, prompt_families))  # fmt: skip
    metrics, aggregator = plan.metrics, plan.aggregator()
    rows = table.to_pylist()
    judged = "judge_asked" in table.schema.names
    kind = PROTOCOLS[task.judge.protocol].kind if task.judge is not None else "extract"
    keep = [name for name in plan.keep if name in table.schema.names]
    columns = plan.columns
    for position, row in enumerate(rows):
        row.update(dict.fromkeys(columns))
        sample = _sample(row, keep)
        if row["error_type"] is not None:
            if row["error_type"] != "Skipped":
                aggregator.add_failed(sample.meta, sample.id)
            else:
                aggregator.leave_out(sample.id)
            continue
        text = row["prediction"] or ""
        prediction = None
        if judged and row.get("judge_asked") and row.get("judge_verdict") is not None:
            # the judge's recorded verdict stands (``evalkit rejudge`` asks again)
            verdict = Verdict(row["judge_verdict"], row["judge_score"], row.get("judge_reference"))
            prediction = apply_verdict(plan.parser(text, sample), verdict, kind)
        answered = SampleResult(sample, None, Completion(text), prediction, {})
        result = score_result(answered, parser=plan.parser, metrics=metrics)
        assert result.prediction is not None
        row["parsed"] = result.prediction.answer
        row["pred_box"] = list(result.prediction.box) if result.prediction.box else None
        row.update(result.scores)
        aggregator.add_scored(sample.id, position, result.scores, answer=result.prediction.answer,
                              references=sample.references, meta=sample.meta,
                              parsed=result.prediction.parsed)  # fmt: skip
    aggregation = aggregator.finish()
    for row in rows:
        for column, by_id in aggregation.per_sample.items():
            row[column] = by_id.get(row["sample_id"], row[column])
    meta_types = {name: kept_type(name) for name in keep}
    scored = rows_to_table(rows, sample_schema(columns, meta_types, judged=judged))
    return Scored(scored, aggregation.rows, plan.record(aggregator.unparsed))


def scoring_record(old: dict[str, Any] | None, scoring: Scoring) -> dict[str, Any]:
    """``run.json``'s ``scoring`` after rows were scored again (old keys dropped)."""
    merged = {**(old or {}), **to_jsonable(scoring)}
    for stale in ("vqa_mode", "anls_threshold", "unparsed_boxes"):
        merged.pop(stale, None)
    return merged


def rescore(run_dir: Path) -> list[MetricValue]:
    """Rescore ``run_dir`` in place and return the new metric rows."""
    samples_path = run_dir / SAMPLES_NAME
    if not (run_dir / MANIFEST_NAME).exists() and (run_dir / PARTIAL_NAME).exists():
        seal_unfinished(run_dir)
    if not (run_dir / MANIFEST_NAME).exists() or not samples_path.exists():
        raise ConfigError(
            f"{run_dir} is not a finished run folder (needs run.json and samples.parquet)"
        )
    folder = read_run(run_dir)
    manifest = dict(folder.manifest)
    task = folder.config.task
    scored = score_rows(folder.samples, folder.config)
    tmp = samples_path.with_suffix(".parquet.tmp")
    pq.write_table(scored.table, tmp)
    tmp.replace(samples_path)

    summary = scored.summary
    old = read_summary(run_dir) if (run_dir / SUMMARY_NAME).exists() else []
    costs = [r for r in old if r.kind == "cost"]  # cost totals carry over unchanged
    write_summary(run_dir, run_id=manifest["run_id"], task=task.name, rows=[*summary, *costs])
    manifest["format_version"] = FORMAT_VERSION
    manifest["results"] = {r.metric: r.value for r in summary if r.kind == "metric"}
    manifest["scoring"] = scoring_record(manifest.get("scoring"), scored.scoring)
    manifest.setdefault("rescored", []).append(
        {"at": datetime.now(UTC).isoformat(), "versions": package_versions()}
    )
    write_manifest(run_dir, manifest)
    return [r for r in summary if r.kind == "metric"]

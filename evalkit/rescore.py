"""``python -m evalkit.rescore RUN_DIR``: score a finished run again with the current scorers.

Every prediction is parsed and scored again from the raw text saved in ``samples.parquet``,
the corpus metrics and the summary are recomputed, and the three files are rewritten; no
backend is called. ``run.json`` records when and with which package versions it was rescored.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pyarrow.parquet as pq

from evalkit.config import RunConfig
from evalkit.errors import ConfigError, EvalkitError
from evalkit.parse import parse_prediction
from evalkit.records import Family, ImageRef, Sample
from evalkit.report.manifest import MANIFEST_NAME, package_versions, write_manifest
from evalkit.report.rows import rows_to_table
from evalkit.report.schema import sample_schema
from evalkit.report.summary import SUMMARY_NAME, format_table, write_summary
from evalkit.report.writer import SAMPLES_NAME
from evalkit.score.metrics import MetricValue, corpus_scores, sample_scores, summarize

__all__ = ["main", "rescore"]


def _config(manifest: dict[str, Any]) -> RunConfig:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        node = OmegaConf.merge(OmegaConf.structured(RunConfig), manifest["config"])
        return cast(RunConfig, OmegaConf.to_object(node))
    except (KeyError, OmegaConfBaseException) as exc:
        raise ConfigError(f"run.json has no usable config: {exc}") from exc


def _sample(row: dict[str, Any]) -> Sample:
    width, height = row.get("image_width"), row.get("image_height")
    images = (ImageRef(b"", int(width), int(height), "PNG"),) if width and height else ()
    box = tuple(row["gold_box"]) if row.get("gold_box") else None
    return Sample(row["sample_id"], images, "", tuple(row["references"] or ()), box)


def rescore(run_dir: Path) -> list[MetricValue]:
    """Rescore ``run_dir`` in place and return the new summary."""
    manifest_path, samples_path = run_dir / MANIFEST_NAME, run_dir / SAMPLES_NAME
    if not manifest_path.exists() or not samples_path.exists():
        raise ConfigError(
            f"{run_dir} is not a finished run folder (needs run.json and samples.parquet)"
        )
    manifest = json.loads(manifest_path.read_text())
    cfg = _config(manifest)
    task = cfg.task
    box_format = (manifest.get("scoring") or {}).get("box_format") or "pixel"
    rows = pq.read_table(samples_path).to_pylist()
    per_sample: dict[str, list[float]] = {m: [] for m in task.metrics}
    predictions: dict[str, str] = {}
    references: dict[str, list[str]] = {}
    n_failed = 0
    for row in rows:
        for metric in task.metrics:
            row[metric] = None
        if row["error_type"] is not None:
            n_failed += row["error_type"] != "Skipped"
            continue
        sample = _sample(row)
        prediction = parse_prediction(
            text=row["prediction"] or "", family=task.family, sample=sample, box_format=box_format
        )
        row["parsed"] = prediction.answer
        row["pred_box"] = list(prediction.box) if prediction.box else None
        for metric, value in sample_scores(task=task, sample=sample, prediction=prediction).items():
            row[metric] = value
            per_sample[metric].append(value)
        if task.family is Family.captioning:
            predictions[row["sample_id"]] = prediction.answer
            references[row["sample_id"]] = list(sample.references)
    corpus = corpus_scores(task=task, predictions=predictions, references=references,
                           resamples=cfg.report.bootstrap, confidence=cfg.report.confidence,
                           seed=cfg.report.seed)  # fmt: skip
    for metric, by_id in corpus.per_image.items():
        per_sample[metric] = [by_id[r["sample_id"]] for r in rows if r["sample_id"] in by_id]
        for row in rows:
            row[metric] = by_id.get(row["sample_id"], row[metric])
    summary = summarize(task=task, per_sample=per_sample, corpus=corpus, n_failed=n_failed,
                        resamples=cfg.report.bootstrap, confidence=cfg.report.confidence,
                        seed=cfg.report.seed)  # fmt: skip
    table = rows_to_table(rows, sample_schema(task.metrics))
    tmp = samples_path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    tmp.replace(samples_path)
    kept = (
        [  # rows that are not scores (cost totals) carry over unchanged
            MetricValue(r["metric"], r["value"], r["ci_low"], r["ci_high"], r["n"], r["n_failed"])
            for r in pq.read_table(run_dir / SUMMARY_NAME).to_pylist()
            if r["metric"] not in task.metrics
        ]
        if (run_dir / SUMMARY_NAME).exists()
        else []
    )
    write_summary(run_dir, run_id=manifest["run_id"], task=task.name, rows=[*summary, *kept])
    manifest["results"] = {r.metric: r.value for r in summary}
    manifest.setdefault("rescored", []).append(
        {"at": datetime.now(UTC).isoformat(), "versions": package_versions()}
    )
    write_manifest(run_dir, manifest)
    return summary


def main(argv: list[str] | None = None) -> None:
    """Rescore each run folder given on the command line."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m evalkit.rescore RUN_DIR [RUN_DIR ...]", file=sys.stderr)
        sys.exit(2)
    for arg in args:
        try:
            summary = rescore(Path(arg))
        except EvalkitError as exc:
            print(f"evalkit: error: {exc}", file=sys.stderr)
            sys.exit(2)
        print(format_table(json.loads((Path(arg) / MANIFEST_NAME).read_text())["task"], summary))
        print(f"rescored: {arg}")


if __name__ == "__main__":
    main()

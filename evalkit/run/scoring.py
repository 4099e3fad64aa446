"""``plan_scoring(...)``: how a run's answers are read and scored, decided once.

A run and ``evalkit rescore`` both call it: the parser, the metrics with the prompt family's
parameters, the columns kept and grouped by, the aggregator and the ``run.json`` record of
all of it. So a rescored folder is scored by the very rules its run used.
"""

from __future__ import annotations

from dataclasses import dataclass

from evalkit.compose.tasks import task_metrics
from evalkit.config import DatasetConfig, ReportConfig, TaskSpec
from evalkit.dataset import run_grouping
from evalkit.parse import Parser, build_parser
from evalkit.prompt import RenderPlan
from evalkit.runfolder.manifest import Scoring
from evalkit.score.aggregate import Aggregator
from evalkit.score.registry import Metric

__all__ = ["ScoringPlan", "plan_scoring"]


@dataclass(frozen=True)
class ScoringPlan:
    """Everything a run decides about scoring before its first answer."""

    reader: str
    """The parser's name (``answer``, ``caption``, ``box``, ...)."""
    parser: Parser
    metrics: list[Metric]
    keep: list[str]
    """The dataset columns each row keeps."""
    group_by: list[str]
    """The kept columns the summary groups by."""
    render: RenderPlan
    """The prompt, the model family and the box convention the answers were asked with."""
    report: ReportConfig
    circular: bool
    passes: int | None
    """``task.circular_passes``: passes are rows whose ids agree modulo it."""
    summary: str | None = None
    """``task.summary``: the benchmark's extra rows (:mod:`evalkit.score.summaries`)."""

    @property
    def columns(self) -> list[str]:
        """The per-sample metric columns, in the task's order (a derived metric has none)."""
        return [m.column for m in self.metrics if not m.kind.derived]

    def aggregator(self) -> Aggregator:
        """A fresh aggregator for the summary (bootstrap, grouping, circular questions)."""
        return Aggregator(self.metrics, group_by=self.group_by, resamples=self.report.bootstrap,
                          confidence=self.report.confidence, seed=self.report.seed,
                          circular=self.circular, passes=self.passes,
                          summary=self.summary)  # fmt: skip

    def record(self, unparsed: int) -> Scoring:
        """``run.json``'s ``scoring``: what a comparison of two runs must check first."""
        unavailable = sorted({u for m in self.metrics if m.corpus for u in m.corpus.unavailable})
        return Scoring(self.reader, self.render.family.name, self.render.box_format,
                       [m.describe() for m in self.metrics], list(self.group_by), unparsed,
                       unavailable)  # fmt: skip


def plan_scoring(
    task: TaskSpec, data: DatasetConfig, report: ReportConfig, render: RenderPlan
) -> ScoringPlan:
    """The scoring of ``task`` for answers asked as ``render`` plans (checked now)."""
    keep, group_by = run_grouping(task, data)
    reader = task.parser_for(render.prompt)
    metrics = task_metrics(task, render.prompt)  # the prompt family may re-parameterise them
    parser = build_parser(reader, family=render.family, box_format=render.box_format)
    return ScoringPlan(reader, parser, metrics, keep, group_by, render, report, task.circular,
                       task.circular_passes, task.summary)  # fmt: skip

"""Rows → metric values: per-sample means, corpus scores, per-group rows, with intervals.

The one place a run's numbers are made. A run feeds it each finished sample as it is recorded;
``rescore`` feeds it the rows of a finished run; merging shards and comparing runs will feed it
rows from several folders. It keeps, per sample, only the metric values (and, for corpus
metrics, the answer text and references), never images.

Summary rows have a ``kind``: ``metric`` (one per task metric, over every scored sample),
``group`` (one per metric and value of each ``group_by`` field, as the official VQA script's
``perAnswerType``; corpus metrics are reported overall only) and, added by the run, ``cost``.
Values are averaged in dataset order, so the bootstrap draws, and with them the intervals,
do not depend on which answer arrived first.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from evalkit.score.bootstrap import bootstrap_mean_ci
from evalkit.score.registry import Metric
from evalkit.score.summaries import SUMMARIES, Scored

__all__ = ["Aggregation", "Aggregator", "Kind", "MetricValue", "group_values"]

Kind = Literal["metric", "group", "cost"]


@dataclass(frozen=True, slots=True)
class MetricValue:
    """One row of ``summary.parquet``."""

    metric: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    """Samples the value is computed over."""
    n_failed: int
    """Failed samples (error rows), left out of the value."""
    kind: Kind = "metric"
    group_by: str | None = None
    """For ``group`` rows: the field grouped by (``answer_type``)."""
    group: str | None = None
    """For ``group`` rows: the field's value (``yes/no``)."""


@dataclass
class Aggregation:
    """What :meth:`Aggregator.finish` returns."""

    rows: list[MetricValue]
    """Metric rows (in the task's order), then group rows."""
    per_sample: dict[str, dict[str, float]] = field(default_factory=dict)
    """Corpus metric column → sample id → that sample's share (e.g. per-image CIDEr)."""


def _question(sample_id: str, passes: int | None = None) -> str:
    """The question a circular pass belongs to.

    evalkit's rotation: ``q7#c2`` → ``q7``. Passes that are rows (``passes``, MMBench's
    release): the id modulo ``passes``, a split's prefix kept.

    >>> _question("q7#c2"), _question("2001234", 10**6), _question("dev/1000017", 10**6)
    ('q7', '1234', 'dev/17')
    """
    if passes is None:
        head, mark, tail = sample_id.rpartition("#c")
        return head if mark and tail.isdigit() else sample_id
    prefix, slash, number = sample_id.rpartition("/")
    if not number.isdigit():
        return sample_id
    return f"{prefix}{slash}{int(number) % passes}"


def group_values(value: Any) -> list[str]:
    """The groups a kept value puts its sample in: each item of a list, else the value.

    >>> group_values(["form", "table"]), group_values("yes/no"), group_values(None)
    (['form', 'table'], ['yes/no'], [])
    """
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v is not None]
    return [str(value)]


@dataclass
class _Sample:
    position: int
    scores: dict[str, float]
    groups: dict[str, list[str]]


class Aggregator:
    """Accumulate scored and failed samples; :meth:`finish` makes the summary."""

    def __init__(
        self,
        metrics: Sequence[Metric],
        *,
        group_by: Sequence[str] = (),
        resamples: int = 1000,
        confidence: float = 0.95,
        seed: int = 0,
        circular: bool = False,
        passes: int | None = None,
        summary: str | None = None,
    ) -> None:
        self.metrics = list(metrics)
        self.summary = SUMMARIES[summary] if summary else None
        """The benchmark's extra rows (:mod:`evalkit.score.summaries`), when it has some."""
        self._metas: dict[str, Mapping[str, Any]] = {}
        self._failed_metas: list[Mapping[str, Any]] = []
        self.circular = circular or passes is not None
        """Samples are passes of questions: ``<id>#c<k>`` (``task.circular``), or rows whose
        ids agree modulo ``passes`` (``task.circular_passes``)."""
        self.passes = passes
        self._failed_questions: set[str] = set()
        self.group_by = list(group_by)
        self.resamples, self.confidence, self.seed = resamples, confidence, seed
        self.n_failed = 0
        self.unparsed = 0
        self._scored: dict[str, _Sample] = {}
        self._failed_groups: Counter[tuple[str, str]] = Counter()
        self._texts: dict[str, tuple[int, str, tuple[str, ...]]] = {}
        """Corpus inputs: sample id → (position, answer, references)."""

    @property
    def n_scored(self) -> int:
        """Samples scored so far."""
        return len(self._scored)

    def _groups(self, meta: Mapping[str, Any]) -> dict[str, list[str]]:
        return {name: group_values(meta.get(name)) for name in self.group_by}

    def add_scored(
        self,
        sample_id: str,
        position: int,
        scores: Mapping[str, float | None],
        *,
        answer: str = "",
        references: Sequence[str] = (),
        meta: Mapping[str, Any] | None = None,
        parsed: bool = True,
    ) -> None:
        """One answered sample: its per-sample values (``None`` for corpus metrics)."""
        values = {k: v for k, v in scores.items() if v is not None}
        self._scored[sample_id] = _Sample(position, values, self._groups(meta or {}))
        if self.summary is not None:
            self._metas[sample_id] = {k: (meta or {}).get(k) for k in self.summary.needs}
        if any(m.corpus is not None for m in self.metrics):
            self._texts[sample_id] = (position, answer, tuple(references))
        self.unparsed += not parsed

    def add_failed(
        self, meta: Mapping[str, Any] | None = None, sample_id: str | None = None
    ) -> None:
        """One failed sample (an error row): counted, never scored."""
        self.n_failed += 1
        if self.summary is not None:
            self._failed_metas.append({k: (meta or {}).get(k) for k in self.summary.needs})
        if sample_id is not None:
            self._failed_questions.add(_question(sample_id, self.passes))
        for name, values in self._groups(meta or {}).items():
            for value in values:
                self._failed_groups[name, value] += 1

    def leave_out(self, sample_id: str) -> None:
        """A sample neither scored nor failed (skipped by the budget).

        Its circular question cannot be judged.
        """
        self._failed_questions.add(_question(sample_id, self.passes))

    def _mean_row(self, column: str, values: Sequence[float], n_failed: int,
                  **where: Any) -> MetricValue:  # fmt: skip
        value = sum(values) / len(values) if values else None
        low, high = bootstrap_mean_ci(
            values, resamples=self.resamples, confidence=self.confidence, seed=self.seed
        )
        return MetricValue(column, value, low, high, len(values), n_failed, **where)

    def _corpus(self) -> tuple[dict[str, MetricValue], dict[str, dict[str, float]]]:
        rows: dict[str, MetricValue] = {}
        per_sample: dict[str, dict[str, float]] = {}
        scorers = {m.kind.corpus: m.corpus for m in self.metrics if m.corpus is not None}
        ordered = sorted(self._texts.items(), key=lambda kv: kv[1][0])
        for scorer in scorers.values():
            assert scorer is not None
            if not ordered:
                continue
            result = scorer.compute(
                predictions={i: answer for i, (_, answer, _) in ordered},
                references={i: list(refs) for i, (_, _, refs) in ordered},
                resamples=self.resamples,
                confidence=self.confidence,
                seed=self.seed,
            )
            for metric in self.metrics:
                if metric.corpus is scorer and metric.name in result.corpus:
                    low, high = result.intervals.get(metric.name, (None, None))
                    rows[metric.column] = MetricValue(
                        metric.column, result.corpus[metric.name], low, high,
                        len(ordered), self.n_failed,
                    )  # fmt: skip
                    per_sample[metric.column] = result.per_image[metric.name]
        return rows, per_sample

    def finish(self) -> Aggregation:
        """The summary rows and the corpus metrics' per-sample values."""
        corpus_rows, per_sample = self._corpus()
        ordered = sorted(self._scored.values(), key=lambda s: s.position)
        rows: list[MetricValue] = []
        for metric in self.metrics:
            if metric.corpus is not None:
                rows.append(
                    corpus_rows.get(metric.column)
                    or MetricValue(metric.column, None, None, None, 0, self.n_failed)
                )
                continue
            if metric.kind.derived:
                continue
            values = [s.scores[metric.column] for s in ordered if metric.column in s.scores]
            rows.append(self._mean_row(metric.column, values, self.n_failed))
        rows = self._with_derived(rows, len(ordered), self.n_failed)
        if self.circular:
            rows.extend(self._circular_rows())
        rows.extend(self._group_rows(ordered))
        if self.summary is not None:
            by_position = sorted(self._scored.items(), key=lambda kv: kv[1].position)
            scored = [Scored(i, s.scores, self._metas.get(i, {})) for i, s in by_position]
            for row in self.summary.rows(scored, self._failed_metas):
                rows.append(MetricValue(row["metric"], row["value"], None, None, row["n"],
                                        row.get("n_failed", 0), row.get("kind", "metric"),
                                        row.get("group_by"), row.get("group")))  # fmt: skip
        return Aggregation(rows, per_sample)

    def _with_derived(self, rows: list[MetricValue], n: int, n_failed: int,
                      **where: Any) -> list[MetricValue]:  # fmt: skip
        """``rows`` (one scope: overall, or a group) with the derived metrics in task order.

        A derived metric (POPE's F1) is its ``combine`` of its sources' values in the same
        scope; it has no interval (its sources have theirs).
        """
        if not any(m.kind.derived for m in self.metrics):
            return rows
        by_column = {r.metric: r for r in rows}
        out = []
        for metric in self.metrics:
            if metric.kind.derived:
                values = [by_column[c].value if c in by_column else None for c in metric.sources]
                combine = metric.kind.combine
                value = combine(*values) if combine is not None else None
                out.append(MetricValue(metric.column, value, None, None, n, n_failed, **where))
            elif metric.column in by_column:
                out.append(by_column[metric.column])
        return out

    def _circular_rows(self) -> list[MetricValue]:
        """MMBench's CircularEval: a question is right only when every pass of it is right.

        A question with a failed pass is left out (counted in ``n_failed``), as a question
        whose passes are not all answered cannot be judged. Passes that are rows are judged
        as VLMEvalKit's ``mcq_circular_eval`` does: the questions whose first pass (the id
        below ``passes``) was read, over the passes read.
        """
        passes: dict[str, list[_Sample]] = defaultdict(list)
        for sample_id, sample in self._scored.items():
            passes[_question(sample_id, self.passes)].append(sample)
        judged = sorted(
            ((min(s.position for s in group), question, group)
             for question, group in passes.items() if question not in self._failed_questions
             and (self.passes is None or question in self._scored)),
        )  # fmt: skip
        rows = []
        for metric in self.metrics:
            if metric.corpus is not None or metric.kind.derived or metric.kind.conditional:
                continue
            values = [min(s.scores.get(metric.column, 0.0) for s in group)
                      for _, _, group in judged]  # fmt: skip
            rows.append(self._mean_row(f"{metric.column}_circular", values,
                                       len(self._failed_questions)))  # fmt: skip
        return rows

    def _group_rows(self, ordered: Iterable[_Sample]) -> list[MetricValue]:
        by_group: dict[tuple[str, str], list[_Sample]] = defaultdict(list)
        for sample in ordered:
            for name, groups in sample.groups.items():
                for group in groups:
                    by_group[name, group].append(sample)
        keys = set(by_group) | set(self._failed_groups)
        rows = []
        for name in self.group_by:
            for group in sorted(v for n, v in keys if n == name):
                members = by_group.get((name, group), [])
                failed = self._failed_groups[name, group]
                scope: list[MetricValue] = []
                for metric in self.metrics:
                    if metric.corpus is not None or metric.kind.derived:
                        continue
                    values = [s.scores[metric.column] for s in members
                              if metric.column in s.scores]  # fmt: skip
                    scope.append(self._mean_row(metric.column, values, failed, kind="group",
                                                group_by=name, group=group))  # fmt: skip
                rows += self._with_derived(scope, len(members), failed, kind="group",
                                           group_by=name, group=group)  # fmt: skip
        return rows

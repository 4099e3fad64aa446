"""Two runs of the same tasks → per-metric paired differences, tests, flips and the gate.

For every metric of every task both runs have, over the pairs answered on both sides:
the two values, the difference (candidate minus base), a paired bootstrap interval of the
difference and a two-sided p-value:

* per-sample metrics: the exact McNemar test when every value is 0 or 1, else the paired
  sign-flip permutation test (:mod:`evalkit.compare.stats`);
* corpus metrics (CIDEr, BLEU, ...): the corpus score recomputed on both sides for every
  resample of images (the same resample on both sides), and a permutation test that swaps
  the two captions of each image at random.

**The gate** (``fail_on_drop``): the run fails (exit 1) when a gated metric fell by more than
its ``max_drop`` and the fall is significant: its p-value, Holm-adjusted over all gated
metrics, is below ``alpha``. Gated metrics are all metrics unless named. The rule is part of
the result, so the printed output explains the exit status by itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evalkit.compare.align import (
    Pairing,
    column_values,
    judge_differences,
    match_runs,
    pair_samples,
    scoring_differences,
)
from evalkit.compare.stats import (
    holm,
    is_binary,
    mcnemar_exact,
    monte_carlo_p,
    paired_bootstrap_ci,
    sign_flip_test,
)
from evalkit.errors import ConfigError, did_you_mean
from evalkit.runfolder.read import RunFolder
from evalkit.score.bootstrap import percentile_interval
from evalkit.score.registry import CORPUS_SCORERS

__all__ = [
    "Comparison",
    "Flip",
    "Gate",
    "MetricDiff",
    "Options",
    "TaskComparison",
    "compare_pair",
    "compare_runs",
]


@dataclass(frozen=True)
class Options:
    """How a comparison resamples, what it lists, and what input it accepts."""

    resamples: int = 2000
    """Bootstrap resamples for the intervals (0: none)."""
    permutations: int = 10_000
    """Monte Carlo permutations, when no exact test applies."""
    seed: int = 0
    worst: int = 10
    """Flipped samples listed per task."""
    allow_mismatch: bool = False
    """Compare runs whose scoring or data differ (noted, not refused)."""
    failed_as_zero: bool = False
    """Keep the pairs where a side failed and score the failed side 0 (an empty caption for
    corpus metrics) instead of leaving them out."""


@dataclass(frozen=True)
class Gate:
    """When ``evalkit compare --fail-on-drop`` exits 1."""

    fail_on_drop: bool = False
    max_drop: float = 0.0
    """Largest tolerated fall, in the metric's units (0.02 = two points of accuracy)."""
    max_drop_by_metric: Mapping[str, float] = field(default_factory=dict)
    """Per-metric overrides of ``max_drop``."""
    alpha: float = 0.05
    metrics: Sequence[str] = ()
    """Metrics gated (names or ``task/metric``); empty: every metric."""

    def drop_for(self, metric: str, task: str = "") -> float:
        """The tolerated fall for ``metric`` (of ``task``: ``task/metric`` wins)."""
        by = self.max_drop_by_metric
        return by.get(f"{task}/{metric}", by.get(metric, self.max_drop))

    def gates(self, task: str, metric: str) -> bool:
        """Whether ``metric`` of ``task`` is gated."""
        return not self.metrics or metric in self.metrics or f"{task}/{metric}" in self.metrics

    def rule(self, n_gated: int) -> str:
        """The rule in one sentence, as the output prints it."""
        if not self.fail_on_drop:
            return "no gate (--fail-on-drop not given): the exit status is 0 whatever the result"
        drops = ", ".join(f"{m} {v:g}" for m, v in self.max_drop_by_metric.items())
        tolerated = f"{self.max_drop:g}" + (f" ({drops})" if drops else "")
        return (
            f"exit 1 if a gated metric fell by more than {tolerated} and the fall is significant "
            f"(two-sided p, Holm-adjusted over {n_gated} gated metric(s), below {self.alpha:g}); "
            "otherwise exit 0"
        )


@dataclass
class MetricDiff:
    """One metric of one task, compared. The JSON output's fields are these names."""

    task: str
    metric: str
    base: float | None
    cand: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float
    """Two-sided, unadjusted."""
    test: str
    n_pairs: int
    n_better: int
    """Pairs where the candidate scored higher (per-image share for corpus metrics)."""
    n_worse: int
    gated: bool
    p_adjusted: float | None = None
    """Holm-adjusted over the gated metrics (gated metrics only)."""
    significant: bool = False
    """``p_adjusted < alpha`` for gated metrics, ``p_value < alpha`` otherwise."""
    failed: bool = False
    """This metric trips the gate."""
    corpus: bool = False


@dataclass
class Flip:
    """A sample whose score changed, for a reviewer to read."""

    sample_id: str
    question: str | None
    base_answer: str | None
    cand_answer: str | None
    references: list[str]
    base_score: float
    cand_score: float


@dataclass
class TaskComparison:
    """One task: where the runs are, how the samples paired, each metric and the flips."""

    task: str
    base_path: str
    cand_path: str
    base_model: str
    cand_model: str
    pairing: Pairing
    metrics: list[MetricDiff]
    flip_metric: str | None
    """The metric the flips are counted on (the task's first)."""
    n_right_to_wrong: int = 0
    """Pairs that went down on ``flip_metric`` (right → wrong for a 0/1 metric)."""
    n_wrong_to_right: int = 0
    worst: list[Flip] = field(default_factory=list)
    """The samples that went down most, the largest drop first."""
    best: list[Flip] = field(default_factory=list)
    """The samples that went up most, the largest rise first."""
    notes: list[str] = field(default_factory=list)
    base_source: str = ""
    """Where the base run's answers came from (:attr:`RunFolder.source`: a backend, or the
    predictions file a replay read)."""
    cand_source: str = ""


@dataclass
class Comparison:
    """The whole comparison and the gate's verdict."""

    tasks: list[TaskComparison]
    gate: Gate
    notes: list[str]
    n_gated: int
    exit_code: int
    """0: passed (or no gate), 1: a significant drop beyond the tolerance."""

    @property
    def metrics(self) -> list[MetricDiff]:
        """Every compared metric, task by task."""
        return [m for t in self.tasks for m in t.metrics]

    @property
    def failures(self) -> list[MetricDiff]:
        """The metrics that trip the gate."""
        return [m for m in self.metrics if m.failed]


def _float(values: Sequence[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _per_sample_diff(
    task: str,
    column: str,
    base: np.ndarray,
    cand: np.ndarray,
    *,
    options: Options,
    gated: bool,
) -> MetricDiff:
    keep = ~(np.isnan(base) | np.isnan(cand))
    a, b = base[keep], cand[keep]
    n = int(a.size)
    low, high = paired_bootstrap_ci(a, b, resamples=options.resamples, seed=options.seed)
    better, worse = int((b > a).sum()), int((b < a).sum())
    if n and is_binary(a, b):
        p, test = mcnemar_exact(better, worse), "mcnemar-exact"
    else:
        result = sign_flip_test(a, b, resamples=options.permutations, seed=options.seed)
        p, test = result.p_value, result.test
    mean_a = float(a.mean()) if n else None
    mean_b = float(b.mean()) if n else None
    diff = None if mean_a is None or mean_b is None else mean_b - mean_a
    return MetricDiff(task, column, mean_a, mean_b, diff, low, high, p, test, n, better,
                      worse, gated)  # fmt: skip


def _corpus_diffs(
    task: str,
    metrics: Sequence[dict[str, Any]],
    scorer_name: str,
    base: RunFolder,
    cand: RunFolder,
    pairing: Pairing,
    *,
    options: Options,
    gate: Gate,
) -> tuple[list[MetricDiff], dict[str, np.ndarray]]:
    """Corpus metrics, recomputed on the pairs: their diffs and each metric's per-pair shares."""
    scorer = CORPUS_SCORERS[scorer_name]
    if scorer.paired is None:
        raise ConfigError(f"corpus scorer '{scorer_name}' cannot be compared pairwise")
    scorer.require()
    ids = pairing.ids
    refs = column_values(base.samples, "references", pairing.base_index)
    draws = scorer.paired(
        base=dict(zip(ids, (p or "" for p in column_values(base.samples, "prediction",
                                                          pairing.base_index)), strict=True)),
        cand=dict(zip(ids, (p or "" for p in column_values(cand.samples, "prediction",
                                                          pairing.cand_index)), strict=True)),
        references={i: list(r or ()) for i, r in zip(ids, refs, strict=True)},
        resamples=options.resamples, permutations=options.permutations, seed=options.seed,
    )  # fmt: skip
    out, shares = [], {}
    for spec in metrics:
        name, column = str(spec["name"]), str(spec.get("column") or spec["name"])
        a_each = np.array([draws.base_each[name][i] for i in ids])
        b_each = np.array([draws.cand_each[name][i] for i in ids])
        shares[column] = np.stack([a_each, b_each])
        observed = draws.cand[name] - draws.base[name]
        p = monte_carlo_p(draws.null[name], observed)
        low, high = (
            percentile_interval(draws.bootstrap[name], 0.95) if options.resamples else (None, None)
        )
        out.append(MetricDiff(task, column, draws.base[name], draws.cand[name], observed, low,
                              high, p, "permutation-mc", len(ids), int((b_each > a_each).sum()),
                              int((b_each < a_each).sum()), gate.gates(task, column),
                              corpus=True))  # fmt: skip
    return out, shares


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def compare_pair(
    base: RunFolder,
    cand: RunFolder,
    *,
    gate: Gate,
    options: Options = Options(),
) -> TaskComparison:
    """Compare two runs of one task (the gate's adjustment is applied by :func:`compare_runs`)."""
    task = base.task
    notes = []
    differences = scoring_differences(base, cand)
    if differences and not options.allow_mismatch:
        raise ConfigError(
            f"{task}: the runs are not scored alike, so their numbers do not compare: "
            + "; ".join(differences)
            + " (--allow-mismatch compares them anyway)"
        )
    notes += [f"scored differently (allowed): {d}" for d in differences]
    notes += judge_differences(base, cand)  # allowed: rejudge compares judges on purpose
    families = [(r.manifest.get("scoring") or {}).get("prompt_family") for r in (base, cand)]
    if families[0] != families[1]:
        notes.append(f"prompt family: {families[0]} vs {families[1]}")
    for side, run in (("base", base), ("candidate", cand)):
        if run.manifest.get("aborted"):
            notes.append(f"the {side} run stopped early: {run.manifest['aborted']}")
    if not base.metrics:
        raise ConfigError(f"{base.path}: run.json records no metrics (a run folder of format 1); "
                          "run 'evalkit rescore' on both folders first")  # fmt: skip
    pairing = pair_samples(base.samples, cand.samples, keep_failed=options.failed_as_zero)
    if not pairing.ids:
        raise ConfigError(
            f"{task}: no sample was answered in both runs ({pairing.common} in common, "
            f"{pairing.left_out} left out because a side failed), so nothing can be compared"
        )
    if options.failed_as_zero and (any(pairing.base_failed) or any(pairing.cand_failed)):
        notes.append(f"failed samples scored 0: {sum(pairing.base_failed)} in the base, "
                     f"{sum(pairing.cand_failed)} in the candidate")  # fmt: skip
    specs = base.metrics
    diffs: list[MetricDiff] = []
    shares: dict[str, np.ndarray] = {}
    corpus: dict[str, list[dict[str, Any]]] = {}
    for spec in specs:
        column = str(spec.get("column") or spec["name"])
        if spec.get("derived") or spec.get("conditional"):  # no value for every pair
            notes.append(f"{column}: not compared pair by pair (its samples differ by run, or "
                         "it is computed from other metrics); see the summaries")  # fmt: skip
            continue
        if spec.get("corpus"):
            corpus.setdefault(str(spec["corpus"]), []).append(spec)
            continue
        a = _float(column_values(base.samples, column, pairing.base_index))
        b = _float(column_values(cand.samples, column, pairing.cand_index))
        if options.failed_as_zero:
            a[np.array(pairing.base_failed, dtype=bool)] = 0.0
            b[np.array(pairing.cand_failed, dtype=bool)] = 0.0
        shares[column] = np.stack([a, b])
        diffs.append(_per_sample_diff(task, column, a, b, options=options,
                                      gated=gate.gates(task, column)))  # fmt: skip
    for scorer_name, group in corpus.items():
        if not pairing.ids:
            continue
        more, more_shares = _corpus_diffs(task, group, scorer_name, base, cand, pairing,
                                          options=options, gate=gate)  # fmt: skip
        diffs += more
        shares.update(more_shares)
    order = {str(s.get("column") or s["name"]): i for i, s in enumerate(specs)}
    diffs.sort(key=lambda d: order.get(d.metric, len(order)))
    result = TaskComparison(task, str(base.path), str(cand.path), base.model, cand.model,
                            pairing, diffs, None, notes=notes, base_source=base.source,
                            cand_source=cand.source)  # fmt: skip
    if diffs:
        _flips(result, base, cand, shares[diffs[0].metric], options.worst)
    return result


def _flips(
    result: TaskComparison, base: RunFolder, cand: RunFolder, share: np.ndarray, worst: int
) -> None:
    a, b = share
    delta = b - a
    result.flip_metric = result.metrics[0].metric
    result.n_right_to_wrong = int((delta < 0).sum())
    result.n_wrong_to_right = int((delta > 0).sum())
    down = [int(i) for i in np.argsort(delta, kind="stable") if delta[i] < 0][:worst]
    up = [int(i) for i in np.argsort(-delta, kind="stable") if delta[i] > 0][:worst]
    result.worst = _flip_rows(result.pairing, base, cand, a, b, down)
    result.best = _flip_rows(result.pairing, base, cand, a, b, up)


def _flip_rows(pairing: Pairing, base: RunFolder, cand: RunFolder, a: np.ndarray,
               b: np.ndarray, order: list[int]) -> list[Flip]:  # fmt: skip
    """The flips at ``order`` (pair indices), with the base's question and both answers."""
    rows_a = [pairing.base_index[i] for i in order]
    rows_b = [pairing.cand_index[i] for i in order]
    # the question alone (older run folders have only the whole prompt)
    questions = column_values(base.samples, "question", rows_a)
    prompts = column_values(base.samples, "prompt", rows_a)
    answers_a = column_values(base.samples, "prediction", rows_a)
    answers_b = column_values(cand.samples, "prediction", rows_b)
    refs = column_values(base.samples, "references", rows_a)
    return [
        Flip(pairing.ids[i], _text(q if q is not None else p), _text(x), _text(y),
             [str(r) for r in (ref or ())], float(a[i]), float(b[i]))
        for i, q, p, x, y, ref in zip(order, questions, prompts, answers_a, answers_b, refs,
                                      strict=True)
    ]  # fmt: skip


def _check_named_metrics(gate: Gate, tasks: Sequence[TaskComparison]) -> None:
    """Every metric named by ``--metric`` or ``--max-drop NAME=X`` is one both runs have.

    A typo would otherwise gate nothing (or gate the real metric at the default tolerance).
    """
    known = {(t.task, m.metric) for t in tasks for m in t.metrics}
    names = {m for _, m in known} | {f"{t}/{m}" for t, m in known}
    for flag, named in (("--metric", gate.metrics), ("--max-drop", gate.max_drop_by_metric)):
        for name in named:
            if name not in names:
                message = did_you_mean("metric", name, names).replace(
                    "unknown metric", "names a metric that the compared runs do not both have:", 1
                )
                raise ConfigError(f"{flag} {message}")


def compare_runs(
    base: Mapping[str, RunFolder],
    cand: Mapping[str, RunFolder],
    *,
    gate: Gate | None = None,
    options: Options = Options(),
) -> Comparison:
    """Compare the runs of every task both sides have, and apply the gate."""
    gate = gate or Gate()
    pairs, notes = match_runs(dict(base), dict(cand))
    tasks = [compare_pair(a, b, gate=gate, options=options) for a, b in pairs]
    _check_named_metrics(gate, tasks)
    gated = [m for t in tasks for m in t.metrics if m.gated]
    for metric, adjusted in zip(gated, holm([m.p_value for m in gated]), strict=True):
        metric.p_adjusted = adjusted
    failed = False
    for metric in (m for t in tasks for m in t.metrics):
        p = metric.p_adjusted if metric.gated else metric.p_value
        metric.significant = p is not None and p < gate.alpha
        metric.failed = bool(
            gate.fail_on_drop
            and metric.gated
            and metric.diff is not None
            and metric.diff < -gate.drop_for(metric.metric, metric.task)
            and metric.significant
        )
        failed = failed or metric.failed
        if metric.gated and metric.n_pairs == 0:
            raise ConfigError(f"{metric.task}/{metric.metric}: no sample was answered in both "
                              "runs, so nothing can be compared")  # fmt: skip
    return Comparison(tasks, gate, notes, len(gated), 1 if failed else 0)

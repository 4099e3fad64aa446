"""One answered sample → parsed, scored, a row in the journal, counted.

:func:`ask` turns an item into an answered (not yet scored) result; :func:`score_result` parses
and scores it with the task's parser and metrics; :class:`Recorder` does the rest for a run
(the row, the journal, the aggregator, the totals, the error-rate gate).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from evalkit.dataset import Item
from evalkit.errors import BackendError, BudgetExhausted, DataError
from evalkit.judge.base import apply_verdict
from evalkit.judge.judge import Judge, JudgeOutcome
from evalkit.parse import Parser
from evalkit.prompt import RenderPlan, render
from evalkit.records import Sample, SampleResult, Usage
from evalkit.run.session import RunSession
from evalkit.runfolder.writer import SampleWriter
from evalkit.score.aggregate import Aggregator
from evalkit.score.registry import Metric

__all__ = [
    "MIN_SAMPLES_FOR_ERROR_RATE",
    "Recorder",
    "Tally",
    "ask",
    "judge_answer",
    "judge_columns",
    "sample_row",
    "score_result",
]

MIN_SAMPLES_FOR_ERROR_RATE = 20
"""The error-rate gate stops a run early only once this many samples are in."""

log = logging.getLogger(__name__)


async def ask(
    item: Item, *, plan: RenderPlan, session: RunSession, judge: Judge | None = None,
    parser: Parser | None = None,
) -> SampleResult:  # fmt: skip
    """Render and ask one item; failures come back as error results, nothing is scored yet.

    With a ``judge`` (and the ``parser`` whose finding it may replace), the answer is also
    parsed and judged (:func:`judge_answer`).
    """
    sample = item.sample
    if sample is None:
        error = item.error or DataError("unusable row")
        empty = Sample(id=item.sample_id, images=())
        return SampleResult(empty, None, None, None, {}, error.kind, str(error))
    try:
        request = render(sample, plan)
    except DataError as exc:  # what the prompt needs of the sample is missing: its row's error
        return SampleResult(sample, None, None, None, {}, exc.kind, str(exc))
    assert session.sends, "a session opened with send=False cannot ask"
    try:
        answer = await session.calls.answer(request)
    except (BackendError, BudgetExhausted) as exc:
        stop = None
        if isinstance(exc, BackendError) and exc.wholesale:
            hint = session.backend.explain(exc)
            stop = f"{exc.kind}: {exc}" + (f"; {hint}" if hint else "")
        return SampleResult(sample, request, None, None, {}, exc.kind, str(exc), stop=stop)
    answered = SampleResult(sample, request, answer.completion, None, {},
                            cache_hit=answer.cache_hit, cost=answer.cost)  # fmt: skip
    if judge is None:
        return answered
    assert parser is not None, "a judged run parses before it judges"
    return await judge_answer(answered, judge=judge, parser=parser)


async def judge_answer(result: SampleResult, *, judge: Judge, parser: Parser) -> SampleResult:
    """Parse an answered result and ask ``judge`` about it when its mode says so.

    A grader's verdict becomes the prediction's ``judged`` score; an extraction replaces the
    parsed answer (the rules then score it). No verdict: a ``JudgeFailed`` row that keeps the
    answer (and its cost), left out of the metric.
    """
    if result.completion is None or not result.ok:
        return result
    prediction = parser(result.completion.text, result.sample)
    outcome = await judge.ask(result.sample, result.completion.text, prediction)
    if outcome.asked and outcome.verdict is None:
        return replace(result, prediction=prediction, judge=outcome, error_type="JudgeFailed",
                       error=outcome.error, stop=outcome.stop)  # fmt: skip
    if outcome.verdict is not None:
        prediction = apply_verdict(prediction, outcome.verdict, judge.protocol.kind)
    return replace(result, prediction=prediction, judge=outcome)


def score_result(
    result: SampleResult, *, parser: Parser, metrics: Sequence[Metric]
) -> SampleResult:
    """Parse and score an answered sample (corpus metrics are left to the aggregator).

    A prediction already made (a judged answer) is scored as it is.
    """
    if result.completion is None or not result.ok:
        return result
    prediction = result.prediction or parser(result.completion.text, result.sample)
    scores = {}
    for metric in metrics:
        value = metric.score(prediction, result.sample)
        if value is not None:
            scores[metric.column] = value
    return replace(result, prediction=prediction, scores=scores)


def judge_columns(outcome: JudgeOutcome | None) -> dict[str, Any]:
    """The judge's columns of a row (:data:`evalkit.runfolder.schema.JUDGE_COLUMNS`)."""
    if outcome is None:
        return {"judge_asked": None, "judge_verdict": None, "judge_score": None,
                "judge_reference": None, "judge_scores": None, "judge_output": None,
                "judge_input_tokens": None,
                "judge_output_tokens": None, "judge_cost": None, "judge_cache_hit": None,
                "judge_error": None}  # fmt: skip
    verdict = outcome.verdict
    asked = outcome.asked
    return {
        "judge_asked": asked,
        "judge_verdict": verdict.text if verdict else None,
        "judge_score": verdict.score if verdict else None,
        "judge_reference": verdict.reference if verdict else None,
        "judge_scores": list(outcome.scores) if outcome.scores else None,
        "judge_output": outcome.output,
        "judge_input_tokens": outcome.usage.input_tokens if asked else None,
        "judge_output_tokens": outcome.usage.output_tokens if asked else None,
        "judge_cost": outcome.cost if asked else None,
        "judge_cache_hit": outcome.cache_hit if asked else None,
        "judge_error": outcome.error,
    }


def sample_row(
    result: SampleResult, *, run_id: str, task: str, session: RunSession, keep: Sequence[str],
    judged: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """The ``samples.parquet`` row of one result (columns: :mod:`evalkit.runfolder.schema`).

    ``judged``: the run has a judge, and every row its columns.
    """
    sample, completion, prediction = result.sample, result.completion, result.prediction
    usage = completion.usage if completion else Usage()
    identity = session.backend.identity
    row: dict[str, Any] = {
        "run_id": run_id,
        "task": task,
        "sample_id": sample.id,
        "backend": identity.name,
        "model": identity.model,
        "prompt": result.request.prompt if result.request else None,
        "question": sample.question or None,
        "prediction": completion.text if completion else None,
        "parsed": prediction.answer if prediction else None,
        "references": list(sample.references),
        "fewshot_ids": [e.id for e in sample.examples] if sample.examples else None,
        "choices": list(sample.choices) if sample.choices else None,
        "pred_box": list(prediction.box) if prediction and prediction.box else None,
        "gold_box": list(sample.box) if sample.box else None,
        "image_width": sample.images[0].width if sample.images else None,
        "image_height": sample.images[0].height if sample.images else None,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "image_tokens": usage.image_tokens,
        "cost": result.cost,
        "latency_s": completion.latency_s if completion else None,
        "ttft_s": completion.ttft_s if completion else None,
        "batch_size": completion.batch_size if completion else None,
        "cache_hit": result.cache_hit,
        "attempts": completion.attempts if completion else None,
        "finish_reason": completion.finish_reason if completion else None,
        "error_type": result.error_type,
        "error": result.error,
    }
    if judged:
        row.update(judge_columns(result.judge))
    row.update({name: sample.meta.get(name) for name in keep})
    row.update(result.scores)
    return row


@dataclass
class Tally:
    """Running totals while samples finish."""

    n: int = 0
    failed: int = 0
    skipped: int = 0
    """Samples not sent because ``limits.max_cost`` was reached."""
    errors: Counter[str] = field(default_factory=Counter)
    usage: Usage = Usage()
    cost_spent: float = 0.0
    cost_saved: float = 0.0
    order: dict[str, int] = field(default_factory=dict)
    """sample id → position in the dataset stream."""

    def add(self, result: SampleResult, cost: float | None) -> None:
        """Count one recorded result."""
        self.n += 1
        if result.error_type == "Skipped":
            self.skipped += 1
            return
        if not result.ok:
            self.failed += 1
            self.errors[result.error_type or "Error"] += 1
            if result.completion is None:
                return  # nothing was answered; a JudgeFailed row's answer still counts below
        if cost is not None:
            if result.cache_hit:
                self.cost_saved += cost
            else:
                self.cost_spent += cost
        if result.completion is not None:
            self.usage = self.usage + result.completion.usage

    def error_rate_exceeded(
        self, limit: float | None, *, minimum: int = MIN_SAMPLES_FOR_ERROR_RATE
    ) -> str | None:
        """Why the run fails (more than ``limit`` of at least ``minimum`` samples failed)."""
        if limit is None or self.n < max(1, minimum):
            return None
        rate = self.failed / self.n
        if rate <= limit:
            return None
        top = ", ".join(f"{k} x{v}" for k, v in self.errors.most_common(2))
        return (
            f"{self.failed} of {self.n} samples failed "
            f"({rate:.0%} > limits.max_error_rate={limit}): {top}"
        )


class Recorder:
    """Records each answered result of a run: score, row, journal, aggregate, totals."""

    def __init__(
        self,
        *,
        run_id: str,
        task: str,
        session: RunSession,
        parser: Parser,
        metrics: Sequence[Metric],
        writer: SampleWriter,
        aggregator: Aggregator,
        keep: Sequence[str] = (),
        max_error_rate: float | None = None,
        judged: bool = False,
    ) -> None:
        self.run_id, self.task, self.session = run_id, task, session
        self.judged = judged
        """The run has a judge: rows carry its columns."""
        self.parser, self.metrics = parser, list(metrics)
        self.writer, self.aggregator = writer, aggregator
        self.keep = list(keep)
        self.max_error_rate = max_error_rate
        self.tally = Tally()
        self.aborted: str | None = None
        """Why the run stopped early (a wholesale error, the error-rate gate), if it did."""
        self._logged: set[str] = set()
        self.progress: Any = None
        """Anything with ``update(n)`` and ``set_postfix(**kw)`` (a tqdm bar)."""

    def record(self, answered: SampleResult) -> None:
        """Score ``answered`` and append its row; decide whether the run must stop."""
        result = score_result(answered, parser=self.parser, metrics=self.metrics)
        row = sample_row(result, run_id=self.run_id, task=self.task, session=self.session,
                         keep=self.keep, judged=self.judged)  # fmt: skip
        self.writer.append(row)
        tally = self.tally
        tally.add(result, row["cost"])
        position = tally.order.get(result.sample.id, len(tally.order))
        if result.ok and result.prediction is not None:
            self.aggregator.add_scored(
                result.sample.id, position, result.scores, answer=result.prediction.answer,
                references=result.sample.references, meta=result.sample.meta,
                parsed=result.prediction.parsed,
            )  # fmt: skip
        elif not result.ok and result.error_type != "Skipped":
            self.aggregator.add_failed(result.sample.meta, result.sample.id)
        elif not result.ok:
            self.aggregator.leave_out(result.sample.id)  # unsent: its question cannot be judged
        if self.progress is not None:
            self.progress.update(1)
            tokens = (tally.usage.input_tokens or 0) + (tally.usage.output_tokens or 0)
            figures: dict[str, Any] = {"errors": tally.failed, "tokens": tokens}
            if self.session.price is not None:
                figures["cost"] = f"{tally.cost_spent:.4f} {self.session.price.currency}"
            self.progress.set_postfix(**figures, refresh=False)
        kind = result.error_type
        if kind is not None and kind not in self._logged:  # the first of each kind, in full
            self._logged.add(kind)
            log.warning("sample %s: %s: %s (further %s rows are counted in run.json)",
                        result.sample.id, kind, result.error, kind)  # fmt: skip
        if result.stop is not None and self.aborted is None:
            self.aborted = f"stopped at once, no other request can succeed: {result.stop}"
        self.aborted = self.aborted or tally.error_rate_exceeded(self.max_error_rate)

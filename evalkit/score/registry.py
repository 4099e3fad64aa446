"""Metrics as registered objects: a name, parameters, a per-sample function or a corpus scorer.

A task names its metrics with their parameters (``metrics: [{name: anls, threshold: 0.5}]``;
the short form ``[anls]`` takes the defaults); :func:`build_metrics` checks them against the
table below and binds them. Every bound metric is recorded in ``run.json`` with its parameters.
Adding a metric is one entry in :data:`METRICS` (another package adds one through
:mod:`evalkit.registry`'s entry points); nothing else branches on what a task is.

Per-sample metrics go into the sample's row as it finishes and are averaged (with a bootstrap
interval); corpus metrics (CIDEr, BLEU, ...) are computed once over all answered samples by
their corpus scorer, which also returns each sample's share.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from evalkit.config import MetricSpec
from evalkit.errors import ConfigError, ScoreError, did_you_mean
from evalkit.parse.mathvista import meta_text
from evalkit.parse.mme import mme_label
from evalkit.parse.pope import pope_reads_yes
from evalkit.records import Prediction, Sample, option_index
from evalkit.registry import Registry
from evalkit.score.anls import anls
from evalkit.score.captions import (
    CAPTION_METRICS,
    CaptionScores,
    PairedDraws,
    caption_scores_per_image,
    paired_caption_draws,
    require_java,
)
from evalkit.score.exact import EXACT_MODES, exact_match
from evalkit.score.grounding import acc_iou, iou
from evalkit.score.mathvista import normalize_extraction
from evalkit.score.mmmu import open_candidates, open_correct
from evalkit.score.pope import pope_f1
from evalkit.score.relaxed import RELAXED_MODES, relaxed_accuracy
from evalkit.score.vqa import VQA_MODES, vqa_accuracy

__all__ = [
    "CORPUS_SCORERS",
    "METRICS",
    "CorpusScorer",
    "Metric",
    "MetricKind",
    "Param",
    "build_metrics",
]


@dataclass(frozen=True)
class Param:
    """One parameter of a metric: its default, its type, and the values it may take."""

    default: Any
    type: type
    choices: Sequence[Any] = ()
    """Allowed values (empty: any value of the type)."""
    low: float | None = None
    """Smallest allowed value (numbers)."""
    high: float | None = None
    """Largest allowed value (numbers)."""

    def check(self, metric: str, name: str, value: Any) -> Any:
        """``value`` when it fits, else a one-line :class:`ConfigError`."""
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.type) or isinstance(value, bool) is not (self.type is bool):
            raise ConfigError(
                f"metric '{metric}': {name} must be a {self.type.__name__}, got {value!r}"
            )
        if self.choices and value not in self.choices:
            raise ConfigError(
                f"metric '{metric}': {did_you_mean(name, str(value), map(str, self.choices))}"
            )
        number = float(value) if isinstance(value, int | float) else None
        if number is not None and (
            (self.low is not None and number < self.low)
            or (self.high is not None and number > self.high)
        ):
            raise ConfigError(
                f"metric '{metric}': {name}={value!r} is outside [{self.low}, {self.high}]"
            )
        return value


@dataclass(frozen=True)
class CorpusScorer:
    """A computation over the whole corpus that yields several metrics at once."""

    name: str
    compute: Callable[..., CaptionScores]
    """``(predictions=, references=, resamples=, confidence=, seed=) -> CaptionScores``."""
    unavailable: tuple[str, ...] = ()
    """Metrics the official scorer has and this one does not offer (recorded in run.json)."""
    require: Callable[[], None] = lambda: None
    """Raises a one-line MissingDependency when a tool it needs is absent; runs call it before
    any model call, so answers are never paid for and then left unscored."""
    paired: Callable[..., PairedDraws] | None = None
    """``(base=, cand=, references=, resamples=, permutations=, seed=) -> PairedDraws``: both
    runs' corpus scores on the same resamples, for ``evalkit compare``."""


CORPUS_SCORERS: Registry[CorpusScorer] = Registry(
    "corpus scorer",
    {
        "coco-caption": CorpusScorer(
            "coco-caption", caption_scores_per_image, ("SPICE",), require_java, paired_caption_draws
        ),
    },
)
"""Corpus scorer name → scorer. ``coco-caption``: pycocoevalcap's BLEU, METEOR, ROUGE-L, CIDEr."""


@dataclass(frozen=True)
class MetricKind:
    """A registered metric: what it reads and how it is computed."""

    reads: Literal["text", "box"]
    """What of the prediction it compares: the answer text or the box."""
    doc: str
    """One line for listings."""
    params: Mapping[str, Param] = field(default_factory=dict)
    per_sample: Callable[..., float | None] | None = None
    """``(prediction, sample, **params) -> float``, for per-sample metrics."""
    corpus: str | None = None
    """The corpus scorer whose output of the same name is this metric."""
    conditional: bool = False
    """Its per-sample value is ``None`` for a sample outside its denominator (POPE's precision
    counts only the answers read as yes): its mean is over the others, and ``compare`` does
    not pair it sample by sample."""
    derived: tuple[str, ...] = ()
    """Computed from these metrics' values (overall and per group), not per sample: POPE's F1
    from its precision and recall. The task must have them too."""
    combine: Callable[..., float | None] | None = None
    """``(*values of derived) -> value`` for a derived metric."""


def _answers(sample: Sample) -> Sequence[str]:
    return sample.references


def _vqa(prediction: Prediction, sample: Sample, *, mode: str) -> float:
    return vqa_accuracy(prediction=prediction.answer, answers=_answers(sample), mode=mode)


def _anls(prediction: Prediction, sample: Sample, *, threshold: float) -> float:
    return anls(prediction=prediction.answer, answers=_answers(sample), threshold=threshold)


def _relaxed(prediction: Prediction, sample: Sample, *, tolerance: float, mode: str) -> float:
    return relaxed_accuracy(
        prediction=prediction.answer, answers=_answers(sample), tolerance=tolerance, mode=mode
    )


def _exact(prediction: Prediction, sample: Sample, *, mode: str, target: str) -> float:
    answers = _answers(sample)
    if target == "option":  # the text of the option the gold letter names
        if not sample.choices:
            raise ConfigError(f"sample '{sample.id}': target=option needs columns.choices")
        answers = [sample.choices[option_index(letter)] for letter in answers]
    return exact_match(prediction=prediction.answer, answers=answers, mode=mode)


def _mathvista(prediction: Prediction, sample: Sample) -> float:
    meta = sample.meta
    if sample.choices:  # the gold answer is the text of the option its letter names
        gold = sample.choices[option_index(sample.references[0])]
        question_type = "multi_choice"
    else:
        gold = sample.references[0] if sample.references else ""
        question_type = meta_text(meta.get("question_type")) or "free_form"
    normalized = normalize_extraction(
        prediction.answer,
        choices=sample.choices,
        question_type=question_type,
        answer_type=meta_text(meta.get("answer_type")),
        precision=meta_text(meta.get("precision")) or None,
    )
    return float(normalized is not None and normalized == gold)


def _grade(prediction: Prediction, sample: Sample) -> float:
    if prediction.judged is None:
        raise ScoreError(f"sample '{sample.id}' has no judge's grade (the task's judge grades)")
    return prediction.judged


def _mmmu(prediction: Prediction, sample: Sample) -> float:
    """MMMU: the letter read equals the gold one; an open reply's key parts hold the answer."""
    gold = sample.references[0] if sample.references else ""
    if sample.choices:
        return float(prediction.answer == gold)
    return float(open_correct(gold, open_candidates(prediction.answer)))


def _yes_no(prediction: Prediction, sample: Sample) -> float:
    """The yes or no read (or the judge's) against the gold: ``1``/``yes`` or ``0``/``no``.

    A grading judge's verdict (HallusionBench's own correctness check), when there is one,
    is the score.
    """
    if prediction.judged is not None:
        return prediction.judged
    gold = (sample.references[0] if sample.references else "").strip().lower()
    gold = {"1": "yes", "0": "no"}.get(gold, gold)
    return float(prediction.answer.strip().lower() == gold and gold in ("yes", "no"))


def _ocrbench(prediction: Prediction, sample: Sample) -> float:
    """OCRBench: its HME100k rule for that set (the kept ``dataset``), its usual rule else."""
    mode = "ocrbench-hme" if sample.meta.get("dataset") == "HME100k" else "ocrbench"
    return exact_match(prediction=prediction.answer, answers=_answers(sample), mode=mode)


def _mme(prediction: Prediction, sample: Sample) -> float:
    gold = sample.references[0].lower() if sample.references else ""
    return float(mme_label(prediction.answer) == gold)


def _pope(prediction: Prediction, sample: Sample) -> tuple[bool, bool]:
    """(read as yes, labelled yes): the label ``no`` is the negative class."""
    label = sample.references[0] if sample.references else ""
    return pope_reads_yes(prediction.answer), label != "no"


def _pope_accuracy(prediction: Prediction, sample: Sample) -> float:
    said, truth = _pope(prediction, sample)
    return float(said == truth)


def _pope_precision(prediction: Prediction, sample: Sample) -> float | None:
    said, truth = _pope(prediction, sample)
    return float(truth) if said else None


def _pope_recall(prediction: Prediction, sample: Sample) -> float | None:
    said, truth = _pope(prediction, sample)
    return float(said) if truth else None


def _pope_yes(prediction: Prediction, sample: Sample) -> float:
    return float(_pope(prediction, sample)[0])


def _judged_reference(prediction: Prediction, sample: Sample) -> float:
    if prediction.judged_reference is None:
        raise ScoreError(f"sample '{sample.id}' has no judge's grade of its reference answer")
    return prediction.judged_reference


def _relative(reference: float | None, grade: float | None) -> float | None:
    """LLaVA-Bench's relative score: 100 x the mean grade over the mean reference grade."""
    if reference is None or grade is None or reference == 0:
        return None
    return 100 * grade / reference


def _gold(sample: Sample) -> tuple[float, float, float, float]:
    if sample.box is None:
        raise ConfigError(f"sample '{sample.id}' has no gold box: the task needs columns.bbox")
    return sample.box


def _acc_iou(prediction: Prediction, sample: Sample, *, threshold: float) -> float:
    return acc_iou(predicted=prediction.box, gold=_gold(sample), threshold=threshold)


def _iou(prediction: Prediction, sample: Sample) -> float:
    return 0.0 if prediction.box is None else iou(a=prediction.box, b=_gold(sample))


def _acc(threshold: float) -> MetricKind:
    param = Param(threshold, float, low=0.0, high=1.0)
    doc = f"share of boxes with IoU >= {threshold:g} (unparsed: 0)"
    return MetricKind("box", doc, {"threshold": param}, _acc_iou)


METRICS: Registry[MetricKind] = Registry("metric", {
    "vqa_accuracy": MetricKind(
        "text", "VQA accuracy: min(1, matches / 3), leave-one-out over the human answers",
        {"mode": Param("standard", str, tuple(VQA_MODES))}, _vqa,
    ),
    "anls": MetricKind(
        "text", "ANLS: 1 - normalised edit distance, 0 below the threshold tau",
        {"threshold": Param(0.5, float, low=0.0, high=1.0)}, _anls,
    ),
    "relaxed_accuracy": MetricKind(
        "text", "ChartQA relaxed accuracy: numbers within the tolerance, else exact match",
        {"tolerance": Param(0.05, float, low=0.0), "mode": Param("pix2struct", str, RELAXED_MODES)},
        _relaxed,
    ),
    "exact_match": MetricKind(
        "text", "exact match with any gold answer, after the mode's normalisation",
        {"mode": Param("qwen-vl", str, tuple(EXACT_MODES)),
         "target": Param("answer", str, ("answer", "option"))}, _exact,
    ),
    "mathvista_accuracy": MetricKind(
        "text", "MathVista: the answer normalised to the question's type (an option, an integer, "
        "a float at its precision) equals the gold answer", {}, _mathvista,
    ),
    "grade": MetricKind(
        "text", "the judge's grade of the answer, on its protocol's scale (MM-Vet: 0 to 1)",
        {}, _grade,
    ),
    "mmmu_accuracy": MetricKind(
        "text", "MMMU: the option letter its parser read is the gold one; an open reply's key "
        "parts or numbers hold the gold answer (eval_utils.py's eval_open)", {}, _mmmu,
    ),
    "yes_no_accuracy": MetricKind(
        "text", "the yes or no read from the reply (VLMEvalKit's YOrN_Extraction, or the "
        "judge's) is the gold one (1/yes, 0/no), neither read is wrong; or a grading judge's "
        "verdict (HallusionBench's correctness check)", {}, _yes_no,
    ),
    "ocrbench_accuracy": MetricKind(
        "text", "OCRBench: a gold answer contained in the reply (HME100k: spaces removed, case "
        "kept; the rest: lower-cased); x1000 over the 1,000 questions is its final score",
        {}, _ocrbench,
    ),
    "mme_accuracy": MetricKind(
        "text", "MME: the reply read as yes/no/other (calculation.py's rule) equals the label",
        {}, _mme,
    ),
    "pope_accuracy": MetricKind(
        "text", "POPE: the answer read as yes/no (evaluate.py's rule) equals the label",
        {}, _pope_accuracy,
    ),
    "pope_precision": MetricKind(
        "text", "POPE: of the answers read as yes, the share labelled yes", {}, _pope_precision,
        conditional=True,
    ),
    "pope_recall": MetricKind(
        "text", "POPE: of the questions labelled yes, the share answered yes", {}, _pope_recall,
        conditional=True,
    ),
    "pope_f1": MetricKind(
        "text", "POPE: F1 of pope_precision and pope_recall", derived=("pope_precision",
        "pope_recall"), combine=pope_f1,
    ),
    "pope_yes_ratio": MetricKind(
        "text", "POPE: the share of answers read as yes", {}, _pope_yes,
    ),
    "reference_grade": MetricKind(
        "text", "the judge's grade of the reference answer (LLaVA-Bench's Assistant 1)", {},
        _judged_reference,
    ),
    "relative_score": MetricKind(
        "text", "LLaVA-Bench: 100 x mean grade / mean grade of the reference answers",
        derived=("reference_grade", "grade"), combine=_relative,
    ),
    "acc_iou25": _acc(0.25),
    "acc_iou50": _acc(0.5),
    "acc_iou75": _acc(0.75),
    "acc_iou": _acc(0.5),
    "iou": MetricKind("box", "mean IoU with the gold box (unparsed: 0)", {}, _iou),
    **{
        name: MetricKind("text", f"{name} on pycocoevalcap's scale (corpus)", corpus="coco-caption")
        for name in CAPTION_METRICS
    },
})  # fmt: skip
"""Metric name → kind. ``acc_iou`` takes any threshold; ``acc_iou25/50/75`` are the usual ones."""


@dataclass(frozen=True)
class Metric:
    """A metric bound to its parameters, as one task uses it."""

    name: str
    """The registered name."""
    column: str
    """Its column in ``samples.parquet`` and its name in the summary."""
    params: Mapping[str, Any]
    """Every parameter, defaults filled in."""
    kind: MetricKind
    sources: tuple[str, ...] = ()
    """A derived metric's sources: the columns of the task's metrics it is computed from."""

    @property
    def corpus(self) -> CorpusScorer | None:
        """The corpus scorer computing it, for corpus metrics."""
        return CORPUS_SCORERS[self.kind.corpus] if self.kind.corpus else None

    def score(self, prediction: Prediction, sample: Sample) -> float | None:
        """The sample's value; ``None`` for a corpus metric (known only at the end)."""
        if self.kind.per_sample is None:
            return None
        return self.kind.per_sample(prediction, sample, **self.params)

    def describe(self) -> dict[str, Any]:
        """What ``run.json`` records of it.

        >>> build_metrics([MetricSpec("anls")], parser_output="text")[0].describe()
        {'name': 'anls', 'column': 'anls', 'params': {'threshold': 0.5}, 'corpus': None}
        """
        described: dict[str, Any] = {
            "name": self.name,
            "column": self.column,
            "params": dict(self.params),
            "corpus": self.kind.corpus,
        }
        if self.kind.conditional:
            described["conditional"] = True
        if self.sources:
            described["derived"] = list(self.sources)
        return described


def build_metrics(specs: Sequence[MetricSpec], *, parser_output: str) -> list[Metric]:
    """Bind a task's metric specs; an unknown name or parameter is a one-line ConfigError.

    ``parser_output`` (``text`` or ``box``) is what the task's parser yields: a metric that
    reads something else cannot be scored.

    >>> spec = MetricSpec("relaxed_accuracy", params={"mode": "qwen-vl"})
    >>> [m.params for m in build_metrics([spec], parser_output="text")]
    [{'tolerance': 0.05, 'mode': 'qwen-vl'}]
    """
    bound: list[Metric] = []
    for spec in specs:
        kind = METRICS[spec.name]
        if kind.reads != parser_output:
            raise ConfigError(
                f"metric '{spec.name}' reads a {kind.reads}, but the task's parser gives a "
                f"{parser_output}"
            )
        params = {name: p.default for name, p in kind.params.items()}
        for name, value in spec.params.items():
            if name not in kind.params:
                known = list(kind.params) or ["(none)"]
                raise ConfigError(f"metric '{spec.name}': {did_you_mean('parameter', name, known)}")
            params[name] = kind.params[name].check(spec.name, name, value)
        bound.append(Metric(spec.name, spec.key, params, kind))
    for i, metric in enumerate(bound):
        if not metric.kind.derived:
            continue
        by_name = {m.name: m.column for m in bound}
        missing = [name for name in metric.kind.derived if name not in by_name]
        if missing:
            raise ConfigError(f"metric '{metric.name}' is computed from {missing[0]}: add it to "
                              "the task's metrics")  # fmt: skip
        bound[i] = replace(metric, sources=tuple(by_name[n] for n in metric.kind.derived))
    columns = [m.column for m in bound]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ConfigError(f"metric column '{repeated[0]}' is used twice: give one a column name")
    return bound

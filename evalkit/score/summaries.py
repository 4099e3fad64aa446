"""Benchmark summaries beyond means: rows a benchmark's own script adds to the table.

A task names one (``summary: mme``); the aggregator hands it every scored sample (its metric
values and kept columns, in dataset order) and the failed ones' kept columns, and adds the rows
it returns to ``summary.parquet``. Such rows have no bootstrap interval and are not compared
pair by pair (``evalkit compare`` compares the per-sample metrics they come from).

``mme``: MME's ``calculation.py`` (BradyFU/Awesome-Multimodal-Large-Language-Models, branch
``Evaluation``, ``tools/eval_tool.zip`` at dd2950902889cd614d4edf606827240166d29381): per
subtask, ``acc`` (the share of questions right), ``acc+`` (the share of images whose two
questions are both right) and the score ``100 * (acc + acc+)``; the perception total (the
scores of its ten subtasks added) and the cognition total (its four). The script pairs an
image's two questions as consecutive lines of the subtask's file; evalkit pairs them by the
image (the Hub copy's ``question_id``). An image with a failed question is left out of acc+.

``hallusionbench``: HallusionBench's ``evaluation.py`` (tianyi-lab/HallusionBench @ 67ba0de2):
figure accuracy (fAcc) and question-pair accuracy (qAcc), keyed as its ``get_eval_fig`` and
``get_eval_pair_all`` key them, and VLMEvalKit's overall (the mean of aAcc, fAcc and qAcc).

``mmmu``: MMMU's accuracy per subject (read from the sample id, as lmms-eval's
``extract_subset_name``) and per discipline (its subjects' questions together).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.registry import Registry

__all__ = ["DISCIPLINES", "SUMMARIES", "Scored", "Summary", "hallusion_summary", "mme_summary",
           "mmmu_summary"]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Scored:
    """One sample as a summary sees it."""

    sample_id: str
    scores: Mapping[str, float]
    meta: Mapping[str, Any]


@dataclass(frozen=True)
class Summary:
    """A benchmark's extra summary rows."""

    needs: tuple[str, ...]
    """The kept columns it reads (the task must keep them)."""
    rows: Callable[[Sequence[Scored], Sequence[Mapping[str, Any]]], list[dict[str, Any]]]
    """``(scored samples, failed samples' kept columns) -> rows`` (``MetricValue`` fields)."""
    overall: tuple[str, ...] = ()
    """The metrics of the overall rows it adds (a task's ``primary`` may name one)."""


PERCEPTION = ("existence", "count", "position", "color", "posters", "celebrity", "scene",
              "landmark", "artwork", "OCR")  # fmt: skip
COGNITION = ("commonsense_reasoning", "numerical_calculation", "text_translation",
             "code_reasoning")  # fmt: skip


def _all_right(groups: Mapping[str, list[float]]) -> float | None:
    if not groups:
        return None
    return sum(all(v == 1.0 for v in vs) for vs in groups.values()) / len(groups)


def mme_summary(
    scored: Sequence[Scored], failed: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """MME's acc+, subtask scores and the perception and cognition totals.

    >>> s = [Scored(str(i), {"mme_accuracy": v}, {"category": "OCR", "question_id": f"{i // 2}"})
    ...      for i, v in enumerate([1.0, 1.0, 1.0, 0.0])]
    >>> [(r["metric"], r.get("group"), r["value"]) for r in mme_summary(s, [])]
    [('mme_acc_plus', 'OCR', 0.5), ('mme_score', 'OCR', 125.0), ('mme_perception', None, 125.0), ('mme_cognition', None, None)]
    """  # noqa: E501
    by_task: dict[str, list[Scored]] = defaultdict(list)
    for sample in scored:
        by_task[str(sample.meta.get("category"))].append(sample)
    broken: dict[str, set[str]] = defaultdict(set)  # images with a failed question
    failed_in: dict[str, int] = defaultdict(int)
    for meta in failed:
        broken[str(meta.get("category"))].add(str(meta.get("question_id")))
        failed_in[str(meta.get("category"))] += 1
    rows: list[dict[str, Any]] = []
    scores: dict[str, float] = {}
    for task in sorted(by_task):
        samples = by_task[task]
        acc = sum(s.scores.get("mme_accuracy", 0.0) for s in samples) / len(samples)
        images: dict[str, list[float]] = defaultdict(list)
        for s in samples:
            image = str(s.meta.get("question_id"))
            if image not in broken[task]:
                images[image].append(s.scores.get("mme_accuracy", 0.0))
        plus = _all_right(images)
        where = {"kind": "group", "group_by": "category", "group": task,
                 "n_failed": failed_in[task]}  # fmt: skip
        rows.append({"metric": "mme_acc_plus", "value": plus, "n": len(images), **where})
        score = 100 * (acc + plus) if plus is not None else None
        rows.append({"metric": "mme_score", "value": score, "n": len(samples), **where})
        if score is not None:
            scores[task] = score
    for name, tasks in (("mme_perception", PERCEPTION), ("mme_cognition", COGNITION)):
        present = [scores[t] for t in tasks if t in scores]
        rows.append({"metric": name, "value": sum(present) if present else None,
                     "n": sum(len(by_task[t]) for t in tasks if t in by_task),
                     "n_failed": sum(failed_in[t] for t in tasks), "kind": "metric"})  # fmt: skip
    return rows


DISCIPLINES = {
    "Art and Design": ("Art", "Art_Theory", "Design", "Music"),
    "Business": ("Accounting", "Economics", "Finance", "Manage", "Marketing"),
    "Science": ("Biology", "Chemistry", "Geography", "Math", "Physics"),
    "Health and Medicine": ("Basic_Medical_Science", "Clinical_Medicine",
                            "Diagnostics_and_Laboratory_Medicine", "Pharmacy", "Public_Health"),
    "Humanities and Social Science": ("History", "Literature", "Sociology", "Psychology"),
    "Tech and Engineering": ("Agriculture", "Architecture_and_Engineering", "Computer_Science",
                             "Electronics", "Energy_and_Power", "Materials",
                             "Mechanical_Engineering"),
}  # fmt: skip
"""MMMU's six disciplines and their 30 subjects (lmms-eval's ``DOMAIN_CAT2SUB_CAT``)."""


def mmmu_summary(
    scored: Sequence[Scored], failed: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """MMMU's accuracy per subject (from the sample id) and per discipline, over its questions.

    A discipline's figure is over all its questions (the subjects weighted by their size), as
    MMMU's ``calculate_ins_level_acc``. Failed samples are left out of both, as of the mean.

    >>> s = [Scored(i, {"mmmu_accuracy": v}, {}) for i, v in
    ...      [("validation_Art_1", 1.0), ("validation_Music_1", 0.0), ("validation_Math_1", 1.0)]]
    >>> [(r["group_by"], r["group"], r["value"]) for r in mmmu_summary(s, [])]
    [('subject', 'Art', 1.0), ('subject', 'Math', 1.0), ('subject', 'Music', 0.0), ('discipline', 'Art and Design', 0.5), ('discipline', 'Science', 1.0)]
    """  # noqa: E501
    from evalkit.score.mmmu import subject_of

    by_subject: dict[str, list[float]] = defaultdict(list)
    for sample in scored:
        subject = subject_of(sample.sample_id)
        if subject is not None:
            by_subject[subject].append(sample.scores.get("mmmu_accuracy", 0.0))
    rows: list[dict[str, Any]] = []
    for subject in sorted(by_subject):
        values = by_subject[subject]
        rows.append({"metric": "mmmu_accuracy", "kind": "group", "group_by": "subject",
                     "group": subject, "value": sum(values) / len(values), "n": len(values),
                     "n_failed": 0})  # fmt: skip
    for discipline, subjects in DISCIPLINES.items():
        values = [v for s in subjects for v in by_subject.get(s, [])]
        if values:
            rows.append({"metric": "mmmu_accuracy", "kind": "group", "group_by": "discipline",
                         "group": discipline, "value": sum(values) / len(values),
                         "n": len(values), "n_failed": 0})  # fmt: skip
    return rows


def hallusion_summary(
    scored: Sequence[Scored], failed: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """HallusionBench's figure and question-pair accuracies, overall and per category.

    ``hallusion_figure_accuracy`` (fAcc): the share of figures whose questions are all right
    (a figure: category, subcategory, set and figure; VS questions without a figure left out);
    ``hallusion_pair_accuracy`` (qAcc): the share of questions asked of every figure of their
    set (category, subcategory, set, question) answered right each time;
    ``hallusion_overall``: the mean of the question accuracy (aAcc), fAcc and qAcc, the one
    figure VLMEvalKit's leaderboard prints. A figure or pair with a failed question is left out.

    >>> m = lambda f, q: {"category": "VD", "subcategory": "ocr", "set_id": "0",
    ...                   "figure_id": f, "question_id": q}
    >>> s = [Scored(str(i), {"yes_no_accuracy": v}, m(f, q))
    ...      for i, (f, q, v) in enumerate([("0", "0", 1.0), ("1", "0", 0.0), ("0", "1", 1.0)])]
    >>> [(r["metric"], r.get("group"), r["value"]) for r in hallusion_summary(s, [])][:3]
    [('hallusion_figure_accuracy', None, 0.5), ('hallusion_pair_accuracy', None, 0.5), ('hallusion_overall', None, 0.5555555555555555)]
    """  # noqa: E501

    def key(meta: Mapping[str, Any], *names: str) -> str:
        return "_".join(str(meta.get(n)) for n in names)

    broken_figures = {key(m, "category", "subcategory", "set_id", "figure_id") for m in failed}
    broken_pairs = {key(m, "category", "subcategory", "set_id", "question_id") for m in failed}
    rows: list[dict[str, Any]] = []
    categories = sorted({str(s.meta.get("category")) for s in scored})
    for category in (None, *categories):
        members = [s for s in scored if category is None or str(s.meta.get("category")) == category]
        figures: dict[str, list[float]] = defaultdict(list)
        pairs: dict[str, list[float]] = defaultdict(list)
        for s in members:
            value = s.scores.get("yes_no_accuracy", 0.0)
            figure = key(s.meta, "category", "subcategory", "set_id", "figure_id")
            textual = s.meta.get("category") == "VS" and str(s.meta.get("figure_id")) == "0"
            if not textual and figure not in broken_figures:
                figures[figure].append(value)
            pair = key(s.meta, "category", "subcategory", "set_id", "question_id")
            if pair not in broken_pairs:
                pairs[pair].append(value)
        where: dict[str, Any] = {"kind": "metric"}
        if category is not None:
            where = {"kind": "group", "group_by": "category", "group": category}
        f_acc, q_acc = _all_right(figures), _all_right(pairs)
        a_acc = (sum(s.scores.get("yes_no_accuracy", 0.0) for s in members) / len(members)
                 if members else None)  # fmt: skip
        parts = (a_acc, f_acc, q_acc)
        overall = None if None in parts else sum(p for p in parts if p is not None) / 3
        rows += [
            {"metric": "hallusion_figure_accuracy", "value": f_acc, "n": len(figures), **where},
            {"metric": "hallusion_pair_accuracy", "value": q_acc, "n": len(pairs), **where},
            {"metric": "hallusion_overall", "value": overall, "n": len(members), **where},
        ]
    return rows


SUMMARIES: Registry[Summary] = Registry("summary", {
    "mme": Summary(("category", "question_id"), mme_summary, ("mme_perception", "mme_cognition")),
    "mmmu": Summary((), mmmu_summary),
    "hallusionbench": Summary(("category", "subcategory", "set_id", "figure_id", "question_id"),
                              hallusion_summary, ("hallusion_figure_accuracy",
                                                  "hallusion_pair_accuracy", "hallusion_overall")),
})  # fmt: skip
"""Summary name → summary (a task names its own in ``summary``)."""

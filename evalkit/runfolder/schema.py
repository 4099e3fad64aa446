"""The Parquet schemas of a run folder, declared once: writer, reader and tests use them.

``samples.parquet`` has the fixed columns below, then the task's kept dataset columns
(``columns.keep``: text, or lists of text for the names in :data:`LIST_COLUMNS`), then one
float column per task metric;
``summary.parquet`` has one row per metric, per-group metric and cost total (``kind``).
No column holds a secret: the config's only credential field is the *name* of an
environment variable, and it is not a column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

__all__ = [
    "JUDGE_COLUMNS",
    "LIST_COLUMNS",
    "META_TYPES",
    "conform_kept",
    "kept_type",
    "SAMPLE_COLUMNS",
    "SUMMARY_SCHEMA",
    "meta_value",
    "sample_schema",
]

SAMPLE_COLUMNS: tuple[pa.Field, ...] = (
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("task", pa.string(), nullable=False),
    pa.field("sample_id", pa.string(), nullable=False),
    pa.field("backend", pa.string(), nullable=False),
    pa.field("model", pa.string(), nullable=False),
    pa.field("prompt", pa.string()),  # rendered system + user text (images left out)
    pa.field("question", pa.string()),  # the question or expression alone; null for captions
    pa.field("prediction", pa.string()),  # raw completion text
    pa.field("parsed", pa.string()),  # the answer the scorer compared
    pa.field("references", pa.list_(pa.string())),  # gold answers / captions / expressions
    pa.field("fewshot_ids", pa.list_(pa.string())),  # in-context examples shown before it
    pa.field("choices", pa.list_(pa.string())),  # multiple choice: the options, in shown order
    pa.field("pred_box", pa.list_(pa.float64())),  # grounding: predicted x1, y1, x2, y2 pixels
    pa.field("gold_box", pa.list_(pa.float64())),  # grounding: gold x1, y1, x2, y2 pixels
    pa.field("image_width", pa.int64()),  # first image, pixels (boxes are re-read against it)
    pa.field("image_height", pa.int64()),
    pa.field("input_tokens", pa.int64()),
    pa.field("output_tokens", pa.int64()),
    pa.field("image_tokens", pa.int64()),
    pa.field("cost", pa.float64()),  # in the price table's currency; null when unknown
    pa.field("latency_s", pa.float64()),
    pa.field("ttft_s", pa.float64()),  # streamed answers: time to the first text
    pa.field("batch_size", pa.int64()),  # local backends: requests generated together
    pa.field("cache_hit", pa.bool_()),
    pa.field("attempts", pa.int64()),
    pa.field("finish_reason", pa.string()),
    pa.field("error_type", pa.string()),  # null for a scored sample
    pa.field("error", pa.string()),  # one line
)

JUDGE_COLUMNS: tuple[pa.Field, ...] = (
    pa.field("judge_asked", pa.bool_()),  # the judge was asked about this answer
    pa.field("judge_verdict", pa.string()),  # what was read: a grade, an extracted answer
    pa.field("judge_score", pa.float64()),  # a grader's score (the mean over repeats)
    pa.field("judge_reference", pa.float64()),  # its score of the reference (LLaVA-Bench)
    pa.field("judge_scores", pa.list_(pa.float64())),  # a grader's score in each repeat
    pa.field("judge_output", pa.string()),  # the judge's text (first repeat)
    pa.field("judge_input_tokens", pa.int64()),
    pa.field("judge_output_tokens", pa.int64()),
    pa.field("judge_cost", pa.float64()),  # the judge's, apart from the model's ``cost``
    pa.field("judge_cache_hit", pa.bool_()),
    pa.field("judge_error", pa.string()),  # why there is no verdict (JudgeFailed rows)
)
"""The columns a run with a judge adds after the fixed ones (:mod:`evalkit.judge`)."""

META_TYPES = (pa.string(), pa.list_(pa.string()))
"""The types a kept dataset column is stored as: text, or a list of texts."""

LIST_COLUMNS = frozenset({"answer_type", "question_types", "capability"})
"""Kept columns stored as lists of text, whichever task keeps them: InfographicVQA's
``answer_type`` lists several types where VQAv2's has one, and DocVQA's ``question_types`` is a
list; MM-Vet's ``capability`` (``rec,ocr``) is split into one. Every other kept column is
text. One type per name, so runs of different tasks (and runs with no rows) concatenate; add a
name here when a task keeps a list-valued column."""


def kept_type(name: str) -> pa.DataType:
    """The one Arrow type a kept column named ``name`` has, in every run of every task.

    >>> kept_type("answer_type"), kept_type("category")
    (ListType(list<item: string>), DataType(string))
    """
    return META_TYPES[1] if name in LIST_COLUMNS else META_TYPES[0]


def _is_kept(field: pa.Field) -> bool:
    """A column after the fixed ones that holds text (a metric column holds numbers)."""
    type_ = field.type
    textual = pa.types.is_string(type_) or pa.types.is_large_string(type_) or pa.types.is_null(
        type_
    ) or (pa.types.is_list(type_) and pa.types.is_string(type_.value_type))  # fmt: skip
    return textual and field.name not in _FIXED


def conform_kept(table: pa.Table) -> pa.Table:
    """``table`` with every kept column in its one type (:func:`kept_type`).

    Older run folders typed a kept column from its first values: a list in one task, text in
    another, null in a run with no rows. Every reader goes through this.

    >>> old = pa.table({"sample_id": ["a"], "answer_type": ["yes/no"]})
    >>> conform_kept(old).column("answer_type").to_pylist()
    [['yes/no']]
    """
    for index, field in enumerate(table.schema):
        if not _is_kept(field):
            continue
        target = kept_type(field.name)
        if field.type == target:
            continue
        values = [meta_value(v, target) for v in table.column(index).to_pylist()]
        table = table.set_column(index, pa.field(field.name, target),
                                 pa.array(values, target))  # fmt: skip
    return table


def meta_value(value: Any, type_: pa.DataType) -> Any:
    """A kept value as its column stores it (text, or a list of texts).

    >>> texts = pa.list_(pa.string())
    >>> meta_value(7, pa.string()), meta_value("a", texts), meta_value([1, 2], pa.string())
    ('7', ['a'], '1, 2')
    """
    if value is None:
        return None
    is_list = isinstance(value, list | tuple)
    if type_ == META_TYPES[1]:
        return [str(v) for v in value] if is_list else [str(value)]
    return ", ".join(str(v) for v in value) if is_list else str(value)


_FIXED = frozenset(f.name for f in (*SAMPLE_COLUMNS, *JUDGE_COLUMNS))


def sample_schema(
    metrics: Sequence[str], meta: Mapping[str, pa.DataType] | None = None, *,
    judged: bool = False,
) -> pa.Schema:  # fmt: skip
    """The fixed sample columns, the judge's (``judged``), the kept ones, then the metrics.

    >>> sample_schema(["anls"], {"answer_type": pa.string()}).names[-2:]
    ['answer_type', 'anls']
    >>> "judge_verdict" in sample_schema(["grade"], judged=True).names
    True
    """
    kept = [pa.field(name, type_) for name, type_ in (meta or {}).items()]
    judge = JUDGE_COLUMNS if judged else ()
    return pa.schema([*SAMPLE_COLUMNS, *judge, *kept,
                      *(pa.field(m, pa.float64()) for m in metrics)])  # fmt: skip


SUMMARY_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("task", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("ci_low", pa.float64()),
        pa.field("ci_high", pa.float64()),
        pa.field("n", pa.int64(), nullable=False),  # samples scored
        pa.field("n_failed", pa.int64(), nullable=False),  # error rows, excluded from the value
        pa.field("kind", pa.string(), nullable=False),  # metric | group | cost
        pa.field("group_by", pa.string()),  # group rows: the kept column grouped by
        pa.field("group", pa.string()),  # group rows: its value
    ]
)
"""One row per metric, per metric and group, and per cost total."""

"""The Parquet schemas of a run folder, declared once: writer, reader and tests use them.

``samples.parquet`` has the fixed columns below plus one float column per task metric;
``summary.parquet`` has one row per metric. No column holds a secret: the config's only
credential field is the *name* of an environment variable, and it is not a column.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

__all__ = ["SAMPLE_COLUMNS", "SUMMARY_SCHEMA", "sample_schema"]

SAMPLE_COLUMNS: tuple[pa.Field, ...] = (
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("task", pa.string(), nullable=False),
    pa.field("sample_id", pa.string(), nullable=False),
    pa.field("backend", pa.string(), nullable=False),
    pa.field("model", pa.string(), nullable=False),
    pa.field("prompt", pa.string()),  # rendered system + user text (images left out)
    pa.field("prediction", pa.string()),  # raw completion text
    pa.field("parsed", pa.string()),  # the answer the scorer compared
    pa.field("references", pa.list_(pa.string())),  # gold answers / captions / expressions
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
    pa.field("cache_hit", pa.bool_()),
    pa.field("attempts", pa.int64()),
    pa.field("finish_reason", pa.string()),
    pa.field("error_type", pa.string()),  # null for a scored sample
    pa.field("error", pa.string()),  # one line
)


def sample_schema(metrics: Sequence[str]) -> pa.Schema:
    """The fixed sample columns followed by one nullable float64 column per metric.

    >>> sample_schema(["anls"]).field("anls").type
    DataType(double)
    """
    return pa.schema([*SAMPLE_COLUMNS, *(pa.field(m, pa.float64()) for m in metrics)])


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
    ]
)
"""One row per metric."""

"""evalkit: batch evaluation and benchmarking of vision-language models.

The scoring API (keyword-only, official-scorer parity) and the run-folder loader are the public
surface; everything else is reached through the command line, ``python -m evalkit``.
"""

from evalkit.report import RunTables, load_run
from evalkit.score import anls, caption_scores, iou, parse_box, relaxed_accuracy, vqa_accuracy

__version__ = "0.1.0"

__all__ = [
    "RunTables",
    "anls",
    "caption_scores",
    "iou",
    "load_run",
    "parse_box",
    "relaxed_accuracy",
    "vqa_accuracy",
]

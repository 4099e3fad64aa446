"""evalkit: batch evaluation and benchmarking of vision-language models.

The scoring API (keyword-only, official-scorer parity) and the run-folder loader are the public
surface; runs are made through the command line (``evalkit run | estimate | rescore``, or
``python -m evalkit task=...``) or, in code, ``evalkit.compose.compose`` and
``evalkit.run.pipeline.run``.

The names load on first use, so ``import evalkit`` (and the command line, before it has read its
arguments) does not pull in pyarrow and numpy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalkit.runfolder import RunTables, load_run
    from evalkit.score import anls, caption_scores, iou, parse_box, relaxed_accuracy, vqa_accuracy

__version__ = "0.1.0"

_HOMES = {
    "RunTables": "evalkit.runfolder",
    "load_run": "evalkit.runfolder",
    "anls": "evalkit.score",
    "caption_scores": "evalkit.score",
    "iou": "evalkit.score",
    "parse_box": "evalkit.score",
    "relaxed_accuracy": "evalkit.score",
    "vqa_accuracy": "evalkit.score",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'evalkit' has no attribute '{name}'")
    return getattr(import_module(home), name)


def __dir__() -> list[str]:
    return [*__all__, "__version__"]

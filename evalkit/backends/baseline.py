"""The ``baseline`` backend: the standard trivial answers, a sanity floor for every task.

Deterministic, offline, free. Per family:

* VQA / DocVQA: the task's prior answer (``baseline.answer``; VQA's 'prior' baseline answers the
  most frequent training answer, "yes").
* Captioning: one fixed caption (``baseline.caption``).
* Grounding: the whole image, written in the run's box format.

Any real model should beat these numbers; one that does not is broken or mis-prompted.
"""

from __future__ import annotations

import json
from typing import Any

from evalkit.backends.base import BackendIdentity, RetryDecision
from evalkit.config import BackendConfig, TaskSpec
from evalkit.parse.boxes import smart_resize
from evalkit.records import Completion, Family, ImagePart, Request, Usage

__all__ = ["BaselineBackend"]


def whole_image_box(box_format: str, width: int, height: int) -> str:
    """The whole image as text in ``box_format``.

    >>> whole_image_box("qwen-vl", 640, 480)
    '<box>(0,0),(999,999)</box>'
    """
    name, _, divisor = box_format.partition(":")
    if name == "qwen-vl":
        top = int(divisor or 999)
        return f"<box>(0,0),({top},{top})</box>"
    if name == "qwen2-vl":
        return "<|box_start|>(0,0),(1000,1000)<|box_end|>"
    if name == "qwen2.5-vl":
        in_h, in_w = smart_resize(height, width)
        return json.dumps([{"bbox_2d": [0, 0, in_w, in_h], "label": "object"}])
    if name == "normalized":
        return "[0.0, 0.0, 1.0, 1.0]"
    return f"[0, 0, {width}, {height}]"


class BaselineBackend:
    """Answers every request with the task family's trivial baseline."""

    cacheable = False

    def __init__(self, config: BackendConfig, task: TaskSpec, box_format: str) -> None:
        self.identity = BackendIdentity(name="baseline", model=config.model)
        self._task = task
        self._box_format = box_format

    async def generate(self, request: Request) -> Completion:
        """Return the baseline answer for this request's task family."""
        family = self._task.family
        if family is Family.grounding:
            image = next(
                p.image for m in request.messages for p in m.parts if isinstance(p, ImagePart)
            )
            text = whole_image_box(self._box_format, *image.pixel_size())
        elif family is Family.captioning:
            text = self._task.baseline.caption
        else:
            text = self._task.baseline.answer
        return Completion(text=text, usage=Usage(0, 0, 0), finish_reason="stop")

    def cache_options(self) -> dict[str, Any]:
        """Nothing is cached for the baseline."""
        return {}

    def classify(self, error: Exception) -> RetryDecision:
        """The baseline never fails transiently."""
        return RetryDecision.fail

    async def aclose(self) -> None:
        """Nothing to release."""

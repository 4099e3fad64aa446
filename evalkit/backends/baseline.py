"""The ``baseline`` backend: the standard trivial answers, a sanity floor for every task.

Deterministic, offline, free. The task says what it is (``baseline.answer``, which
``configs/backend/baseline.yaml`` interpolates into this backend's own config):

* questions: the prior answer (VQA's 'prior' baseline answers the most frequent training
  answer, "yes"); captions: one fixed caption;
* a prompt that asks for a box (``Request.box_format``): the whole image, written in that box
  convention by its family.

Any real model should beat these numbers; one that does not is broken or mis-prompted.
"""

from __future__ import annotations

from typing import Any, Self

from evalkit.backends.base import Backend, BackendIdentity, RetryDecision
from evalkit.config import BaselineConfig
from evalkit.families import box_format
from evalkit.records import Completion, ImagePart, Request, Usage

__all__ = ["BaselineBackend", "whole_image_box"]


def whole_image_box(fmt: str, width: int, height: int) -> str:
    """The whole image as text in the box convention ``fmt``, written as the family writes it.

    >>> whole_image_box("qwen-vl", 640, 480)
    '<box>(0,0),(999,999)</box>'
    """
    return box_format(fmt).write((0.0, 0.0, float(width), float(height)), width, height)


class BaselineBackend(Backend):
    """Answers every request with the task's trivial baseline; free and never cached."""

    priced = False

    def __init__(self, config: BaselineConfig) -> None:
        self.identity = BackendIdentity(name="baseline", model=config.model)
        self.answer = config.answer

    @classmethod
    def from_config(cls, config: BaselineConfig) -> Self:
        """The baseline of ``config`` (its ``answer`` is the task's ``baseline.answer``)."""
        return cls(config)

    def may_cache(self, request: Request) -> bool:
        """Recomputing a baseline answer costs nothing: never cached."""
        return False

    async def generate(self, request: Request) -> Completion:
        """The whole image when the prompt asks for a box, else the fixed answer."""
        if request.box_format is not None:
            image = next(
                p.image for m in request.messages for p in m.parts if isinstance(p, ImagePart)
            )
            text = whole_image_box(request.box_format, *image.pixel_size())
        else:
            text = self.answer
        return Completion(text=text, usage=Usage(0, 0, 0), finish_reason="stop")

    def cache_options(self) -> dict[str, Any]:
        """Nothing is cached for the baseline."""
        return {}

    def classify(self, error: Exception) -> RetryDecision:
        """The baseline never fails transiently."""
        return RetryDecision.fail

    async def aclose(self) -> None:
        """Nothing to release."""

"""Prompt templates: the task's template for the backend's prompt family, filled per sample.

Where the images go is the model family's (``ModelFamily.images_first``): before the text in
the user turn for every family evalkit knows, as the Qwen-VL family and lmms-eval put them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from evalkit.config import BackendConfig, PromptSpec, TaskSpec
from evalkit.errors import ConfigError, DataError, did_you_mean
from evalkit.families import ModelFamily, box_format, family_named
from evalkit.families.generic import GENERIC
from evalkit.prompt.drawn import draw_box
from evalkit.records import (
    GenerationParams,
    ImagePart,
    Message,
    Request,
    Sample,
    TextPart,
    option_letters,
)

__all__ = ["RenderPlan", "fill", "plan_rendering", "render"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RenderPlan:
    """Everything resolved once per run: the template, the decoding parameters, the box format."""

    prompt: PromptSpec
    params: GenerationParams
    box_format: str | None = None
    """The box convention the prompt asks for; ``None`` when the answer is not a box."""
    family: ModelFamily = GENERIC
    """The model family of ``backend.prompt_family`` (answer clean-up, box convention)."""
    box_input: str | None = None
    """The convention ``{box}`` writes the gold box in (region description); ``None``: the
    prompt shows no box."""


def plan_rendering(
    task: TaskSpec,
    backend: BackendConfig,
    families: Collection[str] | Callable[[], Collection[str]] = (),
) -> RenderPlan:
    """Pick the template for ``backend.prompt_family`` and resolve the generation budget.

    A family that other tasks define but this one does not falls back to ``default`` (so one
    sweep can cover tasks with and without a model-specific prompt); a name no task defines is
    a typo and a :class:`ConfigError`. ``families`` lists the names all tasks define, or is a
    function that does (called only when the task lacks the family: it reads every task file).
    """
    prompt = task.prompts.get(backend.prompt_family)
    known: Collection[str] = families() if prompt is None and callable(families) else ()
    if not callable(families):
        known = families
    if prompt is None and backend.prompt_family in known:
        log.warning(
            "task '%s' has no '%s' prompt; using its default prompt",
            task.name,
            backend.prompt_family,
        )
        prompt = task.prompts["default"]
    if prompt is None:
        hint = did_you_mean("prompt family", backend.prompt_family, {*known, *task.prompts})
        raise ConfigError(f"task '{task.name}': {hint}")
    family = family_named(backend.prompt_family)
    boxes: str | None = None
    if task.parser_for(prompt) == "box":
        boxes = backend.box_format or prompt.box_format or family.box_format or "pixel"
        box_format(boxes)  # an unknown convention is a one-line ConfigError now
    box_input: str | None = None
    if "{box}" in prompt.user:
        box_input = backend.box_format or prompt.box_format or family.box_format or "pixel"
        box_format(box_input)
    params = GenerationParams(
        max_tokens=backend.max_tokens or prompt.max_tokens or task.max_tokens,
        min_tokens=prompt.min_tokens,
        temperature=backend.temperature,
        top_p=backend.top_p,
        top_k=backend.top_k,
        seed=backend.seed,
        stop=tuple(backend.stop),
        repetition_penalty=backend.repetition_penalty,
    )
    return RenderPlan(prompt, params, boxes, family, box_input)


_PLACEHOLDER = re.compile(r"\{(question|choices|context|box)\}")


def fill(prompt: PromptSpec, sample: Sample, box: str = "") -> str:
    r"""The user text, its ``{question}``, ``{choices}``, ``{context}`` and ``{box}`` filled.

    One pass, so a question that itself contains ``{choices}`` stays as written.

    >>> spec = PromptSpec(user="{context}{question}\n{choices}", context="Context: {context}\n")
    >>> fill(spec, Sample(id="q", images=(), question="Which?", choices=("cat", "dog")))
    'Which?\nA. cat\nB. dog'
    """
    if prompt.choices == "lines":
        options = "\n".join(sample.choices)
    else:
        letters = option_letters(len(sample.choices))
        options = "\n".join(f"{k}. {c}" for k, c in zip(letters, sample.choices, strict=True))
    context = (
        prompt.context.replace("{context}", sample.context)
        if sample.context
        else (prompt.no_context)
    )
    question = sample.question.capitalize() if prompt.capitalize else sample.question
    values = {"question": question, "choices": options, "context": context, "box": box}
    template = prompt.open if prompt.open is not None and not sample.choices else prompt.user
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _box_text(sample: Sample, plan: RenderPlan) -> str:
    """The gold box as the prompt's convention writes it (pixels of the first image)."""
    if plan.box_input is None:
        return ""
    if sample.box is None or not sample.images:
        raise DataError(f"sample '{sample.id}': the prompt shows {{box}}, the sample has no box")
    return box_format(plan.box_input).write(sample.box, *sample.images[0].pixel_size())


def _turn(sample: Sample, plan: RenderPlan, suffix: str = "") -> tuple[TextPart | ImagePart, ...]:
    """One sample's images and filled text, in the family's order."""
    text = TextPart(fill(plan.prompt, sample, _box_text(sample, plan)) + suffix)
    pictures = list(sample.images)
    if plan.prompt.draw_box and sample.box is not None and pictures:
        pictures[0] = draw_box(pictures[0], sample.box)
    images = tuple(ImagePart(image) for image in pictures)
    return (*images, text) if plan.family.images_first else (text, *images)


def render(sample: Sample, plan: RenderPlan) -> Request:
    """Fill the template with the sample's question and attach its images.

    In-context examples (``sample.examples``) come first: a user turn and the assistant's
    answer each, or, for a family that reads them inline (Qwen-VL base, as eval_mm writes
    them), all in the one user turn: each example's images, its filled prompt, a space and its
    answer, then the question.

    >>> from evalkit.config import PromptSpec
    >>> plan = RenderPlan(PromptSpec(user="{question} Answer:"), GenerationParams())
    >>> render(Sample(id="q1", images=(), question="Why?"), plan).prompt
    'Why? Answer:'
    >>> shot = Sample(id="e1", images=(), question="2+2?", references=("4",))
    >>> asked = render(Sample(id="q2", images=(), question="3+3?", examples=(shot,)), plan)
    >>> [(m.role, m.text) for m in asked.messages]
    [('user', '2+2? Answer:'), ('assistant', '4'), ('user', '3+3? Answer:')]
    """
    messages: list[Message] = []
    if plan.prompt.system:
        messages.append(Message("system", (TextPart(plan.prompt.system),)))
    if plan.family.inline_examples:
        shots = [part for ex in sample.examples for part in _turn(ex, plan, f" {ex.answer}")]
        messages.append(Message("user", (*shots, *_turn(sample, plan))))
    else:
        for example in sample.examples:
            messages.append(Message("user", _turn(example, plan)))
            messages.append(Message("assistant", (TextPart(example.answer),)))
        messages.append(Message("user", _turn(sample, plan)))
    return Request(sample.id, tuple(messages), plan.params, box_format=plan.box_format)

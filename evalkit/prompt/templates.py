"""Prompt templates: the task's template for the backend's prompt family, filled per sample.

The images of a sample come first in the user turn, then the text, as the Qwen-VL family and the
lmms-eval conventions put them.
"""

from __future__ import annotations

from dataclasses import dataclass

from evalkit.config import BackendConfig, PromptSpec, TaskSpec
from evalkit.errors import ConfigError, did_you_mean
from evalkit.parse.boxes import BOX_FORMATS
from evalkit.records import (
    Family,
    GenerationParams,
    ImagePart,
    Message,
    Request,
    Sample,
    TextPart,
)

__all__ = ["RenderPlan", "plan_rendering", "render"]


@dataclass(frozen=True, slots=True)
class RenderPlan:
    """Everything resolved once per run: the template, the decoding parameters, the box format."""

    prompt: PromptSpec
    params: GenerationParams
    box_format: str


def plan_rendering(task: TaskSpec, backend: BackendConfig) -> RenderPlan:
    """Pick the template for ``backend.prompt_family`` and resolve the generation budget."""
    prompt = task.prompts.get(backend.prompt_family)
    if prompt is None:
        known = did_you_mean("prompt family", backend.prompt_family, task.prompts)
        raise ConfigError(f"task '{task.name}': {known}")
    box_format = backend.box_format or prompt.box_format or "pixel"
    if task.family is Family.grounding and box_format.partition(":")[0] not in BOX_FORMATS:
        raise ConfigError(did_you_mean("box format", box_format, BOX_FORMATS))
    params = GenerationParams(
        max_tokens=backend.max_tokens or prompt.max_tokens or task.max_tokens,
        temperature=backend.temperature,
        top_p=backend.top_p,
        top_k=backend.top_k,
        seed=backend.seed,
        stop=tuple(backend.stop),
        repetition_penalty=backend.repetition_penalty,
    )
    return RenderPlan(prompt, params, box_format)


def render(sample: Sample, plan: RenderPlan) -> Request:
    """Fill the template with the sample's question and attach its images.

    >>> from evalkit.config import PromptSpec
    >>> plan = RenderPlan(PromptSpec(user="{question} Answer:"), GenerationParams(), "pixel")
    >>> render(Sample(id="q1", images=(), question="Why?"), plan).prompt
    'Why? Answer:'
    """
    text = plan.prompt.user.replace("{question}", sample.question)
    messages: list[Message] = []
    if plan.prompt.system:
        messages.append(Message("system", (TextPart(plan.prompt.system),)))
    parts: tuple[TextPart | ImagePart, ...] = (
        *(ImagePart(image) for image in sample.images),
        TextPart(text),
    )
    messages.append(Message("user", parts))
    return Request(sample.id, tuple(messages), plan.params)

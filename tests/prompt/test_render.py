"""Stage ②: the render plan a run makes once, and the request it renders per sample."""

from __future__ import annotations

import logging

import pytest

from evalkit.compose.tasks import load_task
from evalkit.config import BaselineConfig, PromptSpec
from evalkit.errors import ConfigError, DataError
from evalkit.prompt import plan_rendering, render
from evalkit.records import ImagePart, ImageRef, Sample, TextPart

IMAGE = ImageRef(b"", 640, 480, "JPEG")


def _backend(**fields: object) -> BaselineConfig:
    return BaselineConfig(name="baseline", model="baseline", **fields)  # type: ignore[arg-type]


def test_the_family_prompt_is_chosen_and_its_token_budget_kept() -> None:
    task = load_task("chartqa")
    plan = plan_rendering(task, _backend(prompt_family="qwen-vl"))
    assert plan.prompt is task.prompts["qwen-vl"] and plan.family.name == "qwen-vl"
    assert plan.params.max_tokens == (task.prompts["qwen-vl"].max_tokens or task.max_tokens)
    assert (
        plan_rendering(task, _backend(prompt_family="qwen-vl", max_tokens=7)).params.max_tokens == 7
    )


def test_a_family_the_task_lacks_falls_back_to_default_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    task = load_task("chartqa")
    known = {"default", "qwen-vl", "some-other-family"}
    with caplog.at_level(logging.WARNING):
        plan = plan_rendering(task, _backend(prompt_family="some-other-family"), known)
    assert plan.prompt is task.prompts["default"]
    assert "has no 'some-other-family' prompt; using its default prompt" in caplog.text


def test_a_family_no_task_knows_is_a_typo() -> None:
    with pytest.raises(ConfigError, match="did you mean 'qwen-vl'"):
        plan_rendering(load_task("chartqa"), _backend(prompt_family="qwen-lv"), {"qwen-vl"})


def test_a_box_answer_is_asked_in_the_familys_convention_unless_overridden() -> None:
    task = load_task("refcoco")
    assert plan_rendering(task, _backend(prompt_family="qwen-vl")).box_format == "qwen-vl"
    assert plan_rendering(task, _backend(box_format="pixel")).box_format == "pixel"
    with pytest.raises(ConfigError):
        plan_rendering(task, _backend(box_format="no-such-grid"))


def test_images_go_where_the_family_puts_them_and_the_question_is_filled() -> None:
    task = load_task("docvqa")
    sample = Sample(id="q", images=(IMAGE,), question="What is the total?")
    for family in ("default", "qwen-vl"):
        plan = plan_rendering(task, _backend(prompt_family=family))
        [message] = render(sample, plan).messages
        kinds = [type(p) for p in message.parts]
        first = ImagePart if plan.family.images_first else TextPart
        assert kinds[0] is first and set(kinds) == {ImagePart, TextPart}
        assert "What is the total?" in message.text


def test_a_prompt_that_shows_the_box_needs_the_samples_box() -> None:
    task = load_task("refcocog_reg")
    plan = plan_rendering(task, _backend(prompt_family="qwen-vl"))
    boxed = Sample(id="r", images=(IMAGE,), box=(64.0, 48.0, 320.0, 240.0))
    assert "<box>" in render(boxed, plan).prompt
    with pytest.raises(DataError, match="the sample has no box"):
        render(Sample(id="r", images=(IMAGE,)), plan)


def test_a_system_prompt_comes_first() -> None:
    from evalkit.prompt.templates import RenderPlan
    from evalkit.records import GenerationParams

    plan = RenderPlan(PromptSpec(user="{question}", system="Be brief."), GenerationParams())
    messages = render(Sample(id="q", images=(), question="Why?"), plan).messages
    assert [(m.role, m.text) for m in messages] == [("system", "Be brief."), ("user", "Why?")]

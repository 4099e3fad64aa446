"""Each family's box convention: written as the family writes it, read back exactly."""

from __future__ import annotations

import pytest

from evalkit.errors import ConfigError
from evalkit.families import BOX_FORMATS, box_format, family_for_model, family_named
from evalkit.families.qwen2_vl import smart_resize

SIZES = [(640, 480), (384, 256), (1000, 1000), (333, 777)]


@pytest.mark.parametrize("fmt", [*BOX_FORMATS, "qwen-vl:1000", "qwen2-vl:999"])
@pytest.mark.parametrize("size", SIZES)
def test_a_box_written_on_the_grid_reads_back_exactly(fmt: str, size: tuple[int, int]) -> None:
    """A box whose corners lie on the format's grid survives write → read unchanged."""
    width, height = size
    convention = box_format(fmt)
    if fmt.startswith(("qwen-vl", "qwen2-vl")):
        divisor = float(fmt.partition(":")[2] or (999 if fmt.startswith("qwen-vl") else 1000))
        grid = (100, 250, 800, 999)  # points on the model's grid
        box = (grid[0] / divisor * width, grid[1] / divisor * height,
               grid[2] / divisor * width, grid[3] / divisor * height)  # fmt: skip
    elif fmt == "qwen2.5-vl":
        in_h, in_w = smart_resize(height, width)
        box = (10 * width / in_w, 20 * height / in_h, 300 * width / in_w, 200 * height / in_h)
    elif fmt == "normalized":
        box = (0.25 * width, 0.5 * height, 0.75 * width, 1.0 * height)
    else:
        box = (3.0, 4.0, 120.0, 99.0)
    text = convention.write(box, width, height)
    read = convention.read(text, width, height)
    assert read is not None
    assert read == pytest.approx(box, abs=1e-9), text


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("qwen-vl", "<box>(0,0),(999,999)</box>"),
        ("qwen-vl:1000", "<box>(0,0),(1000,1000)</box>"),
        ("qwen2-vl", "<|box_start|>(0,0),(1000,1000)<|box_end|>"),
        ("qwen2.5-vl", '[{"bbox_2d": [0, 0, 644, 476], "label": "object"}]'),
        ("normalized", "[0.0, 0.0, 1.0, 1.0]"),
        ("pixel", "[0, 0, 640, 480]"),
    ],
)
def test_the_whole_image_as_each_family_writes_it(fmt: str, text: str) -> None:
    assert box_format(fmt).write((0.0, 0.0, 640.0, 480.0), 640, 480) == text


def test_unknown_box_formats_are_one_line_errors() -> None:
    for bad in ("qwen", "qwen-vl:abc", "pixel:2"):
        with pytest.raises(ConfigError, match="unknown box format"):
            box_format(bad)


@pytest.mark.parametrize(
    ("model", "family", "tokens"),
    [
        ("qwen-vl-v1", "qwen-vl", 256),
        ("qwen-vl-chat-v1", "qwen-vl-chat", 256),
        ("qwen-vl-plus-2025-01-25", "qwen2-vl", 36 * 29),
        ("Qwen2.5-VL-7B-Instruct", "qwen2.5-vl", 36 * 29),
        ("some-new-model", "qwen2-vl", 36 * 29),  # DashScope's documented rule is the fallback
    ],
)
def test_model_names_find_their_family_and_its_token_rule(
    model: str, family: str, tokens: int
) -> None:
    found = family_for_model(model)
    assert found.name == family
    assert found.image_tokens(1000, 800, False) == tokens


def test_prompt_families_carry_their_box_convention_and_end_markers() -> None:
    assert family_named("qwen-vl").box_format == "qwen-vl"
    assert family_named("qwen2-vl").box_format == "qwen2-vl"
    assert family_named("qwen2.5-vl").box_format == "qwen2.5-vl"
    assert family_named("default").box_format is None
    assert family_named("a-new-chat-model").name == "default"
    assert family_named("qwen-vl-chat").clean(" 答案<|im_end|>") == "答案"


def test_prompt_placement_is_the_familys() -> None:
    from dataclasses import replace

    from evalkit.config import PromptSpec
    from evalkit.prompt import RenderPlan, render
    from evalkit.records import GenerationParams, ImagePart, ImageRef, Sample, TextPart

    sample = Sample("q", (ImageRef.size_only(4, 4),), question="What?")
    plan = RenderPlan(
        PromptSpec(user="{question}"), GenerationParams(), None, family_named("qwen-vl")
    )
    [turn] = render(sample, plan).messages
    assert [type(p) for p in turn.parts] == [ImagePart, TextPart]
    after = replace(plan, family=replace(family_named("default"), images_first=False))
    [turn] = render(sample, after).messages
    assert [type(p) for p in turn.parts] == [TextPart, ImagePart]

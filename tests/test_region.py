"""Boxes as input: region description, each family writing the gold box in its own syntax."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from evalkit import load_run
from evalkit.compose.tasks import load_task
from evalkit.families import box_format
from evalkit.testing.fake_server import FakeVLMServer

FAMILIES = {"default": "normalized", "qwen-vl": "qwen-vl", "qwen-vl-chat": "qwen-vl",
            "qwen2-vl": "qwen2-vl", "qwen2.5-vl": "qwen2.5-vl"}  # fmt: skip


def _sent(server: FakeVLMServer) -> list[tuple[str, bytes]]:
    out = []
    for received in server.received:
        [user] = [m for m in received.body["messages"] if m["role"] == "user"]
        text = "".join(p["text"] for p in user["content"] if p["type"] == "text")
        [image] = [p["image_url"]["url"] for p in user["content"] if p["type"] == "image_url"]
        out.append((text, base64.b64decode(image.split(",", 1)[1])))
    return out


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_writes_the_gold_box_that_its_reader_reads_back(
    run_eval, server: FakeVLMServer, family: str
) -> None:
    assert load_task("refcocog_reg").prompts[family].box_format == FAMILIES[family]
    server.answer = "the red circle"
    outcome = run_eval("task=refcocog_reg", "backend=openai", f"backend.base_url={server.openai_url}",
                       "backend.model=m", f"backend.prompt_family={family}",
                       "dataset.limit=8")  # fmt: skip
    run = load_run(outcome.run_dir)
    convention = box_format(FAMILIES[family])
    for (text, _), (_, row) in zip(_sent(server), run.samples.iterrows(), strict=True):
        width, height = int(row["image_width"]), int(row["image_height"])
        read = convention.read(text, width, height)
        assert read is not None, text
        step = max(width, height) / 999 + 1  # the grids round to whole steps; pixels to 1
        assert all(abs(a - b) <= step for a, b in zip(read, row["gold_box"], strict=True))
    assert (run.samples["references"].map(len) >= 1).all()  # the object's expressions


def test_a_model_with_no_box_syntax_sees_the_box_drawn(run_eval, server: FakeVLMServer) -> None:
    common = ("task=refcocog_reg", "backend=openai", f"backend.base_url={server.openai_url}",
              "backend.model=m", "dataset.limit=3")  # fmt: skip
    run = load_run(run_eval(*common, "backend.prompt_family=drawn-box").run_dir)
    drawn = _sent(server)
    plain = _sent_after(server, lambda: run_eval(*common))
    for (text, framed), (_, original), (_, row) in zip(drawn, plain, run.samples.iterrows(),
                                                       strict=True):  # fmt: skip
        assert "[" not in text and "red box" in text  # no coordinates: the picture says it
        assert framed != original
        x1, y1, x2, y2 = (round(v) for v in row["gold_box"])
        picture = Image.open(io.BytesIO(framed)).convert("RGB")
        assert picture.getpixel((x1, (y1 + y2) // 2)) == (255, 0, 0)  # the frame's left edge
        inside = picture.getpixel(((x1 + x2) // 2, (y1 + y2) // 2))
        assert inside == Image.open(io.BytesIO(original)).convert("RGB").getpixel(
            ((x1 + x2) // 2, (y1 + y2) // 2)
        )  # the region itself is left as it was


def _sent_after(server: FakeVLMServer, action) -> list[tuple[str, bytes]]:  # type: ignore[no-untyped-def]
    before = len(server.received)
    action()
    return _sent(server)[before:]


def test_the_scores_are_the_caption_metrics_against_the_objects_expressions(run_eval) -> None:
    run = load_run(run_eval("task=refcocog_reg", "dataset.limit=20").run_dir)
    assert run.summary is not None
    metrics = set(run.summary.loc[run.summary["kind"] == "metric", "metric"])
    assert {"CIDEr", "Bleu_4", "METEOR", "ROUGE_L"} <= metrics
    assert run.samples["gold_box"].notna().all()
    assert (
        run.samples["sample_id"].is_unique and not run.samples["sample_id"].str.contains("#").any()
    )

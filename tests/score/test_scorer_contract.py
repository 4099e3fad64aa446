"""Every public scorer: keyword-only, deterministic, total on empty and odd predictions."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from evalkit.score import anls, relaxed_accuracy, vqa_accuracy
from evalkit.score.vqa import VQA_MODES

SCORERS: dict[str, Callable[..., float]] = {
    **{f"vqa[{m}]": partial(vqa_accuracy, mode=m) for m in VQA_MODES},
    "anls": anls,
    "relaxed[pix2struct]": relaxed_accuracy,
    "relaxed[qwen-vl]": partial(relaxed_accuracy, mode="qwen-vl"),
}
ODD = ["", " ", "\n", "yes" * 1000, "合计金额", "1,000.", "N/A", "nan", "inf", "-0", "%", "\u2028"]


@pytest.mark.parametrize("name", SCORERS)
@pytest.mark.parametrize("prediction", ODD)
def test_scores_are_in_range_and_deterministic(name: str, prediction: str) -> None:
    scorer = SCORERS[name]
    answers = ["yes", "1000", "合计金额", "inf"]
    first = scorer(prediction=prediction, answers=answers)
    assert 0.0 <= first <= 1.0
    assert scorer(prediction=prediction, answers=answers) == first


@pytest.mark.parametrize("scorer", [vqa_accuracy, anls, relaxed_accuracy])
def test_keyword_only_and_no_empty_gold(scorer: Callable[..., Any]) -> None:
    with pytest.raises(TypeError):
        scorer("yes", ["yes"])
    with pytest.raises(ValueError, match="at least one gold answer"):
        scorer(prediction="yes", answers=[])


def test_missing_java_is_one_line_before_any_model_call(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    env = {"PATH": str(tmp_path), "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "evalkit", "task=coco_caption", f"results_dir={tmp_path}/r"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "evalkit: error: caption metrics need Java for the PTB tokenizer and METEOR: install a "
        "Java runtime (e.g. apt-get install default-jre-headless) and make sure 'java' is on PATH"
    ]
    assert not list((tmp_path / "r").rglob("samples.*"))  # nothing was evaluated

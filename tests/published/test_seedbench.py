"""SEED-Bench's published GPT-4V figure, reproduced from the predictions SEED-Bench publishes.

``AILab-CVC/SEED-Bench`` keeps GPT-4V's answers to SEED-Bench-1 (``evaluate_result/SEED-Bench-1/
GPT-4V.json``: ``question_id``, ``prediction`` and ``gt_answer`` per question, image and video).
SEED-Bench's leaderboard prints GPT-4V's image accuracy as 69.1. The annotations themselves
(``SEED-Bench.json``, on the Hub only) are in no public repository, so the dataset this test
reads is built from the file's own ``question_id`` and ``gt_answer``, its ``data_type`` from the
id (video questions are ``v<n>``), the question and options placeholders (replayed answers need
neither). What is checked is evalkit's part: the task's image filter, pairing by id and the
letter rule; and that the file's eight questions answered twice are refused, not averaged in.
Sources, hash and licence: ``tests/published/README.md``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from evalkit import load_run

from ..conftest import main_in_process, results_of

FILE = Path(__file__).parent / "seedbench" / "GPT-4V.json"
SHA256 = "7da556c366019b8056fdb634100a918081ca3e0fb9ffc918defaa71cc16eeb25"
IMAGE_ACCURACY = 69.1
"""GPT-4V's SEED-Bench-1 image accuracy, percent, one decimal (the leaderboard's figure)."""


def _predictions() -> list[dict[str, str]]:
    """The file: one JSON object per line, each but the last followed by a comma (neither a
    JSON list nor JSON lines as published)."""
    text = FILE.read_text(encoding="utf-8")
    return [json.loads(line.rstrip().rstrip(",")) for line in text.splitlines() if line.strip()]


def test_the_pinned_file_is_the_published_one() -> None:
    assert hashlib.sha256(FILE.read_bytes()).hexdigest() == SHA256


def _jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _dataset(path: Path, predictions: list[dict[str, str]]) -> Path:
    """The questions in the task's Hub schema, once each (see the module's docstring)."""
    rows = {p["question_id"]: {
        "question_id": p["question_id"], "answer": p["gt_answer"],
        "data_type": "video" if p["question_id"].startswith("v") else "image",
        "question": f"SEED-Bench question {p['question_id']}",
        **{f"choice_{c}": f"option {c.upper()}" for c in "abcd"},
    } for p in predictions}  # fmt: skip
    return _jsonl(path, list(rows.values()))


def _replay(capsys: pytest.CaptureFixture[str], tmp_path: Path, data: Path,
            predictions: Path) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return main_in_process(capsys, tmp_path, "task=seedbench", "dataset=local",
                           f"dataset.path={data}", "backend=replay",
                           f"backend.predictions={predictions}",
                           "backend.id_column=question_id", "report.bootstrap=0")  # fmt: skip


def test_a_question_answered_twice_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The file answers eight questions twice, three of them differently (34388: C then A);
    a script averaging the file's lines counts both. evalkit asks which one is meant."""
    predictions = _predictions()
    twice = [k for k, n in Counter(p["question_id"] for p in predictions).items() if n > 1]
    assert len(twice) == 8
    data = _dataset(tmp_path / "seedbench.jsonl", predictions)
    proc = _replay(capsys, tmp_path, data, _jsonl(tmp_path / "gpt4v.jsonl", predictions))
    assert proc.returncode == 2
    assert "is given twice" in proc.stderr and "keep one prediction per sample" in proc.stderr


def test_published_image_accuracy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The first answer of each question given twice kept: 69.08, the published 69.1 (the
    last kept: 69.07; every line counted, as a script averaging the file's lines does: 69.07)."""
    predictions = _predictions()
    once: dict[str, dict[str, str]] = {}
    for p in predictions:
        once.setdefault(p["question_id"], p)
    data = _dataset(tmp_path / "seedbench.jsonl", predictions)
    proc = _replay(capsys, tmp_path, data, _jsonl(tmp_path / "gpt4v.jsonl", list(once.values())))
    assert proc.returncode == 0, proc.stderr
    run_dir = results_of(proc, tmp_path)
    run = load_run(run_dir)
    videos = sum(k.startswith("v") for k in once)
    assert (len(run.samples), videos) == (14232, 3757)
    assert run.samples["error"].isna().all()
    summary = run.summary
    assert summary is not None
    whole = summary[(summary["metric"] == "exact_match") & summary["group"].isna()]
    assert round(100 * whole["value"].item(), 1) == IMAGE_ACCURACY
    assert round(100 * whole["value"].item(), 2) == 69.08
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["dataset"]["rows_left_out"] == videos  # the filter, not the pairing
    assert manifest["backend_record"]["unmatched"] == videos  # their answers name no sample

"""Published MathVista figures, reproduced from the prediction files MathVista publishes.

Each case replays one of ``lupantech/MathVista``'s ``results/`` files (the answers its
extraction model read, ``extraction``) against MathVista's own testmini annotations
(``data/testmini.json`` with ``data/query.json``, read in their release layout) through
``backend=replay`` and evalkit's scorer, and asserts the figures of the MathVista paper's
Table 2 (testmini) at their printed precision: the whole set and each task (FQA, GPS, MWP,
TQA, VQA). Sources, hashes and licence: ``tests/published/README.md``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from evalkit import load_run

from ..conftest import main_in_process, results_of

HERE = Path(__file__).parent / "mathvista"
TASKS = ["figure question answering", "geometry problem solving", "math word problem",
         "textbook question answering", "visual question answering"]  # fmt: skip
"""Table 2's FQA, GPS, MWP, TQA and VQA columns: ``metadata.task``."""

PUBLISHED = {  # file -> (Table 2 row, ALL, FQA, GPS, MWP, TQA, VQA), percent, one decimal
    "output_random_guess.json": ("Random chance", 17.9, 18.2, 21.6, 3.8, 19.6, 26.3),
    "output_frequent_guess.json": ("Frequent guess", 26.3, 22.7, 34.1, 20.4, 31.0, 24.6),
    "output_llava_llama_2_13b.json": ("LLaVA (LLaMA-2-13B)", 26.1, 26.8, 29.3, 16.1, 32.3, 26.3),
}
SHA256 = {
    "data/testmini.json": "ab0148dca9d401c31cc47f29b3826eec28a76ff155a1c0878d81e8daf0413480",
    "data/query.json": "a2d173eafbadc7fec6f6d101822723debcbde06bd23a754ebdfc92e229161421",
    "output_random_guess.json": "7c3c878df8b7cbd5afc673cfa864301fe155e1e7c40f85deffdd8b97f4ee7ea1",
    "output_frequent_guess.json": "6673eda8b09486024118d602bb4ab517f03f6e47ea6fd62f97fd65ec3d37f8c2",
    "output_llava_llama_2_13b.json": "4e338776500fe1bf8d906f202c7f7c836973103f80df66c5dbfa33140ced4423",
}


def test_the_pinned_files_are_the_published_ones() -> None:
    for name, digest in SHA256.items():
        assert hashlib.sha256((HERE / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_figure(capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str) -> None:
    row, overall, *by_task = PUBLISHED[name]
    proc = main_in_process(capsys, tmp_path, "task=mathvista", "dataset=local",
                           f"dataset.path={HERE / 'data'}", "backend=replay",
                           f"backend.predictions={HERE / name}",
                           "backend.prediction_column=extraction", "report.bootstrap=0")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run_dir = results_of(proc, tmp_path)
    run = load_run(run_dir)
    assert len(run.samples) == 1000 and run.samples["error"].isna().all()
    summary = run.summary
    assert summary is not None
    metric = summary[summary["metric"] == "mathvista_accuracy"]
    whole = metric[metric["group"].isna()]["value"].item()
    groups = metric.dropna(subset=["group"]).set_index("group")["value"]
    got = [round(100 * whole, 1), *(round(100 * groups[task], 1) for task in TASKS)]
    assert got == [overall, *by_task], f"{row}: {got}"
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["dataset"]["release"] == "mathvista-json"
    assert manifest["backend_record"]["sha256"] == SHA256[name]


def test_the_scorer_reads_the_datasets_answers_not_the_files() -> None:
    """calculate_score.py scores against an output file's own copy of ``answer`` when it has
    one; evalkit only ever reads the dataset's. In these files the copies agree."""
    gold = json.loads((HERE / "data" / "testmini.json").read_text())
    for name in PUBLISHED:
        problems = json.loads((HERE / name).read_text())
        assert {pid: p["answer"] for pid, p in problems.items()} == {
            pid: p["answer"] for pid, p in gold.items()
        }
        frame = pd.DataFrame.from_dict(problems, orient="index")
        assert len(frame) == 1000

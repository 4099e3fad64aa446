"""The CI example's script, end to end: a baseline, then candidates answering worse or as well."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.testing.answers import answer_book
from evalkit.testing.fake_server import FakeVLMServer

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "github-actions" / "eval-regression.sh"
TASKS = "docvqa vqav2"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="the script is bash")


def _script(
    server: FakeVLMServer,
    tmp_path: Path,
    baseline: Path,
    out: Path,
    model: str,
    wrong_every: int = 0,
) -> subprocess.CompletedProcess[str]:
    books = [answer_book(t, wrong=(lambda i: i % wrong_every == 0) if wrong_every else
                         (lambda i: False)) for t in TASKS.split()]  # fmt: skip
    server.answer_book = {k: v for book in books for k, v in book.items()}
    env = {
        **os.environ,
        "EVALKIT": f"{sys.executable} -m evalkit",
        "EVAL_TASKS": TASKS,
        "MAX_DROP": "0.01",
        "OPENAI_API_KEY": "k",
        "PYTHONWARNINGS": "ignore",
    }
    return subprocess.run(
        [
            "bash",
            str(SCRIPT),
            str(baseline),
            str(out),
            "backend=openai",
            f"backend.base_url={server.openai_url}",
            f"backend.model={model}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )


@pytest.mark.slow  # the CI example end to end, as whole processes: make test-all
def test_the_regression_script_gates_a_worse_model(server: FakeVLMServer, tmp_path: Path) -> None:
    first = _script(server, tmp_path, tmp_path / "none", tmp_path / "main", "model-v1")
    assert first.returncode == 0, first.stderr
    assert "nothing to compare (this run becomes the baseline)" in first.stdout
    assert len(list((tmp_path / "main").rglob("run.json"))) == 2

    worse = _script(
        server, tmp_path, tmp_path / "main", tmp_path / "pr-1", "model-v2", wrong_every=4
    )
    assert worse.returncode == 1, worse.stdout + worse.stderr
    assert "result: FAIL, significant drop: docvqa/anls" in worse.stdout
    report = json.loads((tmp_path / "pr-1" / "compare.json").read_text())
    assert report["exit_code"] == 1 and report["gate"]["n_gated"] == 2
    assert {m["task"] for m in report["metrics"] if m["failed"]} == {"docvqa", "vqav2"}
    md = (tmp_path / "pr-1" / "compare.md").read_text()
    assert md.startswith("### evalkit compare: FAIL") and "<details>" in md

    same = _script(server, tmp_path, tmp_path / "main", tmp_path / "pr-2", "model-v3")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "result: PASS" in same.stdout
    assert (tmp_path / "pr-2" / "compare.md").read_text().startswith("### evalkit compare: PASS")


def test_the_workflow_calls_the_tested_script() -> None:
    workflow = (ROOT / "examples" / "github-actions" / "eval-regression.yml").read_text()
    assert "bash .evalkit/examples/github-actions/eval-regression.sh baseline results" in workflow
    assert "run: pip install ./.evalkit" in workflow and "path: .evalkit" in workflow
    assert 'EVAL_DATA: "dataset=hf dataset.limit=500"' in workflow and "$EVAL_DATA" in workflow
    assert "--body-file results/compare.md" in workflow
    assert "secrets.DASHSCOPE_API_KEY" in workflow and "api_key" not in workflow

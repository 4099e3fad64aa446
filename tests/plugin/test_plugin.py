"""A package of the user's own adds a task folder, a metric and a backend through the
``evalkit.plugins`` entry point, and a run uses all three: in this process and from the command
line of a new one, without editing evalkit."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from evalkit import registry

ECHO = """
from dataclasses import dataclass
from typing import Any

from evalkit.backends.base import BackendIdentity, RetryDecision
from evalkit.config import BackendConfig
from evalkit.records import Completion, Request, TextPart, Usage


@dataclass
class EchoConfig(BackendConfig):
    shout: bool = True


class EchoBackend:
    priced = False
    adaptive = False
    max_concurrency = None
    min_concurrency = None
    takes_min_tokens = False

    def __init__(self, config: EchoConfig) -> None:
        self.identity = BackendIdentity(name="echo", model=config.model)
        self.shout = config.shout

    @classmethod
    def from_config(cls, config: EchoConfig) -> "EchoBackend":
        return cls(config)

    def may_cache(self, request: Request) -> bool:
        return False

    def explain(self, error: Exception) -> str:
        return ""

    def attempt_timeout(self, configured: float) -> float | None:
        return configured

    def cache_options(self) -> dict[str, Any]:
        return {}

    async def generate(self, request: Request) -> Completion:
        text = " ".join(p.text for m in request.messages for p in m.parts
                        if isinstance(p, TextPart))
        word = text.split()[-1].strip("?")
        return Completion(text=word.upper() if self.shout else word, usage=Usage(0, 0, 0))

    def classify(self, error: Exception) -> RetryDecision:
        return RetryDecision.fail

    async def aclose(self) -> None:
        pass
"""

INIT = """
from pathlib import Path


def shouted(prediction, sample) -> float:
    return float(prediction.answer.isupper())


def register() -> None:
    from evalkit.backends.registry import BACKENDS, BackendEntry
    from evalkit.score.registry import METRICS, MetricKind
    from evalkit.compose.tasks import TASK_FOLDERS

    from evalkit_demo.echo import EchoConfig

    TASK_FOLDERS.add("demo", Path(__file__).parent / "tasks")
    METRICS.add("shouted", MetricKind("text", "1 when the answer is in capitals", {}, shouted))
    BACKENDS.add("echo", BackendEntry("evalkit_demo.echo:EchoBackend", EchoConfig))
"""

TASK = """name: echo_words
kind: vqa
description: the last word of the question, as the plugin's backend says it
dataset: {hf_id: local/echo-words, split: test}
columns: {id: qid, answers: answers}
prompts: {default: {user: "{question}"}}
parser: answer
metrics: [shouted, {name: exact_match, mode: strict}]
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``evalkit_demo`` installed into a folder on ``sys.path``, its dist-info naming the
    entry point, as pip would leave it."""
    site = tmp_path / "site"
    package = site / "evalkit_demo"
    (package / "tasks" / "vqa").mkdir(parents=True)
    (package / "__init__.py").write_text(INIT)
    (package / "echo.py").write_text(ECHO)
    (package / "tasks" / "vqa" / "echo_words.yaml").write_text(TASK)
    info = site / "evalkit_demo-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: evalkit-demo\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[evalkit.plugins]\ndemo = evalkit_demo:register\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    _forget_plugins()
    yield site
    from evalkit.backends.registry import BACKENDS
    from evalkit.compose.tasks import TASK_FOLDERS
    from evalkit.score.registry import METRICS

    BACKENDS.remove("echo"), METRICS.remove("shouted"), TASK_FOLDERS.remove("demo")
    sys.modules.pop("evalkit_demo", None), sys.modules.pop("evalkit_demo.echo", None)
    _forget_plugins()


def _forget_plugins() -> None:
    from evalkit.compose import hydra as compose
    from evalkit.compose import tasks

    registry._points.cache_clear()
    registry._load_plugins.cache_clear()
    compose.register_schemas.cache_clear()
    for cached in (tasks.task_files, tasks.task_node, tasks.load_task):
        cached.cache_clear()


def _data(tmp_path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "blank.png")
    rows = [{"qid": f"q{i}", "question": f"Say {word}?", "answers": [word.upper()],
             "image": "blank.png"} for i, word in enumerate(["yes", "cat", "blue"])]  # fmt: skip
    path = tmp_path / "words.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


OVERRIDES = ["task=echo_words", "backend=echo", "backend.model=echo-1", "dataset=local"]


def test_a_plugin_adds_a_task_a_metric_and_a_backend(plugin: Path, run_eval, tmp_path: Path  # type: ignore[no-untyped-def]
                                                     ) -> None:  # fmt: skip
    assert registry.load_plugins() == ("demo",)
    outcome = run_eval(*OVERRIDES, f"dataset.path={_data(tmp_path)}")
    samples = pd.read_parquet(outcome.run_dir / "samples.parquet")
    assert list(samples["prediction"]) == ["YES", "CAT", "BLUE"]
    assert list(samples["shouted"]) == [1.0, 1.0, 1.0]
    manifest = json.loads((outcome.run_dir / "run.json").read_text())
    assert manifest["backend"]["name"] == "echo"
    assert [m["name"] for m in manifest["scoring"]["metrics"]] == ["shouted", "exact_match"]
    assert manifest["results"] == {"shouted": 1.0, "exact_match": 1.0}
    # the plugin backend's own option is typed and checked like any other
    quiet = run_eval(*OVERRIDES, f"dataset.path={_data(tmp_path)}", "backend.shout=false")
    assert json.loads((quiet.run_dir / "run.json").read_text())["results"]["shouted"] == 0.0


def test_the_command_line_finds_the_plugin(plugin: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {"PYTHONPATH": os.pathsep.join([str(plugin), os.environ.get("PYTHONPATH", "")])}
    proc = cli(*OVERRIDES, f"dataset.path={_data(tmp_path)}", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "shouted" in proc.stdout
    typo = cli(*OVERRIDES[:1], "backend=ecko", "backend.model=m", env=env)
    assert typo.returncode == 2 and "did you mean 'echo'" in typo.stderr


def test_a_plugin_that_fails_to_load_is_one_line(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    site = tmp_path / "site"
    (site / "broken_demo").mkdir(parents=True)
    (site / "broken_demo" / "__init__.py").write_text("def register():\n    raise KeyError('x')\n")
    info = site / "broken_demo-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-demo\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[evalkit.plugins]\nbroken = broken_demo:register\n")
    proc = cli("task=docvqa", env={"PYTHONPATH": str(site)})
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "evalkit: error: evalkit plugin 'broken' (broken_demo:register) failed to load: "
        "KeyError: 'x'"
    )

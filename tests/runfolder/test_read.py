"""``read_run``: a run folder read back, its config the typed RunConfig it was run with."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from evalkit.backends.registry import BACKENDS
from evalkit.compose import compose
from evalkit.compose.tasks import load_task, task_names
from evalkit.errors import ConfigError
from evalkit.runfolder import read_run
from evalkit.runfolder.read import run_config
from evalkit.structured import plain

_NEEDS = {"openai": ["backend.model=m", "backend.base_url=http://127.0.0.1:9/v1"],
          "dashscope": [], "hf": ["backend.model=/models/tiny"], "baseline": [],
          "replay": ["backend.predictions=preds.jsonl"]}  # fmt: skip


@pytest.mark.parametrize("task", task_names())
def test_every_tasks_config_reads_back_as_it_was_composed(task: str) -> None:
    cfg = dataclasses.replace(compose([]), task=load_task(task))  # the task as a run holds it
    assert run_config(plain(cfg), "run.json") == cfg


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_every_backends_config_reads_back_as_its_own_schema(backend: str) -> None:
    cfg = compose([f"backend={backend}", *_NEEDS.get(backend, [])])
    back = run_config(plain(cfg), "run.json")
    assert back == cfg and type(back.backend) is BACKENDS[backend].schema


def test_a_finished_run_reads_back(run_eval) -> None:  # type: ignore[no-untyped-def]
    outcome = run_eval("task=chartqa", "dataset.limit=4")
    folder = read_run(outcome.run_dir)
    assert folder.sealed and folder.task == "chartqa"
    assert folder.config == compose(
        ["report.progress=false", "report.table=false", "task=chartqa", "dataset.limit=4"]
    )
    assert folder.samples.num_rows == 4
    assert folder.sample_columns(["sample_id"]).column_names == ["sample_id"]
    assert [r.metric for r in folder.summary() if r.kind == "metric"] == ["relaxed_accuracy"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["backend"].update(name="nobody"), "backend 'nobody' is not one this"),
        (lambda c: c["limits"].update(concurrency="many"), "has no usable config: Value 'many'"),
        (lambda c: c.pop("task"), "has no usable config: no task record"),
    ],
)
def test_an_unusable_config_is_one_line(run_eval, change, message: str) -> None:  # type: ignore[no-untyped-def]
    outcome = run_eval("task=chartqa", "dataset.limit=2")
    path = Path(outcome.run_dir) / "run.json"
    manifest = json.loads(path.read_text())
    change(manifest["config"])
    path.write_text(json.dumps(manifest))
    folder = read_run(outcome.run_dir)
    assert folder.task == "chartqa"  # what does not need the config still reads
    with pytest.raises(ConfigError, match=message) as raised:
        _ = folder.config
    assert "\n" not in str(raised.value)


def test_a_folder_without_a_record_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a finished run folder"):
        read_run(tmp_path)

"""A repeated command takes Hydra's kept output; anything it was made from changing composes anew."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evalkit.compose import cache as compose_cache
from evalkit.compose import compose_job

ROOT = Path(__file__).resolve().parent.parent
OVERRIDES = ["task=chartqa", "backend=openai", "backend.model=m",
             "backend.base_url=http://127.0.0.1:9/v1", "dataset.limit=3"]  # fmt: skip
TASK = """name: mine
kind: vqa
dataset: {hf_id: me/mine}
columns: {id: qid}
prompts: {default: {user: "{question}"}}
metrics: [vqa_accuracy]
"""


def _lookup(overrides: list[str]) -> compose_cache.Composed | None:
    return compose_cache.lookup(compose_cache.cache_key(overrides))


def test_a_repeated_command_is_hydras_kept_output() -> None:
    first = compose_job(OVERRIDES)
    kept = _lookup(OVERRIDES)
    assert kept is not None and kept.config is not first.config  # a copy, each time
    compose_cache.forget()
    again = _lookup(OVERRIDES)  # from the file, as a new process reads it
    assert again is not None and (again.config, again.job) == (kept.config, kept.job)
    assert kept.config == first.config
    assert kept.job == first.job and kept.hydra == first.hydra
    assert Path(kept.run_dir).parent == Path(first.run_dir).parent  # the time is today's
    assert _lookup([*OVERRIDES[:-1], "dataset.limit=4"]) is None


def test_a_kept_command_names_its_run_folder_for_now(tmp_path: Path) -> None:
    """The time in the folder's name is replaced, nothing else: a results folder with slashes
    in it stays as given."""
    overrides = [*OVERRIDES, f"results_dir={tmp_path / 'a' / 'b'}"]
    first = compose_job(overrides)
    kept = _lookup(overrides)
    assert kept is not None and Path(kept.run_dir).parent == Path(first.run_dir).parent
    assert Path(kept.run_dir).parent == tmp_path / "a" / "b" / "chartqa" / "openai"


def test_a_changed_task_file_composes_anew(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evalkit.compose import tasks

    (tmp_path / "vqa").mkdir()
    path = tmp_path / "vqa" / "mine.yaml"
    path.write_text(TASK)
    monkeypatch.setenv("EVALKIT_TASKS", str(tmp_path))

    def new_process() -> None:  # a task file is read once per process
        for cached in (tasks.task_files, tasks.task_node, tasks.load_task):
            cached.cache_clear()
        compose_cache.forget()

    new_process()
    assert compose_job(["task=mine"]).config.task.description == ""
    assert _lookup(["task=mine"]) is not None
    path.write_text(TASK + "description: changed\n")
    new_process()
    assert _lookup(["task=mine"]) is None
    assert compose_job(["task=mine"]).config.task.description == "changed"


def test_a_time_or_an_environment_variable_in_a_value_is_not_kept() -> None:
    for value in ("${now:%Y}", "${oc.env:HOME}"):
        overrides = [f"task.description='{value}'"]
        assert compose_job(overrides).config.task.description
        assert _lookup(overrides) is None


def test_a_damaged_entry_is_composed_again() -> None:
    first = compose_job(OVERRIDES)
    for entry in compose_cache.cache_folder().glob("*.pickle"):
        entry.write_bytes(b"not a pickle")
    compose_cache.forget()  # as a new process would: only the damaged file is left
    assert _lookup(OVERRIDES) is None
    assert compose_job(OVERRIDES).config == first.config


def test_the_second_process_does_not_import_hydra(tmp_path: Path) -> None:
    code = ("import sys; from evalkit.compose import compose_job; "
            f"compose_job({OVERRIDES!r}); print('hydra' in sys.modules)")  # fmt: skip
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
        ).stdout.strip()  # fmt: skip
        for _ in range(2)
    ]
    assert runs == ["True", "False"]


@pytest.fixture(autouse=True)
def _tasks_read_afresh() -> Iterator[None]:
    from evalkit.compose import tasks

    yield
    for cached in (tasks.task_files, tasks.task_node, tasks.load_task):
        cached.cache_clear()

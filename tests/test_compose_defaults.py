"""Jobs with the same group choices compose from a kept copy: the same config as Hydra alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.compose import compose_node, defaults
from evalkit.errors import ConfigError

JOBS = [
    ["task=vqav2"],
    ["task=vqav2", "dataset.limit=3", "report.bootstrap=0"],
    ["task=vqav2", "task.columns.keep=[answer_type]", "dataset.limit=4"],
    ["task=vqav2", "+pricing.models.m={input: 1.0, output: 2.0}", "task.fewshot.k=2"],
    ["task=vqav2", "+pricing.models.m={input: 1.0, output: 2.0}", "~pricing.models.m"],
    ["task=vqav2", "backend=openai", "backend.model=m", "backend.base_url=http://127.0.0.1:9/v1"],
    ["task=vqav2", "backend=openai", "backend.model=n", "backend.base_url=http://127.0.0.1:8/v1",
     "backend.temperature=0.5", "results_dir=/tmp/r"],
    ["task=mmmu", "judge=stand_in", "dataset.splits=[validation,dev]"],
    ["task=mmvet", "judge=stand_in", "judge.repeats=3", "hydra.job.name=mine"],
    ["task=seedbench", "task.dataset.where.data_type=[video]", "runner=ray", "runner.workers=2"],
]  # fmt: skip


def _plain(node: object) -> object:
    from omegaconf import OmegaConf

    data = OmegaConf.to_container(node, resolve=False)  # type: ignore[arg-type]
    assert isinstance(data, dict)
    data["hydra"].pop("runtime", None)  # the working folder and sources: the same either way
    return data


def test_a_kept_composition_is_what_hydra_composes_alone() -> None:
    defaults.forget()
    kept = [_plain(compose_node(job, hydra=True)) for job in JOBS + JOBS]  # the second: kept
    defaults.uninstall()
    try:
        alone = [_plain(compose_node(job, hydra=True)) for job in JOBS]
    finally:
        defaults.install()
    assert kept[: len(JOBS)] == alone and kept[len(JOBS) :] == alone


def test_a_value_override_hydra_refuses_is_refused_from_a_kept_copy() -> None:
    compose_node(["task=vqav2", "dataset.limit=2"])
    with pytest.raises(ConfigError, match="dataset.limti"):
        compose_node(["task=vqav2", "dataset.limti=2"])
    with pytest.raises(ConfigError, match="dataset.limit"):
        compose_node(["task=vqav2", "dataset.limit=many"])


def test_a_copy_changed_by_one_job_is_not_the_next_jobs(tmp_path: Path) -> None:
    first = compose_node(["task=vqav2", "task.description=first"])
    second = compose_node(["task=vqav2"])
    assert first.task.description == "first" and second.task.description != "first"


def test_an_edited_task_file_is_composed_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalkit.compose import tasks

    task = ("name: mine\nkind: vqa\ndataset: {hf_id: me/mine}\ncolumns: {id: qid}\n"
            'prompts: {default: {user: "{question}"}}\nmetrics: [vqa_accuracy]\n')  # fmt: skip
    (tmp_path / "vqa").mkdir()
    path = tmp_path / "vqa" / "mine.yaml"
    path.write_text(task)
    monkeypatch.setenv("EVALKIT_TASKS", str(tmp_path))
    for cached in (tasks.task_files, tasks.task_node, tasks.load_task):
        cached.cache_clear()
    assert compose_node(["task=mine"]).task.description == ""
    path.write_text(task + "description: changed\n")
    for cached in (tasks.task_files, tasks.task_node, tasks.load_task):
        cached.cache_clear()
    assert compose_node(["task=mine"]).task.description == "changed"

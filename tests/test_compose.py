from __future__ import annotations

import shutil
from enum import Enum
from pathlib import Path

import pytest
import yaml

from evalkit.backends.registry import BACKENDS
from evalkit.cli import group_options
from evalkit.compose import compose, compose_job
from evalkit.compose.tasks import load_task
from evalkit.config import CacheMode, RunConfig, Source
from evalkit.resources import configs_dir

from .conftest import compose_run

GROUPS = ["task", "backend", "dataset", "cache", "limits", "report", "experiment", "debug"]
OPTIONS = [(g, o) for g in GROUPS for o in group_options(g)]


def test_every_group_has_options() -> None:
    for group in GROUPS:
        assert group_options(group), group


def _leaves(node: object, prefix: str = "") -> dict[str, object]:
    """Every plain value of a YAML file by its dotted path (interpolations, ??? and the
    defaults list left out: they are not values)."""
    if isinstance(node, dict):
        out: dict[str, object] = {}
        for key, value in node.items():
            if key != "defaults":
                out.update(_leaves(value, f"{prefix}{key}."))
        return out
    if isinstance(node, str) and (node.startswith("${") or node == "???"):
        return {}
    return {prefix.rstrip("."): node}


def _get(cfg: object, path: str) -> object:
    for part in path.split("."):
        cfg = getattr(cfg, part)
    return cfg.value if isinstance(cfg, Enum) else cfg


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_composes_with_its_values(group: str, option: str) -> None:
    mandatory = {
        ("dataset", "local"): ["dataset.path=somewhere"],
        ("backend", "openai"): ["backend.model=m", "backend.base_url=http://127.0.0.1:1/v1"],
        ("backend", "hf"): ["backend.model=/ckpt/qwen2-vl-2b"],
        ("backend", "replay"): ["backend.predictions=preds.jsonl"],
        ("task", "mmvet"): ["judge=stand_in"],  # a judged task needs a judge
        ("task", "llava_bench"): ["judge=stand_in"],
        ("judge", "openai"): [
            "task=mmvet",
            "judge.model=m",
            "judge.base_url=http://127.0.0.1:1/v1",
        ],  # fmt: skip
        ("judge", "dashscope"): ["task=mmvet", "judge.model=qwen-max-2025-01-25"],
        ("judge", "hf"): ["task=mmvet", "judge.model=/ckpt/judge"],
        ("judge", "stand_in"): ["task=mmvet"],
    }
    extra = mandatory.get((group, option), [])
    cfg = compose_run([f"{group}={option}", *extra])
    assert isinstance(cfg, RunConfig)
    if group == "task":
        assert cfg.task == load_task(option)
        return
    text = (configs_dir() / group / f"{option}.yaml").read_text()
    values = _leaves(yaml.safe_load(text))
    assert values, f"{group}/{option}.yaml sets nothing"
    package_global = text.startswith("# @package _global_")
    given = {o.partition("=")[0] for o in extra}
    for path, value in values.items():
        full = path if package_global else f"{group}.{path}"
        if full not in given:  # a value the command line must give (openai's base_url: null)
            assert _get(cfg, full) == value, path
    if group == "backend":
        assert (
            type(cfg.backend) is BACKENDS[option].schema
        )  # each backend composes into its own schema


def test_defaults_are_the_offline_run() -> None:
    cfg = compose_run()
    assert cfg.task.name == "docvqa"
    assert cfg.backend.name == "baseline"
    assert cfg.dataset.source is Source.sample
    assert cfg.cache.mode is CacheMode.use


@pytest.mark.parametrize(
    ("overrides", "check"),
    [
        (
            ["task=vqav2"],
            lambda c: (
                c.task.parser == "answer" and c.task.metrics[0].params == {"mode": "standard"}
            ),
        ),
        (["task=textvqa"], lambda c: c.task.metrics[0].params == {"mode": "textvqa"}),
        (["task=refcoco", "dataset.split=testA"], lambda c: c.dataset.split == "testA"),
        (
            ["dataset=hf", "dataset.revision=abc123"],
            lambda c: c.dataset.source is Source.hf and c.dataset.revision == "abc123",
        ),
        (
            ["dataset.source=local", "dataset.path=/x.parquet"],
            lambda c: c.dataset.path == "/x.parquet",
        ),
        (["dataset.limit=5"], lambda c: c.dataset.limit == 5),
        (
            ["limits.concurrency=3", "limits.rpm=100"],
            lambda c: (c.limits.concurrency, c.limits.rpm) == (3, 100),
        ),
        (
            ["limits.max_retries=0", "limits.timeout_s=2.5"],
            lambda c: (c.limits.max_retries, c.limits.timeout_s) == (0, 2.5),
        ),
        (
            ["cache.mode=refresh", "cache.path=/tmp/c.sqlite"],
            lambda c: c.cache.mode is CacheMode.refresh,
        ),
        (
            ["backend=dashscope", "backend.model=qwen-vl-plus", "backend.api_key_env=MY_KEY"],
            lambda c: c.backend.model == "qwen-vl-plus" and c.backend.api_key_env == "MY_KEY",
        ),
        (["backend.prompt_family=qwen-vl"], lambda c: c.backend.prompt_family == "qwen-vl"),
        (["debug=default"], lambda c: c.dataset.limit == 8 and c.limits.concurrency == 1),
        (
            ["experiment=qwen_vl_baseline_smoke"],
            lambda c: c.backend.prompt_family == "qwen-vl" and c.dataset.limit == 20,
        ),
        (["results_dir=/tmp/elsewhere"], lambda c: c.results_dir == "/tmp/elsewhere"),
    ],
)
def test_override_semantics(overrides: list[str], check) -> None:  # type: ignore[no-untyped-def]
    assert check(compose_run(overrides))


def test_the_baseline_answer_follows_the_task() -> None:
    job = compose_job(["task.baseline.answer=no_way"])
    assert job.config.backend.answer == "no_way"  # type: ignore[attr-defined]
    assert job.job["backend"]["answer"] == "${task.baseline.answer}"  # the record keeps it


def test_the_run_folder_is_named_from_the_task_backend_and_time() -> None:
    folder = Path(compose_job(["task=vqav2", "results_dir=out"]).run_dir)
    assert folder.parent == Path("out/vqav2/baseline")
    assert len(folder.name) == len("20261201-120000") and folder.name[8] == "-"


def test_hydra_records_its_whole_node_and_the_choices() -> None:
    job = compose_job(["task=chartqa", "backend=openai", "backend.model=m",
                       "backend.base_url=http://127.0.0.1:9/v1"])  # fmt: skip
    assert {"run", "sweep", "job", "runtime", "overrides"} <= set(job.hydra)
    assert job.hydra["runtime"]["choices"]["task"] == "chartqa"
    assert job.hydra["overrides"]["task"][0] == "task=chartqa"


def test_an_overlay_may_choose_a_task_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the chosen task is stored in Hydra's ConfigStore; an overlay's choice is found too."""
    from hydra.core.global_hydra import GlobalHydra

    from evalkit.compose import hydra as compose_module

    configs = tmp_path / "configs"
    shutil.copytree(configs_dir(), configs)
    (configs / "experiment" / "mine.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /task: textvqa\n"
    )
    monkeypatch.setattr(compose_module, "configs_dir", lambda: configs)
    GlobalHydra.instance().clear()  # Hydra is initialised once per process: on the copy here
    try:
        assert compose(["experiment=mine"]).task.name == "textvqa"
    finally:
        GlobalHydra.instance().clear()

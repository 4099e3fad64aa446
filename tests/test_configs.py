from __future__ import annotations

import pytest

from evalkit.cli import group_options
from evalkit.config import CacheMode, RunConfig, Source
from evalkit.tasks import task_names

from .conftest import compose_run

GROUPS = ["task", "backend", "dataset", "cache", "limits", "report", "experiment", "debug"]
OPTIONS = [(g, o) for g in GROUPS for o in group_options(g)]


def test_every_group_has_options() -> None:
    for group in GROUPS:
        assert group_options(group), group


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_composes(group: str, option: str) -> None:
    mandatory = {
        ("dataset", "local"): ["dataset.path=somewhere"],
        ("backend", "openai"): ["backend.model=m", "backend.base_url=http://127.0.0.1:1/v1"],
    }
    extra = mandatory.get((group, option), [])
    cfg = compose_run([f"{group}={option}", *extra])
    assert isinstance(cfg, RunConfig)
    assert cfg.task.name in task_names()


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
        (["limits.max_retries=0", "limits.timeout_s=2.5"], lambda c: c.limits.timeout_s == 2.5),
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

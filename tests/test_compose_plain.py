"""The plain composer is Hydra's result or not taken: compared with Hydra over the whole space.

For every override set here, :func:`compose_job` must behave the same with and without
``EVALKIT_COMPOSE=hydra``: the same :class:`RunConfig`, the same ``.hydra/config.yaml`` data
and run folder, or the same one-line error. A set the plain composer cannot take must be left
to Hydra (``composer == "hydra"``), never composed differently.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

from evalkit import compose_plain as plain_module
from evalkit.backends.registry import SCHEMAS
from evalkit.compose import (
    COMPOSER_ENV,
    Composed,
    _checked,
    compose_job,
    compose_node,
    from_node,
    group_options,
)
from evalkit.compose_plain import compose_plain
from evalkit.config import Price, RunConfig, TaskSpec
from evalkit.errors import ConfigError
from evalkit.structured import NotPlain, build, defaults, plain
from evalkit.tasks import task_names

_NEEDS = {
    ("backend", "openai"): ["backend.base_url=http://127.0.0.1:9/v1", "backend.model=m"],
    ("dataset", "local"): ["dataset.path=data/x.parquet"],
    ("backend", "hf"): [
        "backend.model=/ckpt/qwen2-vl-2b",
        "backend.batch_size=4",
        "backend.device=cpu",
    ],  # fmt: skip
}


def _same(overrides: Sequence[str]) -> Composed | None:
    """The plain composition of ``overrides``, checked against Hydra's; ``None`` if declined.

    A declined set is composed by Hydra alone (:func:`compose_job` falls back), so only an
    accepted one needs comparing; Hydra refusing what the plain composer accepted fails here.
    """
    try:
        ours = compose_plain(list(overrides))
    except NotPlain:
        return None
    try:
        theirs = from_node(compose_node(list(overrides), hydra=True))
    except ConfigError as exc:  # the checks both paths run on the typed config (ranges, task)
        with pytest.raises(ConfigError) as ours_too:
            _checked(ours.config)
        assert str(ours_too.value) == str(exc)
        return ours
    assert plain(ours.config) == plain(theirs.config), overrides
    assert type(ours.config.backend) is type(theirs.config.backend)
    assert ours.config == theirs.config
    assert ours.job == theirs.job, overrides  # .hydra/config.yaml: interpolations as written
    # the run folder: the same but for the timestamp Hydra's now resolver put at its end
    assert Path(ours.run_dir).parent == Path(theirs.run_dir).parent
    assert ours.hydra["runtime"]["choices"] == {
        k: v
        for k, v in theirs.hydra["runtime"]["choices"].items()
        if k in ours.hydra["runtime"]["choices"]
    }
    return ours


def _either_way(overrides: Sequence[str], monkeypatch: pytest.MonkeyPatch) -> Composed | str:
    """compose_job's result (or its error's text), checked to be Hydra's alone."""

    def attempt() -> Composed | str:
        try:
            return compose_job(list(overrides))
        except ConfigError as exc:
            return f"{type(exc).__name__}: {exc}"

    first = attempt()
    with monkeypatch.context() as patch:
        patch.setenv(COMPOSER_ENV, "hydra")
        hydra = attempt()
    if isinstance(first, str) or isinstance(hydra, str):
        assert first == hydra
    else:
        assert first.config == hydra.config and first.job == hydra.job
    return first


# ------------------------------------------------------------------------ whole space of options
def _option_sets() -> Iterator[list[str]]:
    for task in task_names():
        for backend in group_options("backend"):
            yield [f"task={task}", f"backend={backend}", *_NEEDS.get(("backend", backend), [])]
    for group in ("dataset", "cache", "limits", "report"):
        for option in group_options(group):
            yield [f"{group}={option}", *_NEEDS.get((group, option), [])]


@pytest.mark.parametrize("overrides", list(_option_sets()), ids=" ".join)
def test_every_task_backend_and_option_composes_as_hydra_does(overrides: list[str]) -> None:
    job = _same(overrides)
    assert job is not None and job.composer == "plain"


def test_the_default_run_is_plain_and_needs_no_hydra() -> None:
    job = _same([])
    assert job is not None and compose_job([]).composer == "plain"
    assert job.config.backend.name == "baseline"
    assert job.hydra["runtime"]["choices"]["task"] == "docvqa"


# ------------------------------------------------------------------------ a value for each field
def _leaves(schema: type, prefix: str) -> Iterator[tuple[str, Any]]:
    hints = typing.get_type_hints(schema)
    for f in dataclasses.fields(schema):
        kind = hints[f.name]
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            yield from _leaves(kind, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", kind


def _values(kind: Any) -> list[str]:
    """Override texts a user might type for a field of this type: right, wrong and odd ones."""
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    base = args[0] if typing.get_origin(kind) in (typing.Union, type(int | None)) else kind
    texts = ["null", "7", "0.25", "-3", "true", "abc_x", "1e3", "2026-01-01", "'q'", "[a,b]"]
    if isinstance(base, type) and issubclass(base, Enum):
        texts += [m.value for m in base]
    return texts


_FIELDS = [
    (key, kind)
    for schema, prefix in ((RunConfig, ""), (SCHEMAS["openai"], "backend."))
    for key, kind in _leaves(schema, prefix)
    if not key.startswith(("task.", "backend.")) or prefix == "backend."
] + [
    (key, kind)
    for key, kind in _leaves(TaskSpec, "task.")
    if key
    in {
        "task.max_tokens",
        "task.parser",
        "task.baseline.answer",
        "task.dataset.split",
        "task.columns.question",
        "task.explode_references",
    }  # fmt: skip
]


@pytest.mark.parametrize(("key", "kind"), _FIELDS, ids=[k for k, _ in _FIELDS])
def test_a_value_of_each_field_composes_as_hydra_does_or_is_left_to_it(key: str, kind: Any) -> None:
    base = ["backend=openai", *_NEEDS[("backend", "openai")]]
    for text in _values(kind):
        overrides = [o for o in base if not o.startswith(f"{key}=")] + [f"{key}={text}"]
        _same(overrides)


# ------------------------------------------------------------------------ what is left to Hydra
@pytest.mark.parametrize(
    "overrides",
    [
        ["task=docvqa,vqav2"],  # a sweep
        ["+pricing.models.m={input: 1, output: 2}"],
        ["~dataset.limit"],
        ["++dataset.limit=4"],
        ["dataset.limit='5'"],
        ["backend.stop=[a,b]"],
        ["experiment=qwen_vl_baseline_smoke", "task=refcoco"],
        ["debug=default"],
        ["hydra.job.name=x"],
        ["task=docvqx"],  # an unknown option: Hydra's did-you-mean
        ["limits.concurency=4"],  # an unknown key
        ["dataset.limit=abc"],
        ["backend=openai"],  # a missing mandatory value
        ["results_dir=${task.name}"],  # an interpolation typed in an override
        ["dataset.limit=0"],  # a range error: both paths check ranges alike
        ["backend=dashscope", "backend.extra_body.vl_high_resolution_images=true"],  # needs +
        ["backend=dashscope", "+backend.extra_body.vl_high_resolution_images=true"],
    ],
    ids=" ".join,
)
def test_what_the_plain_composer_does_not_take_goes_to_hydra(
    overrides: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if overrides == ["dataset.limit=0"]:  # composed plainly; the range check refuses it
        assert _same(overrides) is not None
    else:
        with pytest.raises(NotPlain):
            compose_plain(overrides)
    job = _either_way(overrides, monkeypatch)
    if isinstance(job, Composed):
        assert job.composer == "hydra"


@pytest.mark.parametrize(
    "overrides",
    [
        ["task.baseline.answer=no_way"],  # reaches backend.answer through ${task.baseline.answer}
        ["results_dir=/tmp/elsewhere", "task=vqav2"],
        ["backend=dashscope", "pricing.models.qwen-vl-max.output=0.01"],
        ["backend=dashscope", "pricing.models.qwen-vl-plus.input=0.5"],
        ["dataset.limit=5", "dataset.limit=6"],  # the last one wins
        ["cache=off", "cache.mode=use"],  # a group's option, then one of its values
        [
            "backend=openai",
            "backend.base_url=http://127.0.0.1:8000/v1",
            "backend.model=Qwen/Qwen2.5-VL-7B-Instruct",
            "backend.api_key_env=null",
            "limits.concurrency=64",
            "report.bootstrap=0",
        ],  # fmt: skip
    ],
    ids=" ".join,
)
def test_plain_overrides_compose_without_hydra(overrides: list[str]) -> None:
    job = _same(overrides)
    assert job is not None and job.composer == "plain"


def test_the_baseline_answer_follows_the_task() -> None:
    job = _same(["task.baseline.answer=no_way"])
    assert job is not None
    assert job.config.backend.answer == "no_way"  # type: ignore[attr-defined]
    assert job.job["backend"]["answer"] == "${task.baseline.answer}"  # the record keeps it


def test_the_run_folder_is_named_from_the_task_backend_and_time() -> None:
    job = compose_job(["task=vqav2", "results_dir=out"])
    assert job.composer == "plain"
    folder = Path(job.run_dir)
    assert folder.parent == Path("out/vqav2/baseline")
    assert len(folder.name) == len("20261201-120000") and folder.name[8] == "-"


# ------------------------------------------------------------------------ the pieces
@pytest.mark.parametrize(
    "text",
    [
        "a: 1e5",
        "a: 1_000.5",
        "a: 2026-07-30",
        "a: '2026-07-30'",
        "a: .inf",
        "a: 0x1f",
        "a: 1:30",
        "a: yes",
        "a: ~",
        "a: [1, b]",
        "a: {b: c}",
        "a: 1\na: 2",
        "a: .5",
    ],  # fmt: skip
)
def test_the_yaml_loader_reads_as_omegaconf_or_leaves_it(text: str) -> None:
    try:
        ours = plain_module.load_yaml(text)
    except NotPlain:
        return
    theirs = OmegaConf.to_container(OmegaConf.create(text))
    assert ours == theirs and [type(v) for v in ours.values()] == [type(v) for v in theirs.values()]


@pytest.mark.parametrize(
    "data",
    [
        {"input": 1, "output": 2},
        {"input": 0.5, "output": 0.25, "image": None, "currency": "CNY"},
        {"input": "1"},
        {"input": True},
        {"inptu": 1},
        {"currency": 5},
        {"date": "???"},
    ],
    ids=str,
)
def test_build_returns_what_omegaconf_returns_or_declines(data: dict[str, Any]) -> None:
    try:
        ours = build(Price, data)
    except NotPlain:
        return
    theirs = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(Price), data))
    assert ours == theirs
    assert [type(getattr(ours, f.name)) for f in dataclasses.fields(Price)] == [
        type(getattr(theirs, f.name)) for f in dataclasses.fields(Price)
    ]


def test_defaults_are_the_schemas_defaults_as_plain_data() -> None:
    assert defaults(RunConfig) == OmegaConf.to_container(
        OmegaConf.structured(RunConfig), enum_to_str=True
    )

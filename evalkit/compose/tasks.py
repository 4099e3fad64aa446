"""Task definitions: load ``tasks/<kind>/<name>.yaml`` and validate it.

Each file is merged onto the :class:`~evalkit.config.TaskSpec` schema, so an unknown key or a
wrong type fails at load time with the file's name; its parser and metrics (with their
parameters) are checked against the registries. A new task is one YAML file: in ``tasks/``,
or in a folder of the user's own named by ``EVALKIT_TASKS`` (folders separated by ``:``, laid
out as ``<kind>/<name>.yaml`` like ``tasks/``).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from evalkit.config import MetricSpec, PromptSpec, TaskSpec, metric_specs
from evalkit.errors import ConfigError, UnknownTask, did_you_mean
from evalkit.registry import Registry
from evalkit.resources import tasks_dir
from evalkit.structured import first_line, to_object

if TYPE_CHECKING:
    from evalkit.score.registry import Metric

__all__ = [
    "TASK_FOLDERS",
    "check_declared_columns",
    "check_primary",
    "check_task",
    "load_task",
    "prompt_families",
    "task_files",
    "task_folders",
    "task_names",
    "task_metrics",
    "task_node",
]


TASKS_ENV = "EVALKIT_TASKS"
"""Environment variable naming extra task folders (``os.pathsep``-separated)."""


TASK_FOLDERS: Registry[Path] = Registry("task folder")
"""Folders of task definitions that other packages add (:mod:`evalkit.registry`), by name."""


def task_folders() -> list[Path]:
    """``tasks/``, the plugins' folders, then every folder ``EVALKIT_TASKS`` names.

    A missing folder is an error.
    """
    folders = [tasks_dir()]
    for name, folder in TASK_FOLDERS.items():
        if not folder.is_dir():
            raise ConfigError(f"task folder '{name}' ({folder}) is not a folder")
        folders.append(folder)
    for entry in os.environ.get(TASKS_ENV, "").split(os.pathsep):
        if entry.strip():
            folder = Path(entry).expanduser()
            if not folder.is_dir():
                raise ConfigError(f"{TASKS_ENV}: {folder} is not a folder of task definitions")
            folders.append(folder)
    return folders


@cache
def task_files() -> dict[str, Path]:
    """Task name → its YAML file, for every definition in :func:`task_folders`."""
    files: dict[str, Path] = {}
    paths = [p for folder in task_folders() for p in sorted(folder.glob("*/*.yaml"))]
    for path in paths:
        if path.stem in files:
            raise ConfigError(f"task '{path.stem}' is defined twice: {files[path.stem]} and {path}")
        files[path.stem] = path
    return files


def task_names() -> list[str]:
    """Every known task name, sorted."""
    return sorted(task_files())


def task_metrics(task: TaskSpec, prompt: PromptSpec | None = None) -> list[Metric]:
    """The task's metrics, bound to their parameters (checked).

    ``prompt`` is the run's prompt: its ``metrics`` (column → parameters) override the task's
    parameters, as that family's official script scores.

    >>> spec = load_task("chartqa")
    >>> [m.params["mode"] for m in task_metrics(spec, spec.prompts["qwen-vl"])]
    ['qwen-vl']
    """
    from evalkit.parse import PARSERS
    from evalkit.score.registry import build_metrics

    specs = task.metrics
    overrides = dict(prompt.metrics) if prompt is not None else {}
    if overrides:
        columns = [m.key for m in specs]
        for column in overrides:
            if column not in columns:
                raise ConfigError(
                    f"prompt metrics: {did_you_mean('metric column', column, columns)}"
                )
        specs = [
            MetricSpec(m.name, m.column, {**m.params, **overrides.get(m.key, {})}) for m in specs
        ]
    entry = PARSERS.get(task.parser_for(prompt))
    return build_metrics(specs, parser_output=entry.output if entry is not None else "text")


def _check(spec: TaskSpec) -> None:
    """What the schema cannot say: defaults present, names known, columns distinct."""
    from evalkit.parse import PARSERS
    from evalkit.runfolder.schema import JUDGE_COLUMNS, LIST_COLUMNS, SAMPLE_COLUMNS

    if "default" not in spec.prompts:
        raise ConfigError("prompts.default is required")
    if not spec.metrics:
        raise ConfigError("metrics must not be empty")
    PARSERS[spec.parser]  # an unknown parser is a one-line error with a did-you-mean
    if spec.columns.images and spec.columns.image != "image":
        raise ConfigError("give columns.image or columns.images, not both")
    for name, values in spec.dataset.where.items():
        if not values:
            raise ConfigError(f"dataset.where.{name}: list the values a kept row holds")
    for name in spec.columns.split_keep:
        if name not in spec.columns.keep:
            raise ConfigError(f"columns.split_keep: '{name}' is not in columns.keep")
        if name not in LIST_COLUMNS:
            raise ConfigError(f"columns.split_keep: '{name}' is not a list column (LIST_COLUMNS)")
    if spec.summary is not None:
        from evalkit.score.summaries import SUMMARIES

        try:
            needs = SUMMARIES[spec.summary].needs
        except ConfigError as exc:
            raise ConfigError(f"summary: {exc}") from exc
        missing = [n for n in needs if n not in spec.columns.keep]
        if missing:
            raise ConfigError(f"summary '{spec.summary}' reads '{missing[0]}': add it to "
                              "columns.keep")  # fmt: skip
    if spec.judge is not None:
        from evalkit.config import JudgeMode
        from evalkit.judge.protocols import PROTOCOLS

        try:
            protocol = PROTOCOLS[spec.judge.protocol]
        except ConfigError as exc:
            raise ConfigError(f"judge.protocol: {exc}") from exc
        if protocol.kind == "grade" and spec.judge.mode is not JudgeMode.always:
            raise ConfigError(f"judge.mode: {protocol.name} grades every answer (always)")
    for family, prompt in spec.prompts.items():
        if prompt.parser is not None and prompt.parser not in PARSERS:
            try:
                PARSERS[prompt.parser]
            except ConfigError as exc:
                raise ConfigError(f"prompts.{family}: {exc}") from exc
    columns = [m.column for m in task_metrics(spec)]
    for family, prompt in spec.prompts.items():
        if ("{box}" in prompt.user or prompt.draw_box) and spec.columns.bbox is None:
            raise ConfigError(f"prompts.{family}: a prompt that shows the box needs columns.bbox")
        if prompt.choices not in ("letters", "lines"):
            styles = ["letters", "lines"]
            hint = did_you_mean("style", prompt.choices, styles)
            raise ConfigError(f"prompts.{family}.choices: {hint}")
        try:
            task_metrics(spec, prompt)
        except ConfigError as exc:
            raise ConfigError(f"prompts.{family}: {exc}") from exc
    fixed = {f.name for f in (*SAMPLE_COLUMNS, *JUDGE_COLUMNS)}
    clash = sorted(fixed & set(columns))
    if clash:
        raise ConfigError(f"metric column '{clash[0]}' is also a fixed column of samples.parquet: "
                          "give the metric a column name")  # fmt: skip
    for name in spec.columns.keep:
        if name in fixed or name in columns:
            raise ConfigError(f"columns.keep: '{name}' is also a result column; drop it")
    for name in spec.group_by:
        if name not in spec.columns.keep:
            raise ConfigError(f"group_by: '{name}' must be one of columns.keep")
    if spec.circular and spec.circular_passes is not None:
        raise ConfigError("circular (evalkit rotates the options) and circular_passes (the rows "
                          "are the passes) exclude each other; set one")  # fmt: skip
    if spec.dataset.release is not None:
        from evalkit.dataset.releases import RELEASES

        try:
            RELEASES[spec.dataset.release]
        except ConfigError as exc:
            raise ConfigError(f"dataset.release: {exc}") from exc
    subset = spec.dataset.subset
    if subset is not None and subset.file is None and subset.hf_id is None:
        raise ConfigError("dataset.subset needs a file or an hf_id listing its ids")
    for split, count in spec.dataset.rows.items():
        if spec.dataset.splits and split not in spec.dataset.splits:
            raise ConfigError(f"dataset.rows: {did_you_mean('split', split, spec.dataset.splits)}")
        if count < 0:
            raise ConfigError(f"dataset.rows: {split} has {count} rows; a count is >= 0")


@cache
def task_node(name: str) -> dict[str, Any]:
    """A task file as plain data, its metrics in :class:`MetricSpec` form (not yet validated).

    Cheap (a YAML read): what the ``task`` config group holds, so that starting a run costs
    one task's validation, not every task's.
    """
    files = task_files()
    if name not in files:
        raise UnknownTask(did_you_mean("task", name, files))
    path = files[name]
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ConfigError("expected a mapping")
        if "family" in raw and "kind" not in raw:
            raise ConfigError(
                "'family' is now 'kind' (what kind of task: vqa, documents, ...); 'family' "
                "means a model family (backend.prompt_family)"
            )
        raw["metrics"] = metric_specs(raw.get("metrics"))
        subset = (raw.get("dataset") or {}).get("subset")
        if isinstance(subset, dict) and isinstance(subset.get("file"), str):
            # a list beside the task file: resolved here, so the run records where it was
            subset["file"] = str(path.parent / Path(subset["file"]).expanduser())
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"invalid task definition {path}: not UTF-8 text (byte {exc.start}); expected YAML"
        ) from exc
    except (OSError, yaml.YAMLError, ConfigError) as exc:
        first = first_line(exc)
        raise ConfigError(f"invalid task definition {path}: {first}") from exc
    return cast(dict[str, Any], raw)


def check_task(spec: TaskSpec) -> None:
    """What the schema cannot check, as one line naming the task's file."""
    path = task_files().get(spec.name, f"task '{spec.name}'")
    try:
        _check(spec)
    except ConfigError as exc:
        raise ConfigError(f"invalid task definition {path}: {exc}") from exc


@cache
def load_task(name: str) -> TaskSpec:
    """Load and validate one task definition.

    >>> load_task("docvqa").metrics[0].params
    {'threshold': 0.5}
    """
    raw = task_node(name)
    path = task_files()[name]
    spec = to_object(TaskSpec, raw, what=f"invalid task definition {path}")
    if spec.name != name:
        raise ConfigError(
            f"invalid task definition {path}: name '{spec.name}' != file name '{name}'"
        )
    check_task(spec)
    try:
        check_primary(spec)
        check_declared_columns(spec)
    except ConfigError as exc:
        raise ConfigError(f"invalid task definition {path}: {exc}") from exc
    return spec


def check_primary(spec: TaskSpec) -> None:
    """The task file's ``primary`` names one of its metrics.

    Checked on the file as written: a run that turns a metric off (``task.circular_passes=null``)
    shows its first metric instead.
    """
    if spec.primary is None:
        return
    known = [m.key for m in spec.metrics]
    if spec.circular or spec.circular_passes:
        known += [f"{name}_circular" for name in known]
    if spec.summary is not None:
        from evalkit.score.summaries import SUMMARIES

        known += SUMMARIES[spec.summary].overall
    if spec.primary not in known:
        raise ConfigError(f"primary: {did_you_mean('metric', spec.primary, known)}")


def check_declared_columns(spec: TaskSpec) -> None:
    """Every column the task file names is in its declared Hub schema (when it declares one).

    Checked on the file as written, not on a composed run: a run that points the task at
    another copy (``task.dataset.hf_id=...``) may rename columns on the command line.
    """
    from evalkit.dataset.features import check_features, has_column

    data = spec.dataset
    features = data.features
    if not features:
        return
    check_features(features)
    columns = spec.columns
    named = {
        "columns.id": columns.id,
        "columns.question": columns.question,
        "columns.answers": columns.answers,
        "columns.bbox": columns.bbox,
        "columns.choices": columns.choices,
        "columns.context": columns.context,
        "dataset.subset.column": data.subset.column if data.subset is not None else None,
    }
    named |= {f"columns.choice_columns[{i}]": c for i, c in enumerate(columns.choice_columns)}
    named |= {f"columns.keep[{i}]": c for i, c in enumerate(columns.keep)}
    named |= {f"dataset.where.{c}": c for c in data.where}
    images = features
    if data.images is not None:
        named["dataset.images.key"] = data.images.key
        images = data.images.features
        if images:
            check_features(images, "dataset.images.features")
            if not has_column(images, data.images.id):
                raise ConfigError(_not_declared("dataset.images.id", data.images.id, images))
    if columns.images:
        named |= {f"columns.images[{i}]": c for i, c in enumerate(columns.images)}
    elif images and not has_column(images, columns.image):
        raise ConfigError(_not_declared("columns.image", columns.image, images))
    for where, column in named.items():
        if column is not None and not has_column(features, column):
            raise ConfigError(_not_declared(where, column, features))
    if columns.answer_key is not None:
        answers = features[columns.answers]
        inner = answers[0] if isinstance(answers, list) else answers
        if not isinstance(inner, dict) or columns.answer_key not in inner:
            raise ConfigError(
                f"columns.answer_key: '{columns.answer_key}' is not a field of "
                f"'{columns.answers}' in dataset.features"
            )


def _not_declared(where: str, column: str, features: dict[str, Any]) -> str:
    hint = did_you_mean("column", column, features).removeprefix("unknown ")
    return f"{where}: dataset.features has no {hint}"


def prompt_families() -> set[str]:
    """Every prompt-family name some task defines (``default``, ``qwen-vl``, ...)."""
    return {family for name in task_files() for family in task_node(name).get("prompts") or {}}

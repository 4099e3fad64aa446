from __future__ import annotations

from pathlib import Path

import pytest

from evalkit import tasks
from evalkit.errors import ConfigError, UnknownTask


@pytest.fixture
def task_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "vqa").mkdir()
    monkeypatch.setattr(tasks, "tasks_dir", lambda: tmp_path)
    tasks.task_files.cache_clear()
    tasks.load_task.cache_clear()
    yield tmp_path
    tasks.task_files.cache_clear()
    tasks.load_task.cache_clear()


GOOD = """name: mine
family: vqa
dataset: {hf_id: me/mine}
columns: {id: qid}
prompts: {default: {user: "{question}"}}
metrics: [vqa_accuracy]
"""


def test_a_valid_definition_loads(task_folder: Path) -> None:
    (task_folder / "vqa" / "mine.yaml").write_text(GOOD)
    assert tasks.load_task("mine").columns.id == "qid"
    with pytest.raises(UnknownTask, match="did you mean 'mine'"):
        tasks.load_task("mien")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("metrics: [vqa_accuracy]", "metrics: [vqa_acuracy]"),
            "unknown metric 'vqa_acuracy'; did you mean 'vqa_accuracy'",
        ),
        (("metrics: [vqa_accuracy]", "metrics: []"), "metrics must not be empty"),
        (("name: mine", "name: yours"), "name 'yours' != file name 'mine'"),
        (
            ("family: vqa", "family: vqa\nparser: anwser"),
            "unknown parser 'anwser'; did you mean 'answer'",
        ),
        (
            ("metrics: [vqa_accuracy]", "metrics: [{name: vqa_accuracy, mode: loose}]"),
            "metric 'vqa_accuracy': unknown mode 'loose'",
        ),
        (
            ("metrics: [vqa_accuracy]", "metrics: [{name: anls, tau: 0.5}]"),
            "metric 'anls': unknown parameter 'tau'",
        ),
        (
            ("metrics: [vqa_accuracy]", "metrics: [{name: anls, threshold: 2}]"),
            "metric 'anls': threshold=2.0 is outside [0.0, 1.0]",
        ),
        (
            ("metrics: [vqa_accuracy]", "metrics: [iou]"),
            "metric 'iou' reads a box, but the task's parser gives a text",
        ),
        (
            ("metrics: [vqa_accuracy]", "metrics: [anls, anls]"),
            "metric column 'anls' is used twice",
        ),
        (
            ("columns: {id: qid}", "columns: {id: qid}\ngroup_by: [answer_type]"),
            "group_by: 'answer_type' must be one of columns.keep",
        ),
        (
            ("columns: {id: qid}", "columns: {id: qid, keep: [model]}"),
            "columns.keep: 'model' is also a result column",
        ),
        (("columns: {id: qid}", "columns: {id: qid, colour: red}"), "invalid task definition"),
        (
            (
                'prompts: {default: {user: "{question}"}}',
                'prompts: {qwen-vl: {user: "{question}"}}',
            ),
            "prompts.default is required",
        ),
    ],
)
def test_invalid_definitions_are_one_line_errors(
    task_folder: Path, change: tuple[str, str], message: str
) -> None:
    (task_folder / "vqa" / "mine.yaml").write_text(GOOD.replace(*change))
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("'", "'")) as info:
        tasks.load_task("mine")
    assert "\n" not in str(info.value)

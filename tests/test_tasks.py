from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.compose import tasks
from evalkit.errors import ConfigError, UnknownTask


@pytest.fixture
def task_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "vqa").mkdir()
    monkeypatch.setattr(tasks, "tasks_dir", lambda: tmp_path)
    for cached in (tasks.task_files, tasks.task_node, tasks.load_task):
        cached.cache_clear()
    yield tmp_path
    for cached in (tasks.task_files, tasks.task_node, tasks.load_task):
        cached.cache_clear()


GOOD = """name: mine
kind: vqa
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
            ("kind: vqa", "kind: vqa\nparser: anwser"),
            "unknown parser 'anwser'; did you mean 'answer'",
        ),
        (("kind: vqa", "family: vqa"), "'family' is now 'kind' .what kind of task"),
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


WITH_SCHEMA = GOOD.replace(
    "dataset: {hf_id: me/mine}",
    "dataset:\n  hf_id: me/mine\n  features: {qid: string, question: string, answers: [string],"
    " image: image, types: {structural: string}, votes: [{text: string, n: int8}]}",
)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("answers: [string]", "answers: [strin]"), r"dataset.features.answers\[0\]: unknown type "
         "'strin'; did you mean 'string'"),
        (("answers: [string]", "answers: [string, int8]"),
         r"dataset.features.answers: a list type is \[T\], one element type \(2 given\)"),
        (("structural: string}", "}"), "dataset.features.types: a struct needs at least one"),
        (("columns: {id: qid}", "columns: {id: qid, question: qestion}"),
         "columns.question: dataset.features has no column 'qestion'; did you mean 'question'"),
        (("columns: {id: qid}", "columns: {id: qid, keep: [types.structurl]}"),
         r"columns.keep\[0\]: dataset.features has no column 'types.structurl'"),
        (("columns: {id: qid}", "columns: {id: qid, answers: votes, answer_key: txt}"),
         "columns.answer_key: 'txt' is not a field of 'votes' in dataset.features"),
    ],
)  # fmt: skip
def test_the_declared_hub_schema_is_checked_and_columns_against_it(
    task_folder: Path, change: tuple[str, str], message: str
) -> None:
    """``dataset.features`` declares the Hub copy's columns once; a typo in it, or a column the
    task names that it lacks, is a one-line error naming the file before anything is read."""
    (task_folder / "vqa" / "mine.yaml").write_text(WITH_SCHEMA)
    spec = tasks.load_task("mine")
    assert spec.dataset.features["votes"] == [{"text": "string", "n": "int8"}]
    tasks.load_task.cache_clear()
    tasks.task_node.cache_clear()
    (task_folder / "vqa" / "mine.yaml").write_text(WITH_SCHEMA.replace(*change))
    with pytest.raises(ConfigError, match=message) as info:
        tasks.load_task("mine")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(
        f"invalid task definition {task_folder / 'vqa' / 'mine.yaml'}"
    )


def test_a_task_that_is_only_a_yaml_file_reaches_relaxed_accuracy(cli, tmp_path: Path) -> None:
    """tests/tasks/documents/chart_mini.yaml: three relaxed-accuracy variants, a group_by, a
    baseline answer; no code knows the task. The baseline answers "12" to every question."""
    import io
    import json

    import pandas as pd
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buf, format="PNG")
    (tmp_path / "chart.png").write_bytes(buf.getvalue())
    golds = [("q1", "12.5", "human"), ("q2", "12.62", "human"), ("q3", "12", "augmented"),
             ("q4", "20", "augmented"), ("q5", "Yes", "augmented")]  # fmt: skip
    rows = [{"question_id": q, "query": "What is the value?", "label": [g], "type": t,
             "image": "chart.png"} for q, g, t in golds]  # fmt: skip
    data = tmp_path / "charts.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    env = {"EVALKIT_TASKS": str(Path(__file__).parent / "tasks")}
    proc = cli("task=chart_mini", "dataset=local", f"dataset.path={data}", env=env)
    assert proc.returncode == 0, proc.stderr
    run_dir = tmp_path / proc.stdout.strip().splitlines()[-1].removeprefix("results: ")
    samples = pd.read_parquet(run_dir / "samples.parquet").set_index("sample_id")
    # pix2struct: within 5 % of the gold; Qwen-VL's call: of the prediction (12.62 vs 12: 5.2 %)
    assert list(samples["relaxed_accuracy"]) == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert list(samples["relaxed_qwen_vl"]) == [1.0, 0.0, 1.0, 0.0, 0.0]
    assert list(samples["exact_number"]) == [0.0, 0.0, 1.0, 0.0, 0.0]
    assert list(samples["type"]) == ["human", "human", "augmented", "augmented", "augmented"]
    summary = pd.read_parquet(run_dir / "summary.parquet")
    values = {(r.metric, r.group if r.kind == "group" else None): r.value
              for r in summary.itertuples() if r.kind != "cost"}  # fmt: skip
    assert values[("relaxed_accuracy", None)] == pytest.approx(0.6)
    assert values[("relaxed_qwen_vl", None)] == pytest.approx(0.4)
    assert values[("exact_number", None)] == pytest.approx(0.2)
    assert values[("relaxed_accuracy", "human")] == 1.0
    assert values[("relaxed_qwen_vl", "human")] == 0.5
    assert values[("relaxed_accuracy", "augmented")] == pytest.approx(1 / 3)
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["scoring"]["metrics"][1] == {
        "name": "relaxed_accuracy", "column": "relaxed_qwen_vl",
        "params": {"tolerance": 0.05, "mode": "qwen-vl"}, "corpus": None,
    }  # fmt: skip


def test_an_extra_task_folder_that_does_not_exist_is_one_line(cli, tmp_path: Path) -> None:
    proc = cli("task=chart_mini", env={"EVALKIT_TASKS": str(tmp_path / "nowhere")})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"evalkit: error: EVALKIT_TASKS: {tmp_path / 'nowhere'} is not a folder of task definitions"
    ]


@pytest.mark.parametrize(
    ("columns", "metrics", "message"),
    [
        ("{id: qid, colour: red}", "[vqa_accuracy]", "Key 'colour' not in 'Columns'"),
        ("{id: qid}", "[{name: anls, tau: 3}]", "metric 'anls': unknown parameter 'tau'"),
    ],
)
def test_a_broken_task_file_is_named_when_a_run_composes_it(
    cli, tmp_path: Path, columns: str, metrics: str, message: str
) -> None:
    """Tasks are registered as plain data (a run validates only its own task): a broken file
    still gets a line that names it, not a composition error."""
    folder = tmp_path / "mine" / "vqa"
    folder.mkdir(parents=True)
    (folder / "broken.yaml").write_text(GOOD.replace("name: mine", "name: broken")
                                        .replace("columns: {id: qid}", f"columns: {columns}")
                                        .replace("metrics: [vqa_accuracy]", f"metrics: {metrics}"))  # fmt: skip
    proc = cli("task=broken", env={"EVALKIT_TASKS": str(tmp_path / "mine")})
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"evalkit: error: invalid task definition {folder / 'broken.yaml'}: ")
    assert message in line


def test_a_primary_metric_names_one_of_the_tasks_metrics(task_folder: Path) -> None:
    """``primary`` is what a leaderboard shows; a name that matches nothing is refused."""
    path = task_folder / "vqa" / "mine.yaml"
    path.write_text(
        GOOD.replace("metrics: [vqa_accuracy]", "metrics: [vqa_accuracy, anls]\nprimary: anls")
    )
    assert tasks.load_task("mine").primary_metric() == "anls"
    tasks.load_task.cache_clear()
    tasks.task_node.cache_clear()
    path.write_text(
        GOOD.replace("metrics: [vqa_accuracy]", "metrics: [vqa_accuracy]\nprimary: vqa_acuracy")
    )
    with pytest.raises(ConfigError, match=r"mine.yaml: primary: unknown metric 'vqa_acuracy'; did "
                                          r"you mean 'vqa_accuracy'\?") as info:  # fmt: skip
        tasks.load_task("mine")
    assert "\n" not in str(info.value)


def test_every_shipped_tasks_primary_metric() -> None:
    """CIDEr for captions, the circular figure for MMBench, the totals of MME; else the first."""
    primary = {name: tasks.load_task(name).primary_metric() for name in tasks.task_names()}
    assert {primary[n] for n in ("coco_caption", "nocaps", "flickr30k", "refcocog_reg")} == {
        "CIDEr"
    }
    assert primary["mmbench_en"] == primary["mmbench_cn"] == "exact_match_circular"
    assert primary["mme"] == "mme_perception" and primary["hallusionbench"] == "hallusion_overall"
    assert primary["docvqa"] == "anls" and primary["refcoco"] == "acc_iou50"

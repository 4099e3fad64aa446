"""``evalkit.analysis``: many runs as frames; the notebook runs on runs made offline here."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalkit.analysis import (
    RUN_COLUMNS,
    cost_and_score,
    group_deltas,
    leaderboard,
    load_runs,
    run_folders,
    select_runs,
)
from evalkit.errors import ConfigError
from evalkit.testing.answers import answer_book
from evalkit.testing.fake_server import FakeVLMServer

from .conftest import main_here

ROOT = Path(__file__).resolve().parent.parent
Cli = Callable[..., subprocess.CompletedProcess[str]]


def _run(cli: Cli, results: Path, *overrides: str, env: dict[str, str] | None = None) -> Path:
    proc = cli(*overrides, f"results_dir={results}", env=env)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("results: "))
    return results.parent / line.removeprefix("results: ")


@pytest.fixture(scope="module")
def _four_runs(tmp_path_factory: pytest.TempPathFactory,
               fake_server_session: FakeVLMServer) -> Path:  # fmt: skip
    """Four runs, made once per module: docvqa answered well then worse over the loopback
    server, two vqav2 runs."""
    server, where = fake_server_session, tmp_path_factory.mktemp("four-runs")
    server.reset()
    folder = where / "results"
    api = ["backend=openai", f"backend.base_url={server.openai_url}", "cache.mode=off"]
    env = {"OPENAI_API_KEY": "k", "XDG_CACHE_HOME": str(where / "xdg")}

    def cli(*args: str, env: dict[str, str] | None = env) -> subprocess.CompletedProcess[str]:
        return main_here(*args, cwd=where, env=env)  # in this process: the frames are the point

    server.answer_book = answer_book("docvqa")
    _run(cli, folder, "task=docvqa", *api, "backend.model=good", env=env)
    server.answer_book = answer_book("docvqa", wrong=lambda i: i % 3 == 0)
    _run(cli, folder, "task=docvqa", *api, "backend.model=worse", env=env)
    _run(cli, folder, "task=vqav2", env=env)  # the baseline backend: 'yes' to everything
    server.answer_book = answer_book("vqav2")
    _run(cli, folder, "task=vqav2", *api, "backend.model=good", env=env)
    server.reset()
    return folder


@pytest.fixture
def results(_four_runs: Path, tmp_path: Path) -> Path:
    """A copy of the four runs for this test alone."""
    copy = tmp_path / "results"
    shutil.copytree(_four_runs, copy)
    return copy


def test_load_runs_gives_runs_samples_and_summary(results: Path) -> None:
    tables = load_runs(results)
    runs = tables.runs
    assert list(runs.columns) == list(RUN_COLUMNS)
    assert len(runs) == 4 and sorted(runs["task"]) == ["docvqa", "docvqa", "vqav2", "vqav2"]
    assert set(runs["model"]) == {"good", "worse", "baseline"}
    assert runs["n"].tolist() == [60, 60, 60, 60] and runs["failures"].sum() == 0
    assert str(runs["started"].dtype).startswith("timestamp[us, tz=UTC]")
    assert (runs[runs["backend"] == "openai"]["input_tokens"] == 6000).all()  # 100 a request

    samples = tables.samples
    assert len(samples) == 240
    assert {"anls", "vqa_accuracy", "revision", "prompt_family", "started"} <= set(samples.columns)
    assert isinstance(samples["references"].dtype, pd.ArrowDtype)  # lists stay lists
    assert samples["references"].iloc[0] is not None
    docvqa = samples[samples["task"] == "docvqa"]
    by_model = docvqa.groupby("model")["anls"].mean()
    assert by_model["good"] == 1.0 and by_model["worse"] == pytest.approx(40 / 60)

    summary = tables.summary
    overall = summary[(summary["kind"] == "metric")]
    assert set(overall["metric"]) == {"anls", "vqa_accuracy"}
    assert {"model", "backend", "revision"} <= set(summary.columns)
    types = summary[(summary["kind"] == "group") & (summary["group_by"] == "answer_type")]
    assert set(types["group"]) == {"yes/no", "number", "other"}
    # the frames agree with the files they came from
    one = Path(runs["path"].iloc[0])
    assert overall[overall["run_id"] == runs["run_id"].iloc[0]]["value"].iloc[0] == pytest.approx(
        pq.read_table(one / "summary.parquet").column("value")[0].as_py()
    )


def test_only_the_columns_asked_for_are_read(results: Path) -> None:
    tables = load_runs(results, columns=["latency_s", "anls"])
    assert set(tables.samples.columns) == {
        "run_id",
        "task",
        "backend",
        "model",
        "sample_id",
        "latency_s",
        "anls",
        "revision",
        "prompt_family",
        "started",
    }
    assert load_runs(results, samples=False).samples.empty


def test_a_list_of_folders_and_unfinished_runs(results: Path, tmp_path: Path) -> None:
    folders = run_folders(results)
    assert len(folders) == 4
    unfinished = tmp_path / "unfinished"
    shutil.copytree(folders[0], unfinished)
    (unfinished / "run.json").unlink()
    assert len(run_folders([folders[0], folders[1], unfinished, folders[0]])) == 2
    with pytest.raises(ConfigError, match="does not exist"):
        load_runs(tmp_path / "nowhere")


def test_duckdb_reads_the_same_files(results: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    pattern = str(results / "**" / "samples.parquet")
    rows = duckdb.sql(
        f"SELECT model, avg(anls) AS anls FROM read_parquet('{pattern}', union_by_name = true) "
        "WHERE task = 'docvqa' GROUP BY ALL ORDER BY model"
    ).fetchall()
    assert rows == [("good", 1.0), ("worse", pytest.approx(40 / 60))]
    summary = str(results / "**" / "summary.parquet")
    [(n,)] = duckdb.sql(f"SELECT count(*) FROM '{summary}' WHERE kind = 'metric'").fetchall()
    assert n == 4


def test_the_committed_notebook_has_no_outputs() -> None:
    notebook = json.loads((ROOT / "notebooks" / "analysis.ipynb").read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def _execute_notebook(results: Path, **env: str) -> list[Any]:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("matplotlib")
    notebook = nbformat.read(ROOT / "notebooks" / "analysis.ipynb", as_version=4)
    settings = {"EVALKIT_RESULTS": str(results),
                "MPLBACKEND": "module://matplotlib_inline.backend_inline", **env}  # fmt: skip
    notebook.cells.insert(0, nbformat.v4.new_code_cell(
        f"import os; os.environ.update({settings!r})"))  # fmt: skip
    nbclient.NotebookClient(notebook, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(results.parent)}}).execute()  # fmt: skip
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"], outputs
    return outputs


def _texts(outputs: list[Any]) -> str:
    return "\n".join(str(o.get("data", {}).get("text/plain", o.get("text", ""))) for o in outputs)


def _html(outputs: list[Any]) -> str:
    return "\n".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)


def test_the_notebook_runs_on_these_runs(results: Path) -> None:
    outputs = _execute_notebook(results)
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pictures) == 2  # score with CIs, latency (no run here has a price)
    text, html = _texts(outputs), _html(outputs)
    assert re.search(r"docvqa\s+anls\s+NaN\s+1\.0+\s+0\.6667", text)  # the leaderboard's row
    assert "no idea" in text  # the flipped samples of good -> worse on docvqa
    assert "mcnemar-exact" in text and "down" in text
    assert "question_types" in text  # the per-group deltas of the two docvqa runs
    assert "answers from the cache (not drawn): 0; sent: 240" in text
    assert html.count('src="data:image/jpeg;base64,') >= 8  # the worst samples, two tasks


def test_leaderboard_takes_each_tasks_primary_metric_and_the_last_run(results: Path) -> None:
    tables = load_runs(results)
    board = leaderboard(tables)
    assert list(board.index) == [("docvqa", "anls"), ("vqav2", "vqa_accuracy")]
    assert board.loc[("docvqa", "anls"), "good"] == 1.0
    assert board.loc[("docvqa", "anls"), "worse"] == pytest.approx(40 / 60)
    assert pd.isna(board.loc[("docvqa", "anls"), "baseline"])
    by_backend = leaderboard(tables, by="backend")
    assert list(by_backend.columns) == ["baseline", "openai"]
    assert by_backend.loc[("docvqa", "anls"), "openai"] == pytest.approx(40 / 60)  # the later


def test_runs_are_chosen_by_name_or_by_a_filter(results: Path) -> None:
    tables = load_runs(results)
    first = tables.runs.iloc[0]
    one = select_runs(tables, first["run_id"])  # a run id is unique
    assert one.runs["run_id"].tolist() == [first["run_id"]]
    assert set(one.samples["run_id"]) == {first["run_id"]} and len(one.samples) == 60
    by_folder = select_runs(tables, first["name"])  # folder names repeat across tasks
    assert set(by_folder.runs["name"]) == {first["name"]}
    assert len(by_folder.runs) == (tables.runs["name"] == first["name"]).sum()
    docvqa = select_runs(tables, query="task == 'docvqa' and model != 'worse'")
    assert docvqa.runs["model"].tolist() == ["good"] and len(docvqa.samples) == 60
    assert set(docvqa.summary["run_id"]) == set(docvqa.runs["run_id"])
    assert len(select_runs(tables, ["docvqa-*"]).runs) == 2  # run ids start with the task
    with pytest.raises(ConfigError, match="no run is named 'docvq-x'"):
        select_runs(tables, ["docvqa-*", "docvq-x"])


def test_group_deltas_between_two_runs(results: Path) -> None:
    tables = load_runs(results)
    docvqa = tables.runs[tables.runs["task"] == "docvqa"].sort_values("finished")
    deltas = group_deltas(tables, *docvqa["run_id"])
    assert set(deltas["group_by"]) == {"question_types"}
    assert (deltas["base"] == 1.0).all()
    assert deltas["diff"].tolist() == sorted(deltas["diff"].tolist())  # largest drop first
    assert deltas["diff"].iloc[0] < 0
    with pytest.raises(ConfigError, match="names 0 of the loaded runs"):
        group_deltas(tables, "nowhere", docvqa["run_id"].iloc[0])


def test_runs_of_tasks_whose_kept_columns_differ_load_and_the_notebook_runs(
    tmp_path: Path, server: FakeVLMServer
) -> None:
    """Several tasks, kept columns of different types, a run with no rows, a priced run and a
    captioning run: the frames load, and the notebook's leaderboard, cost plot and filter work."""

    def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return main_here(*args, cwd=tmp_path, env=env)

    folder = tmp_path / "mixed"
    # answer_type is text in VQAv2's rows, a list in InfographicVQA's; a run may have no rows
    vqav2 = _run(cli, folder, "task=vqav2", "dataset.limit=5")
    _run(cli, folder, "task=infovqa", "dataset.limit=5")
    _run(cli, folder, "task=refcoco", "dataset.limit=3")
    server.answer_book = answer_book("textvqa")
    priced_run = ["task=textvqa", "backend=dashscope", f"backend.base_url={server.dashscope_url}",
                  "backend.api_key_env=null", "backend.model=qwen-vl-plus", "dataset.limit=4",
                  f"cache.path={tmp_path / 'cache.sqlite'}"]  # fmt: skip
    _run(cli, folder, *priced_run)
    _run(cli, folder, *priced_run)  # again: its 4 answers come from the cache
    captions = shutil.which("java") is not None  # the caption metrics need Java
    if captions:
        _run(cli, folder, "task=coco_caption", "dataset.limit=3")
    empty = tmp_path / "empty.parquet"
    pq.write_table(
        pq.read_table(ROOT / "evalkit/sample_data/okvqa/val2014.parquet").slice(0, 0), empty
    )
    assert cli("task=okvqa", "dataset=local", f"dataset.path={empty}",
               f"results_dir={folder}").returncode == 2  # fmt: skip
    tables = load_runs(folder)
    assert len(tables.runs) == 6 + captions
    types = tables.samples["answer_type"].dropna().tolist()
    assert all(isinstance(t, list) for t in types) and ["yes/no"] in types
    # a folder written before the types were declared (answer_type as text) reads the same
    old = pq.read_table(vqav2 / "samples.parquet")
    position = old.schema.get_field_index("answer_type")
    texts = [t[0] if t else None for t in old.column("answer_type").to_pylist()]
    pq.write_table(old.set_column(position, "answer_type", pa.array(texts, pa.string())),
                   vqav2 / "samples.parquet")  # fmt: skip
    assert load_runs(folder).samples["answer_type"].dropna().tolist() == types

    board = leaderboard(tables)
    expected = {("infovqa", "anls"), ("refcoco", "acc_iou50"), ("textvqa", "vqa_accuracy"),
                ("okvqa", "vqa_accuracy"),
                ("vqav2", "vqa_accuracy")} | ({("coco_caption", "CIDEr")} if captions else set())  # fmt: skip
    assert set(board.index) == expected  # CIDEr for captions, not BLEU-1
    assert board.loc[("okvqa", "vqa_accuracy")].isna().all()  # the run with no rows: no value
    costs = cost_and_score(tables)
    priced = costs[costs["cost"].notna()]
    assert priced["task"].tolist() == ["textvqa"] * 2 and set(priced["currency"]) == {"CNY"}
    assert priced["cost"].tolist()[0] > 0 and priced["cost"].tolist()[1] == 0  # all cached
    assert costs[costs["task"] == "vqav2"]["cost"].isna().all()  # no price: no cost, not 0

    # the notebook, on the runs a filter keeps: all but the run with no rows
    outputs = _execute_notebook(folder, EVALKIT_QUERY="task != 'okvqa'")
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pictures) == 3  # scores, cost against score (one priced run), latency
    text = _texts(outputs)
    assert "okvqa" not in text
    assert re.search(r"refcoco\s+acc_iou50", text)
    assert "answers from the cache (not drawn): 4;" in text  # the second textvqa run
    assert bool(re.search(r"coco_caption\s+CIDEr", text)) == captions


def test_the_notebook_and_the_frames_work_on_an_empty_results_folder(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    tables = load_runs(tmp_path / "results")
    assert tables.runs.empty and tables.samples.empty and tables.summary.empty
    assert {"task", "model", "error_type", "latency_s"} <= set(tables.samples.columns)
    outputs = _execute_notebook(tmp_path / "results")
    text = "\n".join(str(o.get("text", "")) for o in outputs)
    assert "no finished run under" in text

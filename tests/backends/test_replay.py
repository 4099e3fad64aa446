"""``backend=replay``: predictions made elsewhere, paired by id and scored as a normal run."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from evalkit import load_run
from evalkit.backends.predictions import read_predictions
from evalkit.errors import ConfigError
from evalkit.resources import sample_data_dir
from evalkit.testing.answers import answer_book
from evalkit.testing.fake_server import FakeVLMServer, Fault

from ..conftest import main_in_process, results_of

GOLD = pd.read_parquet(sample_data_dir() / "chartqa" / "test.parquet", columns=["answer"])
"""ChartQA's bundled split has no id column: a row's position in it is its sample id."""


def _predictions(wrong: set[int] = frozenset(), drop: set[int] = frozenset()) -> pd.DataFrame:  # type: ignore[assignment]
    rows = [{"sample_id": str(i), "prediction": "no idea" if i in wrong else answer}
            for i, answer in enumerate(GOLD["answer"]) if i not in drop]  # fmt: skip
    return pd.DataFrame(rows).iloc[::-1].reset_index(drop=True)  # shuffled: pairing is by id


def _write(frame: pd.DataFrame, path: Path) -> Path:
    suffix = path.suffix
    if suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    elif suffix == ".json":
        frame.to_json(path, orient="records", force_ascii=False)
    elif suffix in (".csv", ".tsv"):
        frame.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        pytest.importorskip("openpyxl")
        frame.to_excel(path, index=False)
    return path


def _replay(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    predictions: Path,
    *extra: str,  # type: ignore[no-untyped-def]
    task: str = "chartqa",
):
    proc = main_in_process(capsys, tmp_path, f"task={task}", "backend=replay",
                           f"backend.predictions={predictions}", *extra)  # fmt: skip
    run_dir = None
    if proc.returncode == 0:
        run_dir = results_of(proc, tmp_path)
    return proc, run_dir


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".tsv", ".parquet", ".xlsx"])
def test_each_file_type_is_scored_by_id_as_a_normal_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, suffix: str
) -> None:
    path = _write(_predictions(wrong={0, 7, 21}), tmp_path / f"preds{suffix}")
    proc, run_dir = _replay(capsys, tmp_path, path)
    assert proc.returncode == 0, proc.stderr
    run = load_run(run_dir)
    samples = run.samples.set_index("sample_id")
    assert len(samples) == len(GOLD) and samples["error"].isna().all()
    assert [samples.loc[str(i), "relaxed_accuracy"] for i in (0, 7, 21)] == [0.0, 0.0, 0.0]
    assert samples["relaxed_accuracy"].sum() == len(GOLD) - 3
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["backend"]["name"] == "replay"
    assert manifest["backend"]["model"] == path.name  # the file names the run by default
    record = manifest["backend_record"]
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["size"] == path.stat().st_size and record["file"] == path.name
    assert record["rows"] == record["matched"] == len(GOLD) and record["unmatched"] == 0
    assert manifest["cost"]["spent"] == 0.0 and manifest["cache"]["hits"] == 0


def test_missing_and_unmatched_ids_are_error_rows_and_a_count(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frame = _predictions(drop={3, 4})
    frame.loc[len(frame)] = {"sample_id": "9999", "prediction": "x"}  # matches no sample
    frame.loc[frame["sample_id"] == "5", "prediction"] = None  # an empty cell: an empty answer
    path = _write(frame, tmp_path / "preds.jsonl")
    with caplog.at_level(logging.WARNING, logger="evalkit"):
        proc, run_dir = _replay(capsys, tmp_path, path)
    assert proc.returncode == 0, proc.stderr
    samples = load_run(run_dir).samples.set_index("sample_id")
    errors = samples["error_type"].dropna()
    assert dict(errors) == {"3": "MissingPrediction", "4": "MissingPrediction"}
    assert "no prediction for sample '3' in preds.jsonl" in samples.loc["3", "error"]
    assert (samples.loc["5", "prediction"], samples.loc["5", "relaxed_accuracy"]) == ("", 0.0)
    record = json.loads((run_dir / "run.json").read_text())["backend_record"]
    assert (record["unmatched"], record["unmatched_ids"]) == (1, ["9999"])
    warned = [r.getMessage() for r in caplog.records if "match no sample" in r.getMessage()]
    assert warned == ["1 of 49 predictions in preds.jsonl match no sample of this run: '9999'"]


def test_a_replayed_run_folder_scores_as_the_run_it_came_from(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Another evalkit run's samples.parquet is a predictions file as it stands."""
    proc = main_in_process(capsys, tmp_path, "task=docvqa", "backend.answer=1")
    assert proc.returncode == 0, proc.stderr
    first = results_of(proc, tmp_path)
    # the same file against another task: no id matches, and the error-rate gate stops it
    proc, _ = _replay(capsys, tmp_path, first / "samples.parquet")
    assert proc.returncode == 2 and "MissingPrediction" in proc.stderr
    proc = main_in_process(capsys, tmp_path, "task=docvqa", "backend=replay",
                           "backend.format=evalkit", f"backend.predictions={first}")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    replayed = results_of(proc, tmp_path)
    a, b = load_run(first), load_run(replayed)
    cols = ["sample_id", "prediction", "anls"]
    pd.testing.assert_frame_equal(a.samples[cols], b.samples[cols])
    assert a.summary is not None and b.summary is not None
    assert list(a.summary["value"]) == list(b.summary["value"])


def test_a_json_object_keyed_by_sample_id(tmp_path: Path) -> None:
    """MathVista's outputs map each pid to a record, MMMU's eval-only file each id to its
    answer: the key is the sample id unless the record names its own."""
    records = tmp_path / "by_id.json"
    records.write_text(json.dumps({"7": {"extraction": "B", "pid": "7"},
                                   "8": {"extraction": "3", "sample_id": "x8"}}))  # fmt: skip
    read = read_predictions(records, prediction_column="extraction")
    assert {k: v.text for k, v in read.by_id.items()} == {"7": "B", "x8": "3"}
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"validation_Art_1": "A", "validation_Art_2": "12.5"}))
    read = read_predictions(answers)
    assert {k: v.text for k, v in read.by_id.items()} == {"validation_Art_1": "A",
                                                           "validation_Art_2": "12.5"}  # fmt: skip
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="or an object keyed by sample id"):
        read_predictions(tmp_path / "bad.json")


def test_other_columns_usage_latency_and_numeric_ids(tmp_path: Path) -> None:
    frame = pd.DataFrame({"qid": [7.0, 8.0], "answer": ["a", "b"], "input_tokens": [120, None],
                          "output_tokens": [3, 4], "latency_s": [0.5, "n/a"]})  # fmt: skip
    path = tmp_path / "p.parquet"
    frame.astype({"latency_s": str}).to_parquet(path)
    read = read_predictions(path, id_column="qid", prediction_column="answer")
    assert list(read.by_id) == ["7", "8"]  # a number column's 7.0 is the id 7 (text stays text)
    assert (read.by_id["7"].text, read.by_id["7"].input_tokens, read.by_id["7"].latency_s) == (
        "a", 120, 0.5)  # fmt: skip
    assert (read.by_id["8"].input_tokens, read.by_id["8"].output_tokens) == (None, 4)
    assert read.by_id["8"].latency_s is None


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        ('{"sample_id": "1", "prediction": "a"}\n{"sample_id": "1", "prediction": "b"}\n', (),
         "sample_id '1' is given twice (rows 1 and 2); keep one prediction per sample"),
        ('{"id": "1", "prediction": "a"}\n', (),
         "backend.id_column: the file has no column 'sample_id'"),
        ('{"sample_id": "1", "answer": "a"}\n', (),
         "backend.prediction_column: the file has no column 'prediction'"),
        ('{"sample_id": "1", "prediction": "a"}\n', ("backend.id_column=sampel_id",),
         "the file has no column 'sampel_id'; did you mean 'sample_id'?"),
        ("", (), "the file holds no predictions"),
        ('{"sample_id": "1"\n', (), "line 1: not JSON"),
        ('[1, 2]\n', (), "line 1: expected a JSON object, got list"),
        ('{"sample_id": "1", "prediction": "a"}\n', ("backend.format=lmms",),
         "backend.format: unknown format 'lmms'"),
    ],
)  # fmt: skip
def test_a_file_that_cannot_be_replayed_is_one_line_before_anything_runs(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: str,
    options: tuple[str, ...],
    message: str,
) -> None:
    path = tmp_path / "preds.jsonl"
    path.write_text(content)
    proc, _ = _replay(capsys, tmp_path, path, *options)
    assert proc.returncode == 2, proc.stdout
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("evalkit: error: ") and message in line
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("run.json"))


def test_missing_files_and_unknown_types_are_one_line(tmp_path: Path) -> None:
    for path, message in ((tmp_path / "nowhere.jsonl", "no such file"),
                          (tmp_path, "a folder; give a predictions file"),
                          (tmp_path / "p.txt", "unknown file type '.txt'")):  # fmt: skip
        if path.suffix == ".txt":
            path.write_text("x")
        with pytest.raises(ConfigError, match=message):
            read_predictions(path)


def test_the_model_label_and_no_model_needed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _write(_predictions(), tmp_path / "preds.parquet")
    proc, run_dir = _replay(capsys, tmp_path, path, "backend.model=qwen2-vl-7b-lmms-eval")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((run_dir / "run.json").read_text())["backend"]["model"] == (
        "qwen2-vl-7b-lmms-eval")  # fmt: skip


def test_the_docs_state_each_tasks_sample_id() -> None:
    """The docs' "Sample ids" table names every task once, with the id column its file uses."""
    import re

    from evalkit.compose.tasks import load_task, task_names

    page = Path(__file__).resolve().parents[2] / "docs" / "predictions.md"
    table = page.read_text(encoding="utf-8").split("## Sample ids", 1)[1].split("\n\n# ", 1)[0]
    stated: dict[str, str | None] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith("`"):
            continue
        column = cells[1].strip("`") if cells[1].startswith("`") else None
        for pattern in re.findall(r"`([^`]+)`", cells[0]):
            for name in task_names():
                if re.fullmatch(pattern.replace("*", ".*"), name):
                    assert name not in stated, name
                    stated[name] = column
    assert stated == {name: load_task(name).columns.id for name in task_names()}


def test_a_failed_sample_of_a_replayed_evalkit_run_stays_failed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: FakeVLMServer
) -> None:
    server.answer_book = answer_book("docvqa")
    server.faults.extend([Fault(400, body=b'{"error": {"message": "bad image"}}')])
    proc = main_in_process(capsys, tmp_path, "task=docvqa", "backend=openai", "backend.model=m",
                           f"backend.base_url={server.openai_url}", "backend.api_key_env=null",
                           "cache.mode=off", "limits.concurrency=1")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    first = results_of(proc, tmp_path)
    rows = load_run(first).samples
    [failed] = rows.loc[rows["error"].notna(), "sample_id"]
    proc, run_dir = _replay(capsys, tmp_path, first, "backend.format=evalkit", task="docvqa")
    assert proc.returncode == 0, proc.stderr
    samples = load_run(run_dir).samples.set_index("sample_id")
    assert samples.loc[failed, "error_type"] == "MissingPrediction"
    assert "failed in the run replayed (InvalidRequest: HTTP 400" in samples.loc[failed, "error"]
    assert samples["error"].notna().sum() == 1


def test_an_lmms_eval_log_pairs_by_the_logged_doc_or_its_position(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Lines as lmms-eval's evaluator logs them (``--log_samples``): ``doc_id`` is the doc's
    position in the split; ``doc`` is the row without its images; ``filtered_resps`` holds
    one filtered answer per request (``generate_until``: a string)."""
    docs = pd.read_parquet(sample_data_dir() / "docvqa" / "validation.parquet").drop(
        columns="image"
    )
    lines = []
    for position, doc in enumerate(docs.to_dict("records")):
        answer = "no idea" if position == 4 else doc["answers"][0]
        doc = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in doc.items()}
        lines.append({"doc_id": position, "doc": doc, "target": doc["answers"],
                      "arguments": [[doc["question"], {"max_new_tokens": 32}]],
                      "resps": [[answer]], "filtered_resps": [answer],
                      "doc_hash": "0" * 64, "prompt_hash": "1" * 64, "target_hash": "2" * 64,
                      "anls": {"questionId": doc["questionId"], "anls": 1.0}})  # fmt: skip
    log = tmp_path / "samples_docvqa_val.jsonl"
    log.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    proc, run_dir = _replay(capsys, tmp_path, log, "backend.format=lmms-eval", task="docvqa")
    assert proc.returncode == 0, proc.stderr
    samples = load_run(run_dir).samples.set_index("sample_id")
    assert samples["error"].isna().all()  # paired by questionId, not by position
    assert samples.loc[str(docs["questionId"][4]), "anls"] == 0.0
    assert samples["anls"].sum() == len(docs) - 1
    # a task without an id column: doc_id, the position, is the sample id
    chart = [{"doc_id": i, "doc": {"question": "q", "answer": a, "type": "human_test"},
              "resps": [[a]], "filtered_resps": [a]} for i, a in enumerate(GOLD["answer"])]  # fmt: skip
    log = tmp_path / "samples_chartqa.jsonl"
    log.write_text("".join(json.dumps(line) + "\n" for line in reversed(chart)))
    proc, run_dir = _replay(capsys, tmp_path, log, "backend.format=lmms-eval")
    assert proc.returncode == 0, proc.stderr
    assert load_run(run_dir).samples["relaxed_accuracy"].sum() == len(GOLD)
    proc, _ = _replay(capsys, tmp_path, log, "backend.format=lmms-eval", "backend.id_column=doc_id")
    assert proc.returncode == 2 and "backend.id_column=doc_id is not read with" in proc.stderr


def test_a_vlmevalkit_sheet_pairs_by_its_index(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``<model>_<dataset>.xlsx`` as VLMEvalKit's inference writes it: the dataset's TSV
    columns without ``image``, and ``prediction``."""
    pytest.importorskip("openpyxl")
    data = pd.read_parquet(sample_data_dir() / "mmbench_en" / "dev.parquet").drop(columns="image")
    sheet = data.rename(columns={"L2-category": "l2-category"}).assign(
        index=data["index"].astype(int), prediction=data["answer"]
    )
    sheet.loc[2, "prediction"] = "Z"
    path = tmp_path / "Qwen2-VL-7B-Instruct_MMBench_DEV_EN.xlsx"
    sheet.to_excel(path, index=False)
    proc, run_dir = _replay(capsys, tmp_path, path, "backend.format=vlmevalkit",
                            task="mmbench_en")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    samples = load_run(run_dir).samples.set_index("sample_id")
    assert samples["error"].isna().all() and len(samples) == len(data)
    assert samples.loc[str(data["index"][2]), "exact_match"] == 0.0
    assert samples["exact_match"].sum() == len(data) - 1
    summary = load_run(run_dir).summary.set_index("metric")  # 50 questions, one pass wrong
    assert summary.loc["exact_match_circular", "value"] == pytest.approx(49 / 50)


def test_compare_pairs_a_replay_with_a_live_run_and_says_where_each_came_from(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: FakeVLMServer
) -> None:
    server.answer_book = answer_book("chartqa")
    proc = main_in_process(capsys, tmp_path, "task=chartqa", "backend=openai", "backend.model=m",
                           f"backend.base_url={server.openai_url}", "backend.api_key_env=null",
                           "cache.mode=off")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    live = results_of(proc, tmp_path)
    path = _write(_predictions(wrong=set(range(0, 50, 2))), tmp_path / "lmms.jsonl")
    proc, replayed = _replay(capsys, tmp_path, path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "c.json"
    proc = main_in_process(capsys, tmp_path, "compare", str(live), str(replayed), "--json",
                           str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert f"base {live} (openai m at {server.openai_url})" in proc.stdout
    assert f"cand {replayed} (replay of lmms.jsonl (table, sha256 {sha[:12]}))" in proc.stdout
    [task] = json.loads(out.read_text())["tasks"]
    assert task["cand_source"] == f"replay of lmms.jsonl (table, sha256 {sha[:12]})"
    assert task["n_pairs"] == len(GOLD) and task["n_right_to_wrong"] == 25
    page = tmp_path / "page.html"
    proc = main_in_process(capsys, tmp_path, "report", str(live), str(replayed), "-o", str(page))
    assert proc.returncode == 0, proc.stderr
    html = page.read_text(encoding="utf-8")
    assert f"answers <b>openai m at {server.openai_url}</b>" in html
    assert f"answers <b>replay of lmms.jsonl (table, sha256 {sha[:12]})</b>" in html


def test_a_replay_needs_no_images_unless_the_task_reads_their_size(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Annotations alone (no image column) are enough to score a file of predictions; a
    model backend still refuses such rows, and so does a task with gold boxes in pixels."""
    rows = pd.read_parquet(sample_data_dir() / "chartqa" / "test.parquet").drop(columns="image")
    data = tmp_path / "annotations.jsonl"
    rows.to_json(data, orient="records", lines=True)
    path = _write(_predictions(wrong={1}), tmp_path / "preds.jsonl")
    proc, run_dir = _replay(capsys, tmp_path, path, "dataset=local", f"dataset.path={data}")
    assert proc.returncode == 0, proc.stderr
    samples = load_run(run_dir).samples
    assert samples["error"].isna().all() and samples["image_width"].isna().all()
    assert samples["relaxed_accuracy"].sum() == len(GOLD) - 1
    page = tmp_path / "page.html"
    assert (
        main_in_process(capsys, tmp_path, "report", str(run_dir), "-o", str(page)).returncode == 0
    )
    proc = main_in_process(capsys, tmp_path, "task=chartqa", "dataset=local",
                           f"dataset.path={data}")  # fmt: skip
    assert proc.returncode == 2 and "MissingField" in proc.stderr  # the baseline looks at them
    # GQA keeps its images in another configuration: a replay does not join them
    questions = pd.read_parquet(sample_data_dir() / "gqa" / "testdev.parquet")
    gqa = _write(pd.DataFrame({"sample_id": questions["id"], "prediction": questions["answer"]}),
                 tmp_path / "gqa.parquet")  # fmt: skip
    data = tmp_path / "gqa_questions.parquet"
    questions.to_parquet(data)
    proc, run_dir = _replay(capsys, tmp_path, gqa, "dataset=local", f"dataset.path={data}",
                            task="gqa")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert load_run(run_dir).samples["exact_match"].mean() == 1.0
    # RefCOCO's gold boxes are pixels: its rows still need their images
    refs = pd.read_parquet(sample_data_dir() / "refcoco" / "val.parquet").drop(columns="image")
    data = tmp_path / "refs.jsonl"
    refs.to_json(data, orient="records", lines=True)
    boxes = _write(pd.DataFrame({"sample_id": [f"{q}#0" for q in refs["question_id"]],
                                 "prediction": "(0,0),(999,999)"}), tmp_path / "boxes.jsonl")  # fmt: skip
    proc, _ = _replay(capsys, tmp_path, boxes, "dataset=local", f"dataset.path={data}",
                      task="refcoco")  # fmt: skip
    assert proc.returncode == 2 and "MissingField" in proc.stderr

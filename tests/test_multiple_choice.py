"""Multiple choice: the letter read from free text, MMBench's circular evaluation, Chinese."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from evalkit import load_run
from evalkit.resources import sample_data_dir
from evalkit.run.rescore import rescore
from evalkit.testing.fake_server import FakeVLMServer

PASSES = 1_000_000


def _book(task: str, wrong: set[int] = frozenset()) -> dict[str, str]:  # type: ignore[assignment]
    """Answer every question with its right option's text (the letter moves between passes),
    or with the letter 'A' for the questions in ``wrong`` (by position of the first pass)."""
    rows = pd.read_parquet(sample_data_dir() / task / "dev.parquet")
    wrong_questions = {int(rows["index"][i]) for i in wrong}
    book = {}
    for _, row in rows.iterrows():
        digest = hashlib.sha256(row["image"]["bytes"]).hexdigest()
        right = row[row["answer"]]
        key = f"sha256:{digest}|{row['question']}"
        book[key] = "A" if int(row["index"]) % PASSES in wrong_questions else right
    return book


def test_mmbench_cn_asks_each_pass_as_its_release_holds_it_and_needs_every_pass(
    run_eval, server: FakeVLMServer
) -> None:
    """The release's rows are the passes (row i + k*10^6: pass k of question i, its options
    rotated): each is asked once, as given, and a question is right only when every pass is,
    as VLMEvalKit's mcq_circular_eval counts it (over the questions' first passes)."""
    rows = pd.read_parquet(sample_data_dir() / "mmbench_cn" / "dev.parquet")
    assert rows["question"].str.contains(r"[\u4e00-\u9fff]").all()  # Chinese questions
    server.answer_book = _book("mmbench_cn", wrong={0, 1})
    outcome = run_eval("task=mmbench_cn", "backend=openai", f"backend.base_url={server.openai_url}",
                       "backend.model=m")  # fmt: skip
    run = load_run(outcome.run_dir)
    samples = run.samples.set_index("sample_id")
    assert list(samples.index) == [str(i) for i in rows["index"]]  # one sample a row, its index
    for _, row in rows.iterrows():
        options = [row[k] for k in "ABCD" if pd.notna(row[k])]
        asked = samples.loc[str(row["index"])]
        assert list(asked["choices"]) == options  # as the row gives them: no second rotation
        assert list(asked["references"]) == [row["answer"]]
    assert "有如下几个选项：" in samples["prompt"].iloc[0]
    first = rows.iloc[0]
    passes = rows[rows["index"] % PASSES == first["index"]]
    assert len(passes) == sum(pd.notna(first[k]) for k in "ABCD")  # a pass per option
    circular = run.summary.set_index("metric").loc["exact_match_circular"]  # one row
    assert int(circular["n"]) == 50  # the questions, not the 163 rows
    assert float(circular["value"]) == pytest.approx(48 / 50)  # the two answered 'A' fall
    # each pass on its own: 'A' is right only where A is the right letter
    question = rows["index"] % PASSES
    answered_a = question.isin(rows["index"][[0, 1]])
    expected = (~answered_a | (rows["answer"] == "A")).sum()
    assert samples["exact_match"].sum() == expected
    # a rescore reads the shown options back and agrees
    again = {r.metric: r.value for r in rescore(outcome.run_dir) if r.group is None}
    assert again["exact_match_circular"] == pytest.approx(48 / 50)


def test_a_question_is_judged_on_its_passes_read_and_only_with_its_first(
    run_eval, server: FakeVLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    """With dataset.limit only the first rows (first passes) are read: the circular metric
    judges those passes, and says so. A question whose first pass is missing is not judged."""
    import logging

    server.answer_book = _book("mmbench_en")
    api = ["backend=openai", f"backend.base_url={server.openai_url}", "backend.model=m"]
    with caplog.at_level(logging.WARNING, logger="evalkit"):
        outcome = run_eval("task=mmbench_en", *api, "dataset.limit=5")
    assert any("judges the passes read" in r.getMessage() for r in caplog.records)
    circular = next(r for r in outcome.summary if r.metric == "exact_match_circular")
    assert circular.n == 5 and circular.value == 1.0
    rows = pd.read_parquet(sample_data_dir() / "mmbench_en" / "dev.parquet")
    later = rows[rows["index"].astype(int) >= PASSES]  # passes without their first
    path = outcome.run_dir.parent / "later.parquet"
    later.to_parquet(path)
    outcome = run_eval("task=mmbench_en", *api, "dataset=local", f"dataset.path={path}")
    assert not any(r.metric == "exact_match_circular" and r.n for r in outcome.summary)


def test_circular_evaluation_can_be_turned_off(run_eval) -> None:
    run = load_run(run_eval("task=mmbench_en", "task.circular_passes=null").run_dir)
    rows = pd.read_parquet(sample_data_dir() / "mmbench_en" / "dev.parquet")
    assert len(run.samples) == len(rows) and not run.samples["sample_id"].str.contains("#").any()
    assert "exact_match_circular" not in set(run.summary["metric"])


def test_empty_option_cells_are_left_out_of_the_prompt(run_eval) -> None:
    rows = pd.read_parquet(sample_data_dir() / "mmbench_en" / "dev.parquet")
    two = rows[rows["C"].isna()].iloc[0]
    run = load_run(run_eval("task=mmbench_en").run_dir)
    row = run.samples.set_index("sample_id").loc[str(two["index"])]
    assert list(row["choices"]) == [two["A"], two["B"]]
    assert "\nA. " in row["prompt"] and "\nB. " in row["prompt"] and "\nC. " not in row["prompt"]


def test_chinese_ocr_counts_the_gold_text_inside_the_reply(run_eval, server: FakeVLMServer) -> None:
    rows = pd.read_parquet(sample_data_dir() / "chinese_ocr" / "test.parquet")
    book = {}
    for _, row in rows.iterrows():
        digest = hashlib.sha256(row["image"]["bytes"]).hexdigest()
        book[f"sha256:{digest}|{row['question']}"] = f"答案是{row['answers']}。"
    server.answer_book = book
    outcome = run_eval("task=chinese_ocr", "backend=openai", f"backend.base_url={server.openai_url}",
                       "backend.model=m")  # fmt: skip
    run = load_run(outcome.run_dir)
    assert (run.samples["exact_match"] == 1.0).all()  # contained, not equal: OCRBench's rule
    groups = run.summary[run.summary["group_by"] == "dataset_name"]
    assert set(groups["group"]) == {"ESTVQA_cn", "ReCTS"}


def test_qwen_vl_chats_chinese_grounding_request_reads_its_box_answer(
    run_eval, server: FakeVLMServer
) -> None:
    server.answer = "<ref>左边的形状</ref><box>(0,0),(999,999)</box>"
    outcome = run_eval("task=refcoco", "backend=openai", f"backend.base_url={server.openai_url}",
                       "backend.model=qwen-vl-chat", "backend.prompt_family=qwen-vl-chat-zh",
                       "dataset.limit=3")  # fmt: skip
    run = load_run(outcome.run_dir)
    assert run.samples["prompt"].str.contains("框出图中").all()
    assert run.samples["prompt"].str.endswith("的位置").all()
    boxes = run.samples["pred_box"].map(list)
    widths = run.samples["image_width"]
    assert all(box[2] == pytest.approx(w) for box, w in zip(boxes, widths, strict=True))


def test_a_limit_never_cuts_a_rotated_question_short(run_eval) -> None:
    """evalkit's own rotation (``task.circular``, for data without the passes as rows)."""
    from evalkit import load_run

    outcome = run_eval("task=mmbench_en", "task.circular_passes=null", "task.circular=true",
                       "dataset.limit=5")  # fmt: skip
    ids = load_run(outcome.run_dir).samples["sample_id"].tolist()
    questions = {i.rpartition("#c")[0] for i in ids}
    assert len(questions) == 2 and len(ids) == 8  # the question reaching the limit, whole
    circular = next(r for r in outcome.summary if r.metric == "exact_match_circular")
    assert circular.n == 2 and circular.n_failed == 0


def test_rotating_rows_that_are_passes_already_is_refused(run_eval) -> None:
    from evalkit.errors import ConfigError

    with pytest.raises(
        ConfigError,
        match="circular .evalkit rotates the options. and "
        "circular_passes .the rows are the passes. exclude",
    ):
        run_eval("task=mmbench_en", "task.circular=true")

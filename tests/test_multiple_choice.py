"""Multiple choice: the letter read from free text, MMBench's circular evaluation, Chinese."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from evalkit import load_run
from evalkit.resources import sample_data_dir
from evalkit.run.rescore import rescore
from evalkit.testing.fake_server import FakeVLMServer


def _book(task: str, wrong: set[int] = frozenset()) -> dict[str, str]:  # type: ignore[assignment]
    """Answer every question with its right option's text (the letter moves between passes),
    or with the letter 'A' for the questions in ``wrong``."""
    rows = pd.read_parquet(sample_data_dir() / task / "dev.parquet")
    book = {}
    for position, row in rows.iterrows():
        digest = hashlib.sha256(row["image"]["bytes"]).hexdigest()
        right = row[row["answer"]]
        book[f"sha256:{digest}|{row['question']}"] = "A" if position in wrong else right
    return book


def test_mmbench_cn_asks_each_question_once_per_rotation_and_needs_every_pass(
    run_eval, server: FakeVLMServer
) -> None:
    rows = pd.read_parquet(sample_data_dir() / "mmbench_cn" / "dev.parquet")
    assert rows["question"].str.contains(r"[\u4e00-\u9fff]").all()  # Chinese questions
    server.answer_book = _book("mmbench_cn", wrong={0, 1})
    outcome = run_eval("task=mmbench_cn", "backend=openai", f"backend.base_url={server.openai_url}",
                       "backend.model=m")  # fmt: skip
    run = load_run(outcome.run_dir)
    samples = run.samples.set_index("sample_id")
    first = rows.iloc[0]
    options = [first[k] for k in "ABCD" if pd.notna(first[k])]
    n = len(options)
    passes = samples.loc[[f"{first['index']}#c{k}" for k in range(n)]]
    for k, (_, row) in enumerate(passes.iterrows()):
        assert list(row["choices"]) == options[k:] + options[:k]  # rotated one place a pass
        right = options.index(first[first["answer"]])
        assert list(row["references"]) == [chr(ord("A") + (right - k) % n)]
        assert "有如下几个选项：" in row["prompt"] and "请直接使用所提供的选项字母" in row["prompt"]
    assert len(run.samples) == sum(
        sum(pd.notna(r[k]) for k in "ABCD") for _, r in rows.iterrows()
    )  # every question once per option; two-option questions twice
    circular = run.summary.set_index("metric").loc["exact_match_circular"]  # one row
    assert int(circular["n"]) == 50
    assert float(circular["value"]) == pytest.approx(48 / 50)  # the two answered 'A' fall
    # each pass on its own: 'A' is right once per wrong question
    per_pass = samples["exact_match"]
    assert per_pass.sum() == len(samples) - sum(
        sum(pd.notna(r[k]) for k in "ABCD") - 1 for _, r in rows.iloc[:2].iterrows()
    )
    # a rescore reads the shown options back and agrees
    again = {r.metric: r.value for r in rescore(outcome.run_dir) if r.group is None}
    assert again["exact_match_circular"] == pytest.approx(48 / 50)


def test_circular_evaluation_can_be_turned_off(run_eval) -> None:
    run = load_run(run_eval("task=mmbench_en", "task.circular=false").run_dir)
    assert len(run.samples) == 50 and not run.samples["sample_id"].str.contains("#").any()
    assert "exact_match_circular" not in set(run.summary["metric"])


def test_empty_option_cells_are_left_out_of_the_prompt(run_eval) -> None:
    rows = pd.read_parquet(sample_data_dir() / "mmbench_en" / "dev.parquet")
    two = rows[rows["C"].isna()].iloc[0]
    run = load_run(run_eval("task=mmbench_en", "task.circular=false").run_dir)
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


def test_a_limit_never_cuts_a_circular_question_short(run_eval) -> None:
    from evalkit import load_run

    outcome = run_eval("task=mmbench_en", "dataset.limit=5")
    ids = load_run(outcome.run_dir).samples["sample_id"].tolist()
    questions = {i.rpartition("#c")[0] for i in ids}
    assert len(questions) == 2 and len(ids) == 8  # the question reaching the limit, whole
    circular = next(r for r in outcome.summary if r.metric == "exact_match_circular")
    assert circular.n == 2 and circular.n_failed == 0

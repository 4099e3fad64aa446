"""MMMU read and scored as its eval/eval_utils.py (MMMU-Benchmark/MMMU @ 44b45b50) does it."""

from __future__ import annotations

import ast
import json
import random
import re
from pathlib import Path

import pandas as pd
import pytest

from evalkit import load_run
from evalkit.parse.mmmu import choose_option
from evalkit.resources import sample_data_dir
from evalkit.score.mmmu import open_candidates, open_correct

from ..conftest import predictions_file

SAMPLE = pd.read_parquet(sample_data_dir() / "mmmu" / "validation.parquet")


# ------------------------------------------------ the official functions, restated for the test
def _official_choice(
    response: str, all_choices: list[str], index2ans: dict[str, str]
) -> str | None:
    """parse_multi_choice_response, its random draw replaced by None."""
    for char in [",", ".", "!", "?", ";", ":", "'"]:
        response = response.strip(char)
    response = " " + response + " "
    index_ans, ans_with_brack, candidates = True, False, []
    for choice in all_choices:
        if f"({choice})" in response:
            candidates.append(choice)
            ans_with_brack = True
    if not candidates:
        candidates = [c for c in all_choices if f" {c} " in response]
    if not candidates and len(response.split()) > 5:
        for index, ans in index2ans.items():
            if ans.lower() in response.lower():
                candidates.append(index)
                index_ans = False
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    if index_ans and ans_with_brack:
        starts = [response.rfind(f"({c})") for c in candidates]
    elif index_ans:
        starts = [response.rfind(f" {c} ") for c in candidates]
    else:
        starts = [response.lower().rfind(index2ans[c].lower()) for c in candidates]
    return candidates[starts.index(max(starts))]


def _official_normalize(string: str) -> list[float | str]:
    string = string.strip()
    try:
        float(string.replace(",", ""))
    except ValueError:
        string = string.lower()
        return [" " + string, string + " "] if len(string) == 1 else [string]
    return [round(float(string.replace(",", "")), 2)]


def _official_open(response: str) -> list[float | str]:
    response = response.strip().strip(".").lower()
    subs = re.split(r"\.\s(?=[A-Z])|\n", response)
    keys = ["could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result "]
    key_responses = []
    for index, resp in enumerate(subs):
        if index == len(subs) - 1:
            keys.extend(["="])
        shortest = None
        for key in keys:
            if key in resp:
                tail = resp.split(key)[-1].strip()
                if not shortest or len(tail) < len(shortest):
                    shortest = tail
        if shortest and shortest.strip() not in [":", ",", ".", "!", "?", ";", ":", "'"]:
            key_responses.append(shortest)
    if not key_responses:
        key_responses = [response]
    preds = key_responses.copy()
    for resp in key_responses:
        preds += (re.findall(r"-?\b\d{1,3}(?:,\d{3})+\b", resp)
                  + re.findall(r"-?\d+(?:\.\d+)?[eE][+-]?\d+", resp)
                  + re.findall(r"-?(?:\d+\.\d+|\.\d+|\d+\b)(?![eE][+-]?\d+)(?![,\d])", resp))  # fmt: skip
    return list({v for p in preds for v in _official_normalize(p)})


def _official_eval_open(gold: str, preds: list[float | str]) -> bool:
    norm = _official_normalize(gold)
    for pred in preds:
        if isinstance(pred, str):
            if any(isinstance(n, str) and n in pred for n in norm):
                return True
        elif pred in norm:
            return True
    return False


CHOICE_REPLIES = ["B", "(B)", "B.", "The answer is (C).", "A or B", "I'd say (A), not (B)",
                  "b", "It is the blue one, surely not the red one at all", "C)", "'D'",
                  "Answer: D", "none", "", " (A) (A) ", "A B C D", "Option B is right here"]  # fmt: skip
OPEN_REPLIES = ["42", "The total is 1,200 dollars.", "so the answer is 3.14159", "x = 7",
                "It could be 2e3 or 2000", "Paris", "a", "The result is -0.5\nso it is .5",
                "is is is", "Therefore, 12", "1_000", "nan", "The answer is A."]  # fmt: skip


@pytest.mark.parametrize("reply", CHOICE_REPLIES)
def test_an_option_is_read_as_the_script_reads_it(reply: str) -> None:
    options = ["red", "blue", "green", "yellow"]
    letters = ["A", "B", "C", "D"]
    expected = _official_choice(reply, letters, dict(zip(letters, options, strict=True)))
    letter, found = choose_option(reply, letters, options, "validation_Art_1")
    assert found == (expected is not None)
    if expected is not None:
        assert letter == expected


@pytest.mark.parametrize("reply", OPEN_REPLIES)
@pytest.mark.parametrize("gold", ["42", "1200", "3.14", "7", "2000", "paris", "a", "0.5", "12",
                                  "1000", "A"])  # fmt: skip
def test_an_open_reply_is_scored_as_the_script_scores_it(reply: str, gold: str) -> None:
    assert sorted(map(repr, open_candidates(reply))) == sorted(map(repr, _official_open(reply)))
    assert open_correct(gold, open_candidates(reply)) == _official_eval_open(
        gold, _official_open(reply)
    )


def test_an_unreadable_reply_draws_the_same_letter_every_time() -> None:
    letters, options = ["A", "B", "C", "D"], ["red", "blue", "green", "yellow"]
    draws = {choose_option("no idea", letters, options, f"validation_Art_{n}") for n in range(40)}
    assert {found for _, found in draws} == {False}
    assert len({letter for letter, _ in draws}) > 1  # drawn, not a fixed letter
    for n in range(5):
        once = choose_option("no idea", letters, options, f"validation_Art_{n}")
        assert once == choose_option("no idea", letters, options, f"validation_Art_{n}")


def _replies() -> dict[str, str]:
    rng = random.Random(3)
    out = {}
    for row in SAMPLE.itertuples():
        options = ast.literal_eval(row.options)
        if options:
            pool = [
                f"({row.answer})",
                row.answer,
                "I do not know",
                f"It is {options[0]} of course here",
            ]
        else:
            pool = [row.answer, f"So the answer is {row.answer}.", "many", f"= {row.answer}0"]
        out[row.id] = rng.choice(pool)
    return out


def test_the_run_scores_each_question_as_the_script(run_eval, tmp_path: Path) -> None:
    replies = _replies()
    path = predictions_file(tmp_path / "preds.jsonl", replies.items())
    outcome = run_eval("task=mmmu", "backend=replay", f"backend.predictions={path}")
    run = load_run(outcome.run_dir)
    scores = run.samples.set_index("sample_id")["mmmu_accuracy"]
    drawn = 0
    for row in SAMPLE.itertuples():
        options = ast.literal_eval(row.options)
        reply = replies[row.id]
        if options:
            letters = [chr(65 + i) for i in range(len(options))]
            official = _official_choice(reply, letters, dict(zip(letters, options, strict=True)))
            if official is None:
                drawn += 1
                continue  # the script's letter is a draw: evalkit's is seeded (tested above)
            assert scores[row.id] == float(official == row.answer), row.id
        else:
            assert scores[row.id] == float(_official_eval_open(row.answer, _official_open(reply)))
    manifest = json.loads((outcome.run_dir / "run.json").read_text())
    assert drawn > 0 and manifest["scoring"]["unparsed"] == drawn
    summary = run.summary
    groups = summary[summary["kind"] == "group"]
    assert set(groups["group_by"]) == {"topic_difficulty", "question_type", "subject",
                                       "discipline"}  # fmt: skip
    art = groups[(groups["group_by"] == "discipline") & (groups["group"] == "Art and Design")]
    assert art["value"].item() == pytest.approx(
        scores[[i for i in scores.index if i.startswith("validation_Art_")]].mean()
    )


def test_open_questions_get_their_own_prompt_and_every_image_goes(run_eval, server) -> None:
    outcome = run_eval("task=mmmu", "backend=openai", f"backend.base_url={server.openai_url}",
                       "backend.model=m", "backend.api_key_env=null")  # fmt: skip
    run = load_run(outcome.run_dir)
    assert run.samples["error"].isna().all()
    by_text = {}
    for body in (r.body for r in server.received):
        [message] = body["messages"]
        texts = [p["text"] for p in message["content"] if p["type"] == "text"]
        images = [p for p in message["content"] if p["type"] == "image_url"]
        by_text[texts[0].split("\n")[0]] = (texts[0], len(images))
    for row in SAMPLE.itertuples():
        text, images = by_text[row.question]
        n_images = sum(getattr(row, f"image_{i}") is not None for i in range(1, 8))
        assert images == n_images
        if ast.literal_eval(row.options):
            assert text.endswith(
                "\n\nAnswer with the option's letter from the given choices directly."
            )
            assert "\nA. " in text
        else:
            assert text == f"{row.question}\n\nAnswer the question using a single word or phrase."
    assert any(n == 2 for _, n in by_text.values())


def test_options_that_are_not_a_list_are_an_error_row(run_eval, tmp_path: Path) -> None:
    rows = SAMPLE.head(3).copy()
    rows.loc[rows.index[0], "options"] = "red, blue"
    path = tmp_path / "rows.parquet"
    rows.to_parquet(path)
    outcome = run_eval("task=mmmu", "dataset=local", f"dataset.path={path}", "backend=baseline",
                       "limits.max_error_rate=null")  # fmt: skip
    samples = load_run(outcome.run_dir).samples.set_index("sample_id")
    first = samples.loc[rows["id"].iloc[0]]
    assert first["error_type"] == "MissingField" and "not a list written as text" in first["error"]
    assert samples["error"].isna().sum() == 2

"""Each task's protocol per model family: prompts, token limits and metric parameters.

The ``qwen-vl`` family reproduces Qwen-VL's eval_mm scripts (prompt, ``max_new_tokens`` and
``min_new_tokens``, the metric variant its scorer computes); a family's metric parameters are
recorded in run.json and reach the requests only through the backends that have them.
"""

from __future__ import annotations

import logging

import pytest
import yaml

from evalkit import load_run
from evalkit.cache.key import key_components
from evalkit.compose.tasks import check_task, load_task, task_metrics, task_names
from evalkit.config import PromptSpec
from evalkit.errors import ConfigError
from evalkit.testing.fake_server import FakeVLMServer

# eval_mm (QwenLM/Qwen-VL cfe66a7): evaluate_vqa.py, evaluate_caption.py, evaluate_grounding.py
EVAL_MM = {
    "vqav2": ("{question} Answer:", 10, 1), "okvqa": ("{question} Answer:", 10, 1),
    "textvqa": ("{question} Answer:", 10, 1), "vizwiz": ("{question} Answer:", 10, 1),
    "gqa": ("{question} Answer:", 10, 1), "docvqa": ("{question} Answer:", 100, 1),
    "chartqa": ("{question} Answer:", 100, 1), "ocrvqa": ("{question} Answer:", 100, 1),
    "nocaps": ("Describe the image in English:", 30, 8),
    "flickr30k": ("Describe the image in English:", 30, 8),
    "refcoco": ("<ref>{question}</ref><box>", 28, 10),
    "refcoco_plus": ("<ref>{question}</ref><box>", 28, 10),
    "refcocog": ("<ref>{question}</ref><box>", 28, 10),
}  # fmt: skip
# the scorer eval_mm runs, where it differs from the task's default
EVAL_MM_METRICS = {
    "vqav2": {"vqa_accuracy": {"mode": "qwen-vl"}}, "okvqa": {"vqa_accuracy": {"mode": "qwen-vl"}},
    "textvqa": {"vqa_accuracy": {"mode": "qwen-vl"}}, "vizwiz": {"vqa_accuracy": {"mode": "qwen-vl"}},
    "gqa": {"exact_match": {"mode": "qwen-vl-gqa"}},
    "chartqa": {"relaxed_accuracy": {"mode": "qwen-vl"}},
}  # fmt: skip


@pytest.mark.parametrize("task", sorted(EVAL_MM))
def test_qwen_vl_prompts_are_eval_mms(task: str) -> None:
    prompt = load_task(task).prompts["qwen-vl"]
    assert (prompt.user, prompt.max_tokens, prompt.min_tokens) == EVAL_MM[task]
    assert prompt.system is None  # the base model: no chat turn around it
    assert prompt.metrics == EVAL_MM_METRICS.get(task, {})


def test_cfg_job_shows_the_eval_mm_prompt_and_its_token_limits(cli) -> None:
    proc = cli("--cfg", "job", "task=gqa", "backend.prompt_family=qwen-vl")
    assert proc.returncode == 0, proc.stderr
    job = yaml.safe_load(proc.stdout)
    assert job["backend"]["prompt_family"] == "qwen-vl"
    shown = job["task"]["prompts"]["qwen-vl"]
    assert {k: shown[k] for k in ("user", "system", "max_tokens", "min_tokens", "metrics")} == {
        "user": "{question} Answer:", "system": None, "max_tokens": 10, "min_tokens": 1,
        "metrics": {"exact_match": {"mode": "qwen-vl-gqa"}},
    }  # fmt: skip


def test_every_chat_family_prompt_has_the_qwen_vl_chat_system_turn() -> None:
    chat = [load_task(t).prompts["qwen-vl-chat"] for t in task_names()
            if "qwen-vl-chat" in load_task(t).prompts]  # fmt: skip
    assert len(chat) >= 10
    assert {p.system for p in chat} == {"You are a helpful assistant."}
    assert all(p.min_tokens is None for p in chat)  # eval_mm has no chat script to copy


def test_a_family_re_parameterises_only_the_metrics_it_names() -> None:
    spec = load_task("gqa")
    [default] = task_metrics(spec)
    [qwen] = task_metrics(spec, spec.prompts["qwen-vl"])
    assert default.params == {"mode": "lmms-eval", "target": "answer"}
    assert qwen.params == {"mode": "qwen-vl-gqa", "target": "answer"}
    [chat] = task_metrics(spec, spec.prompts["qwen-vl-chat"])
    assert chat.params == {"mode": "lmms-eval", "target": "answer"}


def test_a_prompt_naming_an_unknown_metric_or_mode_is_a_one_line_error() -> None:
    spec = load_task("chartqa")
    spec.prompts["typo"] = PromptSpec(metrics={"relaxed_acc": {"mode": "qwen-vl"}})
    with pytest.raises(ConfigError, match=r"prompts\.typo: prompt metrics: .*relaxed_accuracy"):
        check_task(spec)
    spec.prompts["typo"] = PromptSpec(metrics={"relaxed_accuracy": {"mode": "qwen"}})
    with pytest.raises(ConfigError, match=r"prompts\.typo: metric 'relaxed_accuracy'"):
        check_task(spec)
    del spec.prompts["typo"]


def test_qwen_vl_run_sends_eval_mms_limits_and_records_its_scorer(
    run_eval, server: FakeVLMServer
) -> None:
    server.answer = "42"
    outcome = run_eval("task=chartqa", "backend=openai", f"backend.base_url={server.openai_url}",
                       "backend.model=qwen-vl", "backend.prompt_family=qwen-vl",
                       "dataset.limit=4")  # fmt: skip
    bodies = [r.body for r in server.received]
    assert {(b["max_tokens"], b["min_tokens"]) for b in bodies} == {(100, 1)}
    texts = [part["text"] for b in bodies for part in b["messages"][0]["content"]
             if part["type"] == "text"]  # fmt: skip
    assert all(t.endswith(" Answer:") for t in texts) and len(texts) == 4
    run = load_run(outcome.run_dir)
    assert run.manifest is not None
    [metric] = run.manifest["scoring"]["metrics"]
    assert metric["params"] == {"tolerance": 0.05, "mode": "qwen-vl"}


def test_dashscope_has_no_min_tokens_and_says_so(
    run_eval, server: FakeVLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="evalkit")
    run_eval("task=docvqa", "backend=dashscope", f"backend.base_url={server.dashscope_url}",
             "backend.model=qwen-vl-plus", "backend.api_key_env=null",
             "backend.prompt_family=qwen-vl", "dataset.limit=2")  # fmt: skip
    bodies = [r.body for r in server.received]
    assert {b["parameters"]["max_tokens"] for b in bodies} == {100}
    assert not any("min_tokens" in b["parameters"] for b in bodies)
    [warning] = [r.getMessage() for r in caplog.records if "new tokens" in r.getMessage()]
    assert "backend dashscope has no such parameter" in warning


def test_min_tokens_is_in_the_cache_key_only_when_set() -> None:
    from dataclasses import replace

    from evalkit.backends.base import BackendIdentity
    from evalkit.records import GenerationParams, Message, Request, TextPart

    request = Request("q", (Message("user", (TextPart("hi"),)),), GenerationParams(max_tokens=10))
    identity = BackendIdentity("openai", "m")
    plain = key_components(identity, request, {})
    assert "min_tokens" not in plain["params"]  # keys written before it existed still match
    floored = replace(request, params=replace(request.params, min_tokens=1))
    assert key_components(identity, floored, {})["params"]["min_tokens"] == 1


def test_multiple_choice_prompts_render_the_options_as_each_protocol_does() -> None:
    from evalkit.prompt.templates import fill
    from evalkit.records import Sample

    sample = Sample(id="0", images=(), question="What eats the grass?",
                    references=("B",), choices=("fox", "rabbit"))  # fmt: skip
    ai2d = load_task("ai2d")
    assert fill(ai2d.prompts["default"], sample) == (
        "What eats the grass?\nA. fox\nB. rabbit\n"
        "Answer with the option's letter from the given choices directly."
    )
    # lmms-eval's qwen_vl AI2D format: the options' texts right after the question, no separator
    assert fill(ai2d.prompts["qwen-vl"], sample) == "What eats the grass?fox\nrabbit Answer:"
    sqa = load_task("scienceqa_img")
    hinted = Sample(id="1", images=(), question="Attract or repel?", references=("A",),
                    choices=("attract", "repel"), context="Magnets pull.")  # fmt: skip
    assert fill(sqa.prompts["default"], hinted) == (
        "Context: Magnets pull.\nAttract or repel?\nA. attract\nB. repel\n"
        "Answer with the option's letter from the given choices directly."
    )
    bare = Sample(id="2", images=(), question="Which?", references=("A",), choices=("x", "y"))
    assert fill(sqa.prompts["default"], bare).startswith("Which?\nA. x")  # no empty Context line
    # eval_mm's evaluate_multiple_choice.py prompt: N/A when there is no hint
    assert fill(sqa.prompts["qwen-vl"], bare) == (
        "Context: N/A\nQuestion: Which?\nOptions: A. x\nB. y\nAnswer:"
    )


def test_ai2d_scores_the_letter_by_default_and_the_option_text_for_qwen_vl(
    run_eval, server: FakeVLMServer
) -> None:
    import pandas as pd

    from evalkit.resources import sample_data_dir
    from evalkit.run.rescore import rescore

    rows = pd.read_parquet(sample_data_dir() / "ai2d" / "test.parquet").head(6)
    texts = [r["options"][int(r["answer"])] for _, r in rows.iterrows()]
    letters = [chr(65 + int(a)) for a in rows["answer"]]
    server.answer = texts[0]  # the right option's text for the first question
    common = ("task=ai2d", "backend=openai", f"backend.base_url={server.openai_url}",
              "backend.model=m", "dataset.limit=6")  # fmt: skip
    qwen_dir = run_eval(*common, "backend.prompt_family=qwen-vl").run_dir
    qwen = load_run(qwen_dir)
    expected = [float(t.lower() == texts[0].lower()) for t in texts]
    assert list(qwen.samples["exact_match"]) == expected and expected[0] == 1.0
    assert list(qwen.samples["references"].map(list)) == [[x] for x in letters]
    server.answer = f"{letters[0]}."  # a letter with a period: lmms-eval drops the punctuation
    default = load_run(run_eval(*common).run_dir)
    assert list(default.samples["exact_match"]) == [float(x == letters[0]) for x in letters]
    # a rescore reads the option texts back from the kept column and agrees
    [row] = [r for r in rescore(qwen_dir) if r.kind == "metric" and r.group is None]
    assert row.value == sum(expected) / len(expected)


def test_an_answer_index_outside_the_options_is_the_rows_error(run_eval, tmp_path) -> None:
    import io

    import datasets
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="PNG")
    image = {"bytes": buf.getvalue(), "path": None}
    rows = [
        {"question": "q?", "options": ["a", "b"], "answer": "1", "image": image},
        {"question": "q?", "options": ["a", "b"], "answer": "5", "image": image},
        {"question": "q?", "options": ["a", "b"], "answer": "one", "image": image},
    ]
    path = tmp_path / "ai2d.parquet"
    datasets.Dataset.from_list(rows).to_parquet(str(path))
    run = load_run(run_eval("task=ai2d", "dataset=local", f"dataset.path={path}",
                            "limits.max_error_rate=null").run_dir)  # fmt: skip
    errors = list(run.samples["error"].fillna(""))
    assert errors[0] == ""
    assert "answer index 5 is outside the 2 options" in errors[1]
    assert "must hold the right option's index, got 'one'" in errors[2]


def test_textvqa_and_vizwiz_capitalise_the_question_as_lmms_eval_does() -> None:
    from evalkit.prompt.templates import fill
    from evalkit.records import Sample

    asked = Sample(id="q", images=(), question="what does the SIGN say?")
    for task in ("textvqa", "vizwiz"):
        prompts = load_task(task).prompts
        # lmms-eval: doc["question"].capitalize(), which also lowers the rest
        assert fill(prompts["default"], asked).startswith("What does the sign say?\n")
        assert fill(prompts["qwen-vl"], asked) == "what does the SIGN say? Answer:"  # eval_mm
    assert fill(load_task("vqav2").prompts["default"], asked).startswith("what does the SIGN")


# VLMEvalKit (open-compass/VLMEvalKit), vlmeval/vlm/qwen2_vl/prompt.py @87f009a and model.py
# @515e530: Qwen2VLChat, the class it runs Qwen2-VL and Qwen2.5-VL with
VLMEVALKIT_VQA = (
    "{question}\nPlease try to answer the question with short words or phrases if possible."
)
VQA_TASKS = ["chartqa", "docvqa", "gqa", "infovqa", "ocrvqa", "okvqa", "textvqa", "vizwiz", "vqav2"]


@pytest.mark.parametrize("family", ["qwen2-vl", "qwen2.5-vl"])
@pytest.mark.parametrize("task", VQA_TASKS)
def test_qwen2_vl_vqa_prompts_are_vlmevalkits(task: str, family: str) -> None:
    prompt = load_task(task).prompts[family]
    assert (prompt.user, prompt.max_tokens, prompt.system) == (VLMEVALKIT_VQA, 2048, None)
    assert prompt.parser is None and prompt.metrics == {}  # the task's scorer, unchanged


def test_qwen2_vl_multiple_choice_prompts_are_vlmevalkits() -> None:
    from evalkit.prompt.templates import fill
    from evalkit.records import Sample

    hinted = Sample(id="1", images=(), question="Attract or repel?", references=("A",),
                    choices=("attract", "repel"), context="Magnets pull.")  # fmt: skip
    bare = Sample(id="2", images=(), question="Which?", references=("A",), choices=("x", "y"))
    english = "Please select the correct answer from the options above."
    for task in ("scienceqa_img", "mmbench_en"):
        prompt = load_task(task).prompts["qwen2.5-vl"]
        assert fill(prompt, hinted) == (
            f"Hint: Magnets pull.\nQuestion: Attract or repel?\nOptions:\nA. attract\nB. repel\n{english}"
        )
        assert fill(prompt, bare) == f"Question: Which?\nOptions:\nA. x\nB. y\n{english}"
    cn = load_task("mmbench_cn").prompts["qwen2-vl"]
    assert fill(cn, bare).endswith("B. y\n请直接回答选项字母。")  # VLMEvalKit's Chinese instruction
    ai2d = load_task("ai2d")
    assert (
        fill(ai2d.prompts["qwen2-vl"], bare) == f"Question: Which?\nOptions:\nA. x\nB. y\n{english}"
    )
    for task in ("ai2d", "scienceqa_img"):  # VLMEvalKit reads the letter with can_infer
        spec = load_task(task)
        assert spec.parser_for(spec.prompts["qwen2-vl"]) == "choice"
        [metric] = task_metrics(spec, spec.prompts["qwen2-vl"])
        assert metric.params["mode"] == "strict"


def test_a_qwen2_vl_multiple_choice_run_reads_the_letter_and_says_so(
    run_eval, server: FakeVLMServer
) -> None:
    import pandas as pd

    from evalkit.resources import sample_data_dir
    from evalkit.run.rescore import rescore

    rows = pd.read_parquet(sample_data_dir() / "ai2d" / "test.parquet").head(5)
    letters = [chr(65 + int(a)) for a in rows["answer"]]
    server.answer = f"The correct answer is {letters[0]}."
    outcome = run_eval("task=ai2d", "backend=openai", f"backend.base_url={server.openai_url}",
                       "backend.model=m", "backend.prompt_family=qwen2-vl", "dataset.limit=5")  # fmt: skip
    run = load_run(outcome.run_dir)
    assert list(run.samples["parsed"]) == [letters[0]] * 5
    assert list(run.samples["exact_match"]) == [float(x == letters[0]) for x in letters]
    assert run.manifest is not None and run.manifest["scoring"]["parser"] == "choice"
    assert all(r.body["max_tokens"] == 2048 for r in server.received)
    # the default protocol reads the same reply as free text: no letter, no point
    default = load_run(run_eval("task=ai2d", "backend=openai", f"backend.base_url={server.openai_url}",
                                "backend.model=m", "dataset.limit=5").run_dir)  # fmt: skip
    assert default.manifest is not None and default.manifest["scoring"]["parser"] == "answer"
    assert list(default.samples["exact_match"]) == [0.0] * 5
    [row] = [r for r in rescore(outcome.run_dir) if r.kind == "metric" and r.group is None]
    assert row.value == sum(x == letters[0] for x in letters) / 5  # a rescore reads it the same
    assert load_run(outcome.run_dir).manifest["scoring"]["parser"] == "choice"

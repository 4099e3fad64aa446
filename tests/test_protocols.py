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
from evalkit.config import PromptSpec
from evalkit.errors import ConfigError
from evalkit.tasks import check_task, load_task, task_metrics, task_names
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
    assert job["task"]["prompts"]["qwen-vl"] == {
        "user": "{question} Answer:", "system": None, "max_tokens": 10, "min_tokens": 1,
        "box_format": None, "metrics": {"exact_match": {"mode": "qwen-vl-gqa"}},
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
    assert default.params == {"mode": "lmms-eval"} and qwen.params == {"mode": "qwen-vl-gqa"}
    [chat] = task_metrics(spec, spec.prompts["qwen-vl-chat"])
    assert chat.params == {"mode": "lmms-eval"}


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

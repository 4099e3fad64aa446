"""Recorded real DashScope exchanges (tests/data/dashscope-wire, MIT) replayed byte for byte."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from evalkit.backends import build_backend
from evalkit.backends.dashscope import dashscope_body
from evalkit.backends.retry import Caller
from evalkit.config import DashScopeConfig, LimitsConfig
from evalkit.errors import AuthError, InvalidRequest
from evalkit.records import GenerationParams, Message, Request, TextPart
from evalkit.testing.fake_server import FakeVLMServer, Fault

WIRE = Path(__file__).resolve().parent.parent / "data" / "dashscope-wire"


def _recorded(name: str) -> Fault:
    head = (WIRE / f"{name}.response.header.txt").read_text().splitlines()
    status = int(head[0].split()[1])
    headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
    keep = {k: v for k, v in headers.items() if k.lower().startswith(("x-", "req-"))}
    content_type = "text/event-stream" if name.endswith("-sse") else "application/json"
    return Fault(status, body=(WIRE / f"{name}.response.body.txt").read_bytes(), headers=keep,
                 content_type=content_type)  # fmt: skip


def _call(server: FakeVLMServer, fault: Fault, *, stream: bool = False):  # type: ignore[no-untyped-def]
    server.faults.append(fault)
    config = DashScopeConfig(name="dashscope", model="qwen-vl-plus", base_url=server.dashscope_url,
                           api_key_env=None, stream=stream)  # fmt: skip
    caller = Caller(build_backend(config), LimitsConfig(max_retries=0))
    request = Request("r", (Message("user", (TextPart("这个图片是哪里，请用简短的语言回答"),)),))
    return asyncio.run(caller.call(request))


def test_plain_answer(server: FakeVLMServer) -> None:
    completion = _call(server, _recorded("multimodal-generation-vl-nosse"))
    assert completion.text == "海滩。"
    assert completion.finish_reason == "stop"
    usage = completion.usage
    assert (usage.input_tokens, usage.output_tokens, usage.image_tokens) == (3613, 3, 3577)


def test_invalid_api_key(server: FakeVLMServer) -> None:
    with pytest.raises(AuthError, match="HTTP 401 InvalidApiKey: Invalid API-key provided."):
        _call(server, _recorded("auth-error-nosse"))
    assert len(server.received) == 1


def test_invalid_parameter_with_a_byte_order_mark(server: FakeVLMServer) -> None:
    assert (
        (WIRE / "parameter-error-nosse.response.body.txt").read_bytes().startswith(b"\xef\xbb\xbf")
    )
    with pytest.raises(InvalidRequest, match="InvalidParameter: Role must be user or assistant"):
        _call(server, _recorded("parameter-error-nosse"))


def test_request_body_has_the_recorded_shape() -> None:
    recorded = json.loads(
        (WIRE / "multimodal-generation-vl-nosse.request.body.json").read_text("utf-8-sig")
    )
    request = Request(
        "r",
        (Message("system", (TextPart("You are a helpful assistant."),)),
         Message("user", (TextPart("这个图片是哪里，请用简短的语言回答"),))),
        GenerationParams(seed=1234, top_k=100, top_p=0.81, temperature=1.1, repetition_penalty=1.3,
                         stop=("你好",)),
    )  # fmt: skip
    ours = dashscope_body(request, "qwen-vl-plus", {"vl_high_resolution_images": True})
    assert ours["model"] == recorded["model"]
    assert [m["role"] for m in ours["input"]["messages"]] == [
        m["role"] for m in recorded["input"]["messages"]
    ]
    assert ours["input"]["messages"][0] == recorded["input"]["messages"][0]
    for key in (
        "seed",
        "top_k",
        "top_p",
        "temperature",
        "repetition_penalty",
        "vl_high_resolution_images",
    ):
        assert ours["parameters"][key] == recorded["parameters"][key], key


def test_streamed_answer_incremental_pieces(server: FakeVLMServer) -> None:
    completion = _call(server, _recorded("multimodal-generation-vl-sse"), stream=True)
    assert completion.text.startswith("这是一个海滩") and completion.text.endswith("和其他访客。")
    assert completion.finish_reason == "stop"
    usage = completion.usage
    assert (usage.input_tokens, usage.output_tokens, usage.image_tokens) == (1283, 85, 1247)
    assert completion.ttft_s is not None
    assert server.received[0].headers["X-DashScope-SSE"] == "enable"
    assert server.received[0].body["parameters"]["incremental_output"] is True


def test_streamed_ocr_answer(server: FakeVLMServer) -> None:
    completion = _call(server, _recorded("multimodal-generation-vl-ocr-sse"), stream=True)
    assert completion.text.startswith("产品介绍") and completion.usage.image_tokens == 947


def test_streamed_error_event(server: FakeVLMServer) -> None:
    with pytest.raises(InvalidRequest, match="HTTP 400 InvalidParameter: Role must be user"):
        _call(server, _recorded("parameter-error-sse"), stream=True)

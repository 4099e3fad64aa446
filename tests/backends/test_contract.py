"""The contract every API backend meets, over real HTTP against the loopback server."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from evalkit.backends import build_backend
from evalkit.backends.registry import BACKENDS
from evalkit.backends.retry import Caller
from evalkit.compose.tasks import load_task
from evalkit.config import LimitsConfig, OpenAIConfig
from evalkit.errors import (
    AuthError,
    ConfigError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
)
from evalkit.prompt import plan_rendering, render
from evalkit.records import GenerationParams, ImagePart, ImageRef, Message, Request, TextPart
from evalkit.testing.fake_server import DASHSCOPE_PATH, OPENAI_PATH, FakeVLMServer, Fault

KEY = "sk-test-SECRET-123"


def _jpeg() -> ImageRef:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), "red").save(buf, format="JPEG")
    return ImageRef(buf.getvalue(), 32, 24, "JPEG")


IMAGE = _jpeg()
REQUEST = Request(
    "s1",
    (
        Message("system", (TextPart("You are a helpful assistant."),)),
        Message("user", (ImagePart(IMAGE), TextPart("What colour?"))),
        Message("assistant", (TextPart("Red."),)),
        Message("user", (ImagePart(IMAGE), TextPart("And now?"))),
    ),
    GenerationParams(
        max_tokens=16,
        temperature=0.0,
        top_p=0.9,
        top_k=5,
        seed=7,
        stop=("\n",),
        repetition_penalty=1.05,
    ),  # fmt: skip
)


class BackendContract:
    """Subclasses name the backend, its URL on the fake server and its request path."""

    name: str
    path: str

    def url(self, server: FakeVLMServer) -> str:
        raise NotImplementedError

    @pytest.fixture
    def make(self, server: FakeVLMServer, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Caller]:
        monkeypatch.setenv("EVALKIT_TEST_KEY", KEY)
        self.sleeps: list[float] = []

        async def record_sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        def _make(stream: bool = False, **limits: Any) -> Caller:
            config = BACKENDS[self.name].schema(name=self.name, model="test-model", base_url=self.url(server),
                                   api_key_env="EVALKIT_TEST_KEY", stream=stream,
                                   min_pixels=3136, max_pixels=1003520)  # fmt: skip
            backend = build_backend(config)
            settings = {"max_retries": 3, "timeout_s": 5.0, "backoff_base_s": 0.01, **limits}
            return Caller(backend, LimitsConfig(**settings), sleep=record_sleep)

        return _make

    def call(self, caller: Caller, request: Request = REQUEST) -> Any:
        async def go() -> Any:
            try:
                return await caller.call(request)
            finally:
                await caller.backend.aclose()

        return asyncio.run(go())

    # -------------------------------------------------------------------------------- contract
    def test_url_images_pass_through_and_bytes_go_as_data_urls(
        self, make, server: FakeVLMServer
    ) -> None:
        url = "https://images.example/cat.jpg?size=large"
        remote = ImageRef(b"", None, None, "", url=url)
        request = Request("s2", (Message("user", (ImagePart(remote), ImagePart(IMAGE), TextPart("Same?"))),),
                          GenerationParams())  # fmt: skip
        self.call(make(), request)
        body = server.received[0].body
        [message] = body["messages"] if "messages" in body else body["input"]["messages"]
        assert _image_urls(message["content"]) == [url, EXPECTED_DATA_URL]

    def test_returns_text_and_usage(self, make, server: FakeVLMServer) -> None:
        server.answer = "红色 / red"
        completion = self.call(make())
        assert completion.text == "红色 / red"
        assert completion.finish_reason == "stop"
        assert completion.attempts == 1 and completion.latency_s > 0
        assert completion.usage.input_tokens and completion.usage.output_tokens == 2
        [received] = server.received
        assert received.path == self.path
        assert received.headers["Authorization"] == f"Bearer {KEY}"

    def test_retries_429_honouring_retry_after(self, make, server: FakeVLMServer) -> None:
        server.faults.extend([Fault(429, headers={"Retry-After": "0.25"}),
                              Fault(429, headers={"retry-after-ms": "40"})])  # fmt: skip
        caller = make()
        completion = self.call(caller)
        assert completion.attempts == 3 and len(server.received) == 3
        assert self.sleeps == [0.25, 0.04]
        assert caller.concurrency.limit < caller.concurrency.maximum  # shrank on the 429s

    def test_a_retry_after_beyond_every_retry_ends_the_retries_at_once(
        self, make, server: FakeVLMServer
    ) -> None:
        server.faults.append(Fault(429, headers={"Retry-After": "86400"}))  # a day
        with pytest.raises(RateLimited) as info:
            self.call(make(backoff_max_s=30.0))
        assert "not retried; the server asked to wait 86400s" in str(info.value)
        assert "3 retries left can wait at limits.backoff_max_s=30" in str(info.value)
        assert len(server.received) == 1 and self.sleeps == []

    def test_a_retry_after_within_the_retries_is_waited_out(
        self, make, server: FakeVLMServer
    ) -> None:
        server.faults.append(Fault(429, headers={"Retry-After": "45"}))  # > one cap, < three
        completion = self.call(make(backoff_max_s=30.0))
        assert completion.attempts == 2 and self.sleeps == [30.0]

    def test_retries_5xx_then_gives_up(self, make, server: FakeVLMServer) -> None:
        server.faults.extend(Fault(503) for _ in range(10))
        with pytest.raises(ServerError, match="after 3 attempts"):
            self.call(make(max_retries=2))
        assert len(server.received) == 3
        assert all(0 <= s <= 0.01 * 2**i for i, s in enumerate(self.sleeps))  # jittered backoff

    def test_fails_fast_on_401(self, make, server: FakeVLMServer) -> None:
        server.faults.append(
            Fault(401, body=b'{"code":"InvalidApiKey","message":"Invalid API-key provided."}')
        )
        with pytest.raises(AuthError):
            self.call(make())
        assert len(server.received) == 1

    @pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
    @pytest.mark.parametrize("kind", ["html", "json", "text"])
    @pytest.mark.parametrize(
        ("status", "error", "sent"),
        [
            (401, AuthError, 1),
            (403, AuthError, 1),
            (404, NotFound, 1),
            (405, NotFound, 1),
            (429, RateLimited, 3),
            (500, ServerError, 3),
            (502, ServerError, 3),
            (503, ServerError, 3),
        ],  # fmt: skip
    )
    def test_every_error_status_is_classed_by_its_status_whatever_its_body(
        self, make, server: FakeVLMServer, status: int, error: type, sent: int, kind: str,
        stream: bool,
    ) -> None:  # fmt: skip
        body = {
            "html": b"<html><head><title>Gateway says no</title></head><body>\n<h1>nope</h1></body></html>",
            "json": b'{"code":"SomeCode","message":"the server says no","error":{"message":"no"}}',
            "text": b"the server says no\n",
        }[kind]
        mime = {"html": "text/html", "json": "application/json", "text": "text/plain"}[kind]
        server.faults.extend(Fault(status, body=body, headers={"Retry-After": "0"},
                                   content_type=mime) for _ in range(5))  # fmt: skip
        with pytest.raises(error) as raised:
            self.call(make(stream=stream, max_retries=2))
        assert type(raised.value) is error
        assert len(server.received) == sent  # permanent ones stop at once
        assert "\n" not in str(raised.value) and f"HTTP {status}" in str(raised.value)
        if kind == "html":
            assert "Gateway says no" in str(raised.value) and "<" not in str(raised.value)

    def test_400_is_not_retried(self, make, server: FakeVLMServer) -> None:
        server.faults.append(
            Fault(400, body=b'{"code":"DataInspectionFailed","message":"inappropriate content"}')
        )
        with pytest.raises(InvalidRequest):
            self.call(make())
        assert len(server.received) == 1

    def test_times_out_and_retries(self, make, server: FakeVLMServer) -> None:
        server.faults.extend([Fault(hang_s=2.0), Fault(hang_s=2.0)])
        with pytest.raises(Timeout, match="after 2 attempts"):
            self.call(make(max_retries=1, timeout_s=0.2))
        assert len(server.received) == 2

    def test_malformed_body_is_retried_then_an_error(self, make, server: FakeVLMServer) -> None:
        server.faults.extend(
            [Fault(200, body=b"<html>oops</html>"), Fault(200, body=b'{"choices": []}')]
        )
        with pytest.raises(MalformedResponse):
            self.call(make(max_retries=1))
        assert len(server.received) == 2

    def test_truncated_body_then_success(self, make, server: FakeVLMServer) -> None:
        server.faults.append(Fault(200, body=b'{"choices": [{"mess', truncate=True))
        completion = self.call(make())
        assert completion.attempts == 2

    def test_key_never_leaks_into_errors(self, make, server: FakeVLMServer) -> None:
        body = f'{{"code":"InvalidParameter","message":"bad header Bearer {KEY}"}}'.encode()
        server.faults.append(Fault(400, body=body))
        with pytest.raises(InvalidRequest) as info:
            self.call(make())
        assert KEY not in str(info.value) and "***" in str(info.value)

    def test_missing_key_is_a_config_error_for_remote_servers(self, monkeypatch) -> None:
        monkeypatch.delenv("EVALKIT_NO_SUCH_KEY", raising=False)
        config = BACKENDS[self.name].schema(name=self.name, model="m", base_url="https://api.example.invalid/v1",
                               api_key_env="EVALKIT_NO_SUCH_KEY")  # fmt: skip
        with pytest.raises(ConfigError, match="set the environment variable EVALKIT_NO_SUCH_KEY"):
            build_backend(config)

    def test_streamed_answer_and_time_to_first_token(self, make, server: FakeVLMServer) -> None:
        server.answer = "这是一个海滩 on a sunny day"
        completion = self.call(make(stream=True))
        assert completion.text == "这是一个海滩 on a sunny day"
        assert completion.finish_reason == "stop"
        assert completion.ttft_s is not None and 0 < completion.ttft_s <= completion.latency_s
        assert completion.usage.input_tokens and completion.usage.output_tokens

    def test_broken_stream_is_retried(self, make, server: FakeVLMServer) -> None:
        server.answer = "a long enough answer"
        server.faults.append(Fault(broken_stream=True))
        completion = self.call(make(stream=True))
        assert completion.text == "a long enough answer" and completion.attempts == 2

    def test_stream_errors_are_classified(self, make, server: FakeVLMServer) -> None:
        server.faults.append(Fault(401, body=b'{"code":"InvalidApiKey","message":"no"}'))
        with pytest.raises(AuthError):
            self.call(make(stream=True))
        assert len(server.received) == 1

    def test_rate_limited_when_throttling_persists(self, make, server: FakeVLMServer) -> None:
        server.faults.extend(Fault(429) for _ in range(5))
        with pytest.raises(RateLimited):
            self.call(make(max_retries=1))


def _image_urls(content: list[dict[str, Any]]) -> list[str]:
    return [c["image_url"]["url"] if "image_url" in c else c["image"] for c in content
            if "image_url" in c or "image" in c]  # fmt: skip


EXPECTED_DATA_URL = "data:image/jpeg;base64," + base64.b64encode(IMAGE.data).decode()


class TestOpenAI(BackendContract):
    name, path = "openai", OPENAI_PATH

    def url(self, server: FakeVLMServer) -> str:
        return server.openai_url

    def test_request_body(self, make, server: FakeVLMServer) -> None:
        self.call(make())
        body = server.received[0].body
        assert body["model"] == "test-model"
        assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
        user = body["messages"][1]["content"]
        assert user[0] == {"type": "image_url", "image_url": {"url": EXPECTED_DATA_URL},
                           "min_pixels": 3136, "max_pixels": 1003520}  # fmt: skip
        assert user[1] == {"type": "text", "text": "What colour?"}
        assert (body["max_tokens"], body["temperature"], body["top_p"], body["top_k"], body["seed"],
                body["stop"], body["repetition_penalty"]) == (16, 0.0, 0.9, 5, 7, ["\n"], 1.05)  # fmt: skip

    @pytest.mark.parametrize(
        ("body", "text", "tokens", "finish"),
        [
            (b'{"choices":[{"message":{"content":null},"finish_reason":"content_filter"}]}', "", (None, None), "content_filter"),
            (b'{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]}', "ab", (None, None), None),
            (b'{"choices":[{"message":{"content":"ok"},"finish_reason":1}],"usage":{"prompt_tokens":"12","completion_tokens":3.0}}', "ok", (12, 3), "1"),
            (b'{"choices":[{"message":{"content":"ok"}}],"usage":{"prompt_tokens":-5,"completion_tokens":"many"}}', "ok", (None, None), None),
        ],
    )  # fmt: skip
    def test_odd_but_usable_answers_become_storable_completions(
        self, make, server: FakeVLMServer, body: bytes, text: str, tokens: tuple[int | None, int | None],
        finish: str | None,
    ) -> None:  # fmt: skip
        server.faults.append(Fault(200, body=body))
        completion = self.call(make(max_retries=0))
        assert (completion.text, (completion.usage.input_tokens, completion.usage.output_tokens),
                completion.finish_reason) == (text, tokens, finish)  # fmt: skip

    @pytest.mark.parametrize(
        "events",
        [b'data: {"choices":{"0":{"delta":{"content":"x"}}}}\n\n', b'data: {"choices":[{"delta":"x"}]}\n\n',
         b'data: {"choices":["x"]}\n\n', b'data: [1, 2]\n\n'],
    )  # fmt: skip
    def test_misshapen_stream_chunks_are_malformed(
        self, make, server: FakeVLMServer, events: bytes
    ) -> None:
        server.faults.append(Fault(200, body=events, content_type="text/event-stream"))
        with pytest.raises(MalformedResponse):
            self.call(make(stream=True, max_retries=0))


class TestDashScope(BackendContract):
    name, path = "dashscope", DASHSCOPE_PATH

    def url(self, server: FakeVLMServer) -> str:
        return server.dashscope_url

    def test_request_body(self, make, server: FakeVLMServer) -> None:
        self.call(make())
        body = server.received[0].body
        assert body["model"] == "test-model"
        messages = body["input"]["messages"]
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
        assert messages[0]["content"] == [{"text": "You are a helpful assistant."}]
        assert messages[1]["content"] == [
            {"image": EXPECTED_DATA_URL, "min_pixels": 3136, "max_pixels": 1003520},
            {"text": "What colour?"},
        ]
        assert body["parameters"] == {"result_format": "message", "max_tokens": 16, "temperature": 0.0,
                                      "top_p": 0.9, "top_k": 5, "seed": 7, "stop": ["\n"],
                                      "repetition_penalty": 1.05}  # fmt: skip

    def test_cumulative_stream(self, server: FakeVLMServer) -> None:
        server.answer = "cumulative text arrives whole each time"
        config = BACKENDS["dashscope"].schema(name="dashscope", model="m", base_url=server.dashscope_url, api_key_env=None,
                               stream=True, extra_body={"incremental_output": False})  # fmt: skip
        caller = Caller(build_backend(config), LimitsConfig())
        assert self.call(caller).text == "cumulative text arrives whole each time"
        assert server.received[0].body["parameters"]["incremental_output"] is False

    def test_text_result_format_is_read_too(self, make, server: FakeVLMServer) -> None:
        body = b'{"output":{"text":"legacy","finish_reason":"stop"},"usage":{"input_tokens":5,"output_tokens":2}}'
        server.faults.append(Fault(200, body=body))
        completion = self.call(make(max_retries=0))
        assert (completion.text, completion.usage.input_tokens, completion.finish_reason) == (
            "legacy",
            5,
            "stop",
        )

    @pytest.mark.parametrize("body", [b'{"output":null}', b'{"output":{"choices":[]}}', b'[]',
                                      b'{"output":{"choices":[{"message":{"content":5}}]}}'])  # fmt: skip
    def test_unusable_answers_are_malformed(self, make, server: FakeVLMServer, body: bytes) -> None:
        server.faults.append(Fault(200, body=body))
        with pytest.raises(MalformedResponse):
            self.call(make(max_retries=0))

    def test_usage_has_image_tokens(self, make, server: FakeVLMServer) -> None:
        usage = self.call(make()).usage
        assert (usage.input_tokens, usage.output_tokens, usage.image_tokens) == (300, 2, 256)


def test_rendered_task_prompt_reaches_the_server(server: FakeVLMServer, monkeypatch) -> None:
    from evalkit.records import Sample

    monkeypatch.setenv("EVALKIT_TEST_KEY", KEY)
    task = load_task("docvqa")
    config = OpenAIConfig(name="openai", model="m", base_url=server.openai_url,
                           api_key_env="EVALKIT_TEST_KEY", prompt_family="qwen-vl")  # fmt: skip
    plan = plan_rendering(task, config)
    request = render(Sample("q", (IMAGE,), "What is the total?", ("1",)), plan)
    caller = Caller(build_backend(config), LimitsConfig())

    async def go() -> None:
        await caller.call(request)
        await caller.backend.aclose()

    asyncio.run(go())
    content = server.received[0].body["messages"][0]["content"]
    assert (
        content[1]["text"] == "What is the total? Answer:"
        and server.received[0].body["max_tokens"] == 100
    )

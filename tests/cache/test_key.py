"""One test per cache-key component (changes the key) and per exclusion (keeps it)."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import pytest
from PIL import Image

from evalkit.backends.base import BackendIdentity
from evalkit.cache import cache_key, key_components
from evalkit.records import GenerationParams, ImagePart, ImageRef, Message, Request, TextPart


def _image(color: str) -> ImageRef:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, format="PNG")
    return ImageRef(buf.getvalue(), 8, 8, "PNG")


IDENTITY = BackendIdentity("openai", "qwen2.5-vl-7b", "http://127.0.0.1:8000/v1", None)
PARAMS = GenerationParams(max_tokens=32, temperature=0.0, top_p=0.9, top_k=5, seed=1, stop=("\n",),
                          repetition_penalty=1.0)  # fmt: skip
RED = _image("red")
REQUEST = Request("q1", (Message("system", (TextPart("Be brief."),)),
                         Message("user", (ImagePart(RED), TextPart("Colour?"))),), PARAMS)  # fmt: skip
OPTIONS: dict[str, Any] = {"image": {"max_pixels": 1003520}, "extra_body": {}}
BASE = cache_key(IDENTITY, REQUEST, OPTIONS)


def _with_messages(*messages: Message) -> Request:
    return dataclasses.replace(REQUEST, messages=messages)


CHANGES = {
    "backend name": (dataclasses.replace(IDENTITY, name="dashscope"), REQUEST, OPTIONS),
    "model": (dataclasses.replace(IDENTITY, model="qwen2.5-vl-72b"), REQUEST, OPTIONS),
    "base url": (dataclasses.replace(IDENTITY, base_url="http://10.0.0.2:8000/v1"), REQUEST, OPTIONS),
    "revision": (dataclasses.replace(IDENTITY, revision="abc123"), REQUEST, OPTIONS),
    **{
        f"param {name}": (IDENTITY, dataclasses.replace(REQUEST, params=dataclasses.replace(PARAMS, **{name: value})), OPTIONS)
        for name, value in [("max_tokens", 33), ("temperature", 0.7), ("top_p", 1.0), ("top_k", 1),
                            ("seed", 2), ("stop", ()), ("repetition_penalty", 1.1)]
    },
    "pixel bounds": (IDENTITY, REQUEST, {"image": {"max_pixels": 16384 * 28 * 28}, "extra_body": {}}),
    "extra body": (IDENTITY, REQUEST, {**OPTIONS, "extra_body": {"vl_high_resolution_images": True}}),
    "user text": (IDENTITY, _with_messages(REQUEST.messages[0], Message("user", (ImagePart(RED), TextPart("Color?")))), OPTIONS),
    "system text": (IDENTITY, _with_messages(Message("system", (TextPart("Be long."),)), REQUEST.messages[1]), OPTIONS),
    "role": (IDENTITY, _with_messages(Message("user", (TextPart("Be brief."),)), REQUEST.messages[1]), OPTIONS),
    "image bytes": (IDENTITY, _with_messages(REQUEST.messages[0], Message("user", (ImagePart(_image("blue")), TextPart("Colour?")))), OPTIONS),
    "part order": (IDENTITY, _with_messages(REQUEST.messages[0], Message("user", (TextPart("Colour?"), ImagePart(RED)))), OPTIONS),
}  # fmt: skip


@pytest.mark.parametrize("component", CHANGES)
def test_each_component_changes_the_key(component: str) -> None:
    identity, request, options = CHANGES[component]
    assert cache_key(identity, request, options) != BASE


def test_sample_id_is_not_part_of_the_key() -> None:
    assert cache_key(IDENTITY, dataclasses.replace(REQUEST, sample_id="other"), OPTIONS) == BASE


def test_image_identity_is_its_bytes_not_its_object() -> None:
    same = ImageRef(bytes(RED.data), 8, 8, "PNG")
    request = _with_messages(
        REQUEST.messages[0], Message("user", (ImagePart(same), TextPart("Colour?")))
    )
    assert cache_key(IDENTITY, request, OPTIONS) == BASE
    assert key_components(IDENTITY, REQUEST, OPTIONS)["messages"][1]["parts"][0] == {
        "image_sha256": RED.sha256
    }


def test_a_url_image_is_keyed_by_its_url() -> None:
    def keyed(url: str) -> str:
        image = ImagePart(ImageRef(b"", None, None, "", url=url))
        return cache_key(
            IDENTITY, _with_messages(Message("user", (image, TextPart("Colour?")))), OPTIONS
        )

    a, b = keyed("https://images.example/a.jpg"), keyed("https://images.example/b.jpg")
    empty = ImagePart(ImageRef(b"", 8, 8, "PNG"))
    assert a == keyed("https://images.example/a.jpg") and a != b
    assert a != cache_key(
        IDENTITY, _with_messages(Message("user", (empty, TextPart("Colour?")))), OPTIONS
    )


KNOBS = ["limits.concurrency=3", "limits.rpm=10", "limits.tpm=1000", "limits.max_retries=0",
         "limits.timeout_s=1", "limits.backoff_base_s=2", "limits.max_error_rate=0.1",
         "limits.adaptive=false", "backend.stream=true", "cache.mode=refresh"]  # fmt: skip


@pytest.mark.parametrize("knob", KNOBS)
def test_connection_knobs_do_not_change_the_key_a_run_computes(knob: str) -> None:
    """Through the real path (compose → open_session → the cache view), with the knob set and
    unset: the same key. A key from what changes answers is checked to move, as a control."""
    import asyncio

    from evalkit.run.session import open_session

    from ..conftest import compose_run

    base = ["backend=openai", "backend.model=m", "backend.base_url=http://127.0.0.1:1/v1",
            "backend.api_key_env=null"]  # fmt: skip

    async def key(*extra: str) -> str:
        async with open_session(compose_run([*base, *extra]), send=False) as session:
            return session.calls.key(REQUEST)

    plain = asyncio.run(key())
    assert asyncio.run(key(knob)) == plain
    assert asyncio.run(key("backend.max_pixels=1000")) != plain  # an answer-changing option


def test_api_key_variable_and_streaming_are_not_in_the_key(monkeypatch) -> None:
    from evalkit.backends import build_backend
    from evalkit.config import OpenAIConfig

    keys = set()
    for env, stream in [("KEY_A", False), ("KEY_B", True)]:
        monkeypatch.setenv(env, "sk-x")
        config = OpenAIConfig(
            name="openai",
            model="m",
            base_url="http://127.0.0.1:1/v1",
            api_key_env=env,
            stream=stream,
        )
        backend = build_backend(config)
        keys.add(cache_key(backend.identity, REQUEST, backend.cache_options()))
    assert len(keys) == 1

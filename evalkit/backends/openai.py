"""``backend=openai``: any OpenAI-compatible chat-completions server.

vLLM, SGLang, LMDeploy, Ollama, OpenAI itself, DashScope's compatible mode. With
``backend.stream=true`` the answer is read from the SSE chunks (``stream_options.include_usage``
asks for the usage in the last chunk) and the time to first token is recorded.
"""

from __future__ import annotations

import json
import time
from typing import Any

from evalkit.backends.api import ApiBackend, data_url, generation_fields
from evalkit.backends.http import HttpResponse, SseEvent, error_for_status
from evalkit.errors import BackendError, MalformedResponse
from evalkit.records import Completion, Request, TextPart, Usage

__all__ = ["OpenAIBackend", "openai_body", "parse_openai"]


def openai_body(
    request: Request,
    model: str,
    extra: dict[str, Any],
    *,
    image_extra: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The chat-completions request body.

    ``top_k`` and ``repetition_penalty`` go top-level (vLLM and SGLang read them there; OpenAI
    itself rejects them, so leave them unset for it). ``image_extra`` (``min_pixels`` /
    ``max_pixels``) goes beside each ``image_url``, as Qwen's own API cookbook sends it.
    """
    messages = []
    for message in request.messages:
        content: list[dict[str, Any]] = []
        for part in message.parts:
            if isinstance(part, TextPart):
                content.append({"type": "text", "text": part.text})
            else:
                image = {"type": "image_url", "image_url": {"url": data_url(part.image)}}
                content.append({**image, **(image_extra or {})})
        messages.append({"role": message.role, "content": content})
    body: dict[str, Any] = {"model": model, "messages": messages}
    body.update(generation_fields(request.params, min_tokens=True))
    body.update(extra)
    return body


def parse_openai(response: HttpResponse) -> Completion:
    """Text, usage and finish reason of a chat completion; errors raise :class:`BackendError`."""
    if response.status != 200:
        raise _error(response)
    data = response.json()
    try:
        choice = data["choices"][0]
        content = choice["message"]["content"]
        usage = data.get("usage") or {}
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise MalformedResponse(f"HTTP 200 without choices[0].message.content ({exc!r})") from exc
    return Completion(
        text=_text(content), usage=_usage(usage), finish_reason=choice.get("finish_reason")
    )


def _text(content: Any) -> str:
    if isinstance(content, list):  # content parts
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    if content is not None and not isinstance(content, str):
        raise MalformedResponse(f"message.content has type {type(content).__name__}")
    return content or ""


def _usage(usage: Any) -> Usage:
    if not isinstance(usage, dict):
        return Usage()
    return Usage(usage.get("prompt_tokens"), usage.get("completion_tokens"), None)


def _error(response: HttpResponse) -> BackendError:
    message, code = response.text_line(), None
    try:
        detail = response.json().get("error")
        if isinstance(detail, dict):
            message = str(detail.get("message") or message)
            code = detail.get("code") or detail.get("type")
        elif isinstance(detail, str):
            message = detail
    except (MalformedResponse, AttributeError):
        pass
    return error_for_status(
        response.status, message, code=code and str(code), headers=response.headers
    )


class OpenAIBackend(ApiBackend):
    """POST ``{base_url}/chat/completions``."""

    path = "chat/completions"
    url_hint = "an OpenAI-compatible server's ends in /v1, e.g. http://127.0.0.1:8000/v1"

    def _body(self, request: Request) -> dict[str, Any]:
        extra = dict(self.config.extra_body)
        if self.config.stream:
            extra.update(stream=True, stream_options={"include_usage": True})
        return openai_body(request, self.config.model, extra, image_extra=self.image_extra)

    async def generate(self, request: Request) -> Completion:
        """One chat completion, streamed or not."""
        body = self._body(request)
        try:
            if self.config.stream:
                return await self._stream(body)
            return parse_openai(await self.client.post_json(self.path, body))
        except BackendError as exc:
            raise self.scrubbed(exc) from None

    async def _stream(self, body: dict[str, Any]) -> Completion:
        started = time.perf_counter()
        parts: list[str] = []
        ttft = finish = None
        usage = Usage()
        done = False
        async for item in self.client.stream_sse(self.path, body):
            if isinstance(item, HttpResponse):
                raise _error(item)
            if item.data.strip() == "[DONE]":
                done = True
                break
            chunk = _chunk(item)
            if "error" in chunk:
                raise _error(HttpResponse(500, {}, json.dumps(chunk).encode()))
            for choice in _choices(chunk):
                piece = _text(_delta(choice).get("content"))
                if piece and ttft is None:
                    ttft = time.perf_counter() - started
                parts.append(piece)
                finish = choice.get("finish_reason") or finish
            if chunk.get("usage"):
                usage = _usage(chunk["usage"])
        if not done and finish is None:
            raise MalformedResponse("event stream ended before [DONE] or a finish_reason")
        return Completion("".join(parts), usage, finish, ttft_s=ttft)


def _choices(chunk: dict[str, Any]) -> list[dict[str, Any]]:
    choices = chunk.get("choices") or []
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise MalformedResponse("stream chunk whose choices are not a list of objects")
    return choices


def _delta(choice: dict[str, Any]) -> dict[str, Any]:
    delta = choice.get("delta") or {}
    if not isinstance(delta, dict):
        raise MalformedResponse(f"stream chunk whose delta is a {type(delta).__name__}")
    return delta


def _chunk(event: SseEvent) -> dict[str, Any]:
    try:
        chunk = json.loads(event.data)
    except json.JSONDecodeError as exc:
        raise MalformedResponse(f"event data is not JSON: {event.data[:60]!r}") from exc
    if not isinstance(chunk, dict):
        raise MalformedResponse("event data is not a JSON object")
    return chunk

"""``backend=openai``: any OpenAI-compatible chat-completions server.

vLLM, SGLang, LMDeploy, Ollama, OpenAI itself, DashScope's compatible mode.
"""

from __future__ import annotations

from typing import Any

from evalkit.backends.api import ApiBackend, data_url
from evalkit.backends.http import HttpResponse, error_for_status
from evalkit.errors import BackendError, MalformedResponse
from evalkit.records import Completion, Request, TextPart, Usage

__all__ = ["OpenAIBackend", "openai_body", "parse_openai"]


def openai_body(request: Request, model: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The chat-completions request body.

    ``top_k`` and ``repetition_penalty`` go top-level (vLLM and SGLang read them there; OpenAI
    itself rejects them, so leave them unset for it).
    """
    messages = []
    for message in request.messages:
        content: list[dict[str, Any]] = []
        for part in message.parts:
            if isinstance(part, TextPart):
                content.append({"type": "text", "text": part.text})
            else:
                content.append({"type": "image_url", "image_url": {"url": data_url(part.image)}})
        messages.append({"role": message.role, "content": content})
    p = request.params
    body: dict[str, Any] = {"model": model, "messages": messages}
    optional = {
        "max_tokens": p.max_tokens,
        "temperature": p.temperature,
        "top_p": p.top_p,
        "top_k": p.top_k,
        "seed": p.seed,
        "stop": list(p.stop) or None,
        "repetition_penalty": p.repetition_penalty,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
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
    except (KeyError, IndexError, TypeError) as exc:
        raise MalformedResponse(f"HTTP 200 without choices[0].message.content ({exc!r})") from exc
    if isinstance(content, list):  # content parts
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    if content is not None and not isinstance(content, str):
        raise MalformedResponse(f"message.content has type {type(content).__name__}")
    return Completion(
        text=content or "",
        usage=Usage(usage.get("prompt_tokens"), usage.get("completion_tokens"), None),
        finish_reason=choice.get("finish_reason"),
    )


def _error(response: HttpResponse) -> BackendError:
    message, code = response.body[:200].decode("utf-8", "replace").strip(), None
    try:
        detail = response.json().get("error")
        if isinstance(detail, dict):
            message = str(detail.get("message") or message)
            code = detail.get("code") or detail.get("type")
        elif isinstance(detail, str):
            message = detail
    except (MalformedResponse, AttributeError):
        pass
    return error_for_status(response.status, message, code=code and str(code),
                            headers=response.headers)  # fmt: skip


class OpenAIBackend(ApiBackend):
    """POST ``{base_url}/chat/completions``."""

    async def generate(self, request: Request) -> Completion:
        """One chat completion."""
        body = openai_body(request, self.config.model, dict(self.config.extra_body))
        try:
            return parse_openai(await self.client.post_json("chat/completions", body))
        except BackendError as exc:
            raise type(exc)(self.scrub(str(exc)), status=exc.status,
                            retry_after=exc.retry_after) from None  # fmt: skip

"""``backend=dashscope``: Alibaba Cloud DashScope's native ``MultiModalConversation`` protocol.

``POST {base_url}/services/aigc/multimodal-generation/generation`` with ``input.messages``
(content parts ``{"image": url}`` / ``{"text": ...}``) and ``parameters``; the answer's
``usage`` carries ``input_tokens``, ``output_tokens`` and ``image_tokens``. Errors are
``{"code", "message", "request_id"}`` with the HTTP status (``Throttling*`` codes are rate
limits; ``InvalidApiKey`` an auth error; ``DataInspectionFailed`` a refusal, never retried).
"""

from __future__ import annotations

from typing import Any

from evalkit.backends.api import ApiBackend, data_url
from evalkit.backends.http import HttpResponse, error_for_status
from evalkit.errors import BackendError, MalformedResponse
from evalkit.records import Completion, Request, TextPart, Usage

__all__ = ["DashScopeBackend", "dashscope_body", "parse_dashscope"]

GENERATION_PATH = "services/aigc/multimodal-generation/generation"


def dashscope_body(request: Request, model: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The native request body; ``extra`` lands in ``parameters`` (vl_high_resolution_images)."""
    messages = []
    for message in request.messages:
        content = [
            {"text": part.text} if isinstance(part, TextPart) else {"image": data_url(part.image)}
            for part in message.parts
        ]
        messages.append({"role": message.role, "content": content})
    p = request.params
    parameters: dict[str, Any] = {"result_format": "message"}
    optional = {
        "max_tokens": p.max_tokens,
        "temperature": p.temperature,
        "top_p": p.top_p,
        "top_k": p.top_k,
        "seed": p.seed,
        "stop": list(p.stop) or None,
        "repetition_penalty": p.repetition_penalty,
    }
    parameters.update({k: v for k, v in optional.items() if v is not None})
    parameters.update(extra)
    return {"model": model, "input": {"messages": messages}, "parameters": parameters}


def parse_dashscope(response: HttpResponse) -> Completion:
    """Text, usage and finish reason; an error body or status raises :class:`BackendError`."""
    data = response.json()
    if response.status != 200 or (isinstance(data, dict) and data.get("code")):
        code = data.get("code") if isinstance(data, dict) else None
        message = data.get("message", "") if isinstance(data, dict) else ""
        status = response.status if response.status != 200 else 400
        raise error_for_status(status, str(message), code=code, headers=response.headers)
    try:
        choice = data["output"]["choices"][0]
        parts = choice["message"]["content"]
        usage = data.get("usage") or {}
    except (KeyError, IndexError, TypeError) as exc:
        raise MalformedResponse(f"HTTP 200 without output.choices[0].message ({exc!r})") from exc
    if isinstance(parts, str):
        text = parts
    elif isinstance(parts, list):
        text = "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
    else:
        raise MalformedResponse(f"message.content has type {type(parts).__name__}")
    finish = choice.get("finish_reason")
    return Completion(
        text=text,
        usage=Usage(
            usage.get("input_tokens"), usage.get("output_tokens"), usage.get("image_tokens")
        ),
        finish_reason=None if finish in (None, "null") else str(finish),
    )


class DashScopeBackend(ApiBackend):
    """DashScope ``MultiModalConversation`` over HTTP."""

    default_base_url = "https://dashscope.aliyuncs.com/api/v1"

    async def generate(self, request: Request) -> Completion:
        """One multimodal generation."""
        body = dashscope_body(request, self.config.model, dict(self.config.extra_body))
        try:
            return parse_dashscope(await self.client.post_json(GENERATION_PATH, body))
        except BackendError as exc:
            raise type(exc)(self.scrub(str(exc)), status=exc.status,
                            retry_after=exc.retry_after) from None  # fmt: skip

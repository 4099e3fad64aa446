"""``backend=dashscope``: Alibaba Cloud DashScope's native ``MultiModalConversation`` protocol.

``POST {base_url}/services/aigc/multimodal-generation/generation`` with ``input.messages``
(content parts ``{"image": url}`` / ``{"text": ...}``) and ``parameters``; the answer's
``usage`` carries ``input_tokens``, ``output_tokens`` and ``image_tokens``. Errors are
``{"code", "message", "request_id"}`` with the HTTP status (``Throttling*`` codes are rate
limits; ``InvalidApiKey`` an auth error; ``DataInspectionFailed`` a refusal, never retried).

Streaming (``backend.stream=true``) sends ``X-DashScope-SSE: enable``; each ``result`` event
carries the new text (``incremental_output``, the default here) or the whole text so far
(``extra_body.incremental_output=false``), usage is cumulative, ``finish_reason`` is the string
``"null"`` until the last event, and an ``error`` event (``:HTTP_STATUS/400``) ends the stream.
"""

from __future__ import annotations

import json
import time
from typing import Any

from evalkit.backends.api import ApiBackend, data_url, generation_fields
from evalkit.backends.http import HttpResponse, SseEvent, error_for_status
from evalkit.errors import BackendError, MalformedResponse
from evalkit.records import Completion, Request, TextPart, Usage

__all__ = ["DashScopeBackend", "dashscope_body", "parse_dashscope"]

GENERATION_PATH = "services/aigc/multimodal-generation/generation"


def dashscope_body(
    request: Request,
    model: str,
    extra: dict[str, Any],
    *,
    image_extra: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The native request body.

    ``extra`` lands in ``parameters`` (``vl_high_resolution_images``), ``image_extra``
    (``min_pixels`` / ``max_pixels``) in every image item.
    """
    messages = []
    for message in request.messages:
        content = [
            {"text": part.text}
            if isinstance(part, TextPart)
            else {"image": data_url(part.image), **(image_extra or {})}
            for part in message.parts
        ]
        messages.append({"role": message.role, "content": content})
    parameters: dict[str, Any] = {"result_format": "message"}
    parameters.update(generation_fields(request.params))
    parameters.update(extra)
    return {"model": model, "input": {"messages": messages}, "parameters": parameters}


def _raise_error(data: Any, status: int, headers: Any) -> None:
    if isinstance(data, dict) and data.get("code"):
        raise error_for_status(status if status != 200 else 400, str(data.get("message", "")),
                               code=str(data["code"]), headers=headers)  # fmt: skip
    if status != 200:
        raise error_for_status(status, "", headers=headers)


def _choice(data: Any) -> tuple[str, str | None, Usage]:
    try:
        output = data["output"]
        if "choices" not in output and isinstance(output.get("text"), str):
            choice = {"message": {"content": output["text"]}, **output}  # result_format=text
        else:
            choice = output["choices"][0]
        parts = choice["message"]["content"]
        usage = data.get("usage")
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise MalformedResponse(f"answer without output.choices[0].message ({exc!r})") from exc
    if not isinstance(usage, dict):
        usage = {}
    if isinstance(parts, str):
        text = parts
    elif isinstance(parts, list):
        text = "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
    else:
        raise MalformedResponse(f"message.content has type {type(parts).__name__}")
    finish = choice.get("finish_reason")
    usage_record = Usage(
        usage.get("input_tokens"), usage.get("output_tokens"), usage.get("image_tokens")
    )
    return text, None if finish in (None, "null") else str(finish), usage_record


def parse_dashscope(response: HttpResponse) -> Completion:
    """Text, usage and finish reason; an error body or status raises :class:`BackendError`.

    An error status is classed by its status whatever its body (a gateway's HTML or text
    404 is a :class:`~evalkit.errors.NotFound`, not a malformed answer to retry).
    """
    try:
        data = response.json()
    except MalformedResponse:
        if response.status == 200:
            raise
        raise error_for_status(response.status, response.text_line(),
                               headers=response.headers) from None  # fmt: skip
    _raise_error(data, response.status, response.headers)
    text, finish, usage = _choice(data)
    return Completion(text=text, usage=usage, finish_reason=finish)


def _event_status(event: SseEvent) -> int:
    for comment in event.comments:
        if comment.startswith("HTTP_STATUS/"):
            try:
                return int(comment.removeprefix("HTTP_STATUS/"))
            except ValueError:
                break
    return 200


class DashScopeBackend(ApiBackend):
    """DashScope ``MultiModalConversation`` over HTTP."""

    takes_min_tokens = False  # the protocol has no such parameter

    default_base_url = "https://dashscope.aliyuncs.com/api/v1"
    path = GENERATION_PATH
    url_hint = (
        "DashScope's is https://dashscope.aliyuncs.com/api/v1, "
        "international https://dashscope-intl.aliyuncs.com/api/v1"
    )

    async def generate(self, request: Request) -> Completion:
        """One multimodal generation, streamed or not."""
        extra = dict(self.config.extra_body)
        if self.config.stream:
            extra.setdefault("incremental_output", True)
        body = dashscope_body(request, self.config.model, extra, image_extra=self.image_extra)
        try:
            if self.config.stream:
                return await self._stream(body, incremental=bool(extra["incremental_output"]))
            return parse_dashscope(await self.client.post_json(self.path, body))
        except BackendError as exc:
            raise self.scrubbed(exc) from None

    async def _stream(self, body: dict[str, Any], *, incremental: bool) -> Completion:
        started = time.perf_counter()
        text, finish, usage, ttft = "", None, Usage(), None
        stream = self.client.stream_sse(self.path, body, headers={"X-DashScope-SSE": "enable"})
        async for item in stream:
            if isinstance(item, HttpResponse):
                parse_dashscope(item)  # raises the error it carries
                continue
            try:
                data = json.loads(item.data)
            except json.JSONDecodeError as exc:
                raise MalformedResponse(f"event data is not JSON: {item.data[:60]!r}") from exc
            status = _event_status(item)
            if item.event == "error" or status != 200:
                _raise_error(data, status if status != 200 else 400, {})
            piece, finish, usage = _choice(data)
            if piece and ttft is None:
                ttft = time.perf_counter() - started
            text = text + piece if incremental else piece
        if finish is None:
            raise MalformedResponse("event stream ended before a finish_reason")
        return Completion(text, usage, finish, ttft_s=ttft)

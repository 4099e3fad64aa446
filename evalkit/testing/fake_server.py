"""A loopback VLM server speaking the OpenAI chat-completions and DashScope native protocols.

Runs in a thread on 127.0.0.1 with fault injection: scripted responses for the next requests
(status + headers + body, hangs, latency, truncated or garbage bodies) and a record of every
request it received, so tests assert on what reached the server.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

OPENAI_PATH = "/v1/chat/completions"
DASHSCOPE_PATH = "/api/v1/services/aigc/multimodal-generation/generation"


@dataclass
class Fault:
    """What to do with one request instead of answering normally."""

    status: int = 200
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hang_s: float = 0.0
    truncate: bool = False
    broken_stream: bool = False
    content_type: str = "application/json"


@dataclass
class Received:
    """One request as the server got it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeVLMServer:
    """The server: ``start()`` it, script ``faults``, read ``received``, ``stop()`` it."""

    def __init__(self, port: int = 0) -> None:
        self.answer = "1"
        self.vary = False  # answer depends on the request (so runs can be told apart)
        self.answer_book: dict[str, str] = {}
        """What identifies a request → the answer to give it, so a test can make one run
        answer better than another. A key is text the request contains (its question), or
        ``sha256:HEX`` of an image it carries (the image file's bytes), or both as
        ``sha256:HEX|text``."""
        self.by_seed: dict[int, str] = {}
        """Request ``seed`` → the answer to give it, before the answer book (a judge's
        repeats differ by seed only)."""
        self.latency_s = 0.0
        self.faults: deque[Fault] = deque()
        self.received: list[Received] = []
        self.record = True  # keep every request (off for benchmarks)
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)

    # ------------------------------------------------------------------ control
    def start(self) -> FakeVLMServer:
        """Serve on a free loopback port in a daemon thread; returns once it listens."""
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def reset(self) -> None:
        """Forget faults, received requests and answer settings (between tests)."""
        self.answer, self.latency_s, self.vary = "1", 0.0, False
        self.answer_book = {}
        self.by_seed = {}
        self.faults.clear()
        self.received.clear()

    @property
    def openai_url(self) -> str:
        """``backend.base_url`` for ``backend=openai``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def dashscope_url(self) -> str:
        """``backend.base_url`` for ``backend=dashscope``."""
        return f"http://127.0.0.1:{self.port}/api/v1"

    # ------------------------------------------------------------------ serving
    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_post(OPENAI_PATH, self._handle)
        app.router.add_post(DASHSCOPE_PATH, self._handle)
        app.router.add_get("/v1/models", self._models)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    async def _models(self, request: web.Request) -> web.StreamResponse:
        """``GET /v1/models``: what a started server answers once it is ready."""
        return web.json_response({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    def _answer_for(self, body: dict[str, Any]) -> str:
        seed = body.get("seed", (body.get("parameters") or {}).get("seed"))
        if isinstance(seed, int) and seed in self.by_seed:
            return self.by_seed[seed]
        if self.answer_book:
            strings = _strings(body)
            text = "\n".join(_texts(strings))
            digests = {f"sha256:{d}" for d in _image_digests(strings)}
            for key, answer in self.answer_book.items():
                image, _, needle = (
                    key.partition("|") if key.startswith("sha256:") else ("", "", key)
                )
                if (not image or image in digests) and needle in text:
                    return answer
        return self.answer if not self.vary else str(len(json.dumps(body)) % 4)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        if self.record:
            self.received.append(Received(request.path, dict(request.headers), body))
        fault = self.faults.popleft() if self.faults else None
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if fault is not None:
            if fault.hang_s:
                await asyncio.sleep(fault.hang_s)
            if fault.body is not None or fault.status != 200:
                payload = fault.body if fault.body is not None else b'{"error": "injected"}'
                if fault.truncate:
                    response = web.StreamResponse(status=fault.status, headers=fault.headers)
                    response.content_length = len(payload) + 100
                    await response.prepare(request)
                    await response.write(payload)
                    request.transport.close()  # type: ignore[union-attr]
                    return response
                return web.Response(status=fault.status, body=payload, headers=fault.headers,
                                    content_type=fault.content_type)  # fmt: skip
        text = self._answer_for(body)
        streamed = body.get("stream") or request.headers.get("X-DashScope-SSE") == "enable"
        if streamed:
            return await self._stream(
                request, body, text, broken=bool(fault and fault.broken_stream)
            )
        if request.path == OPENAI_PATH:
            out = {"id": "x", "object": "chat.completion", "model": body.get("model"),
                   "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": text}}],
                   "usage": {"prompt_tokens": 100, "completion_tokens": 2, "total_tokens": 102}}  # fmt: skip
        else:
            out = {"output": {"choices": [{"finish_reason": "stop",
                                           "message": {"role": "assistant", "content": [{"text": text}]}}]},
                   "usage": {"input_tokens": 300, "output_tokens": 2, "image_tokens": 256},
                   "request_id": "fake"}  # fmt: skip
        return web.json_response(out)

    async def _stream(self, request: web.Request, body: dict[str, Any], text: str, *,
                      broken: bool) -> web.StreamResponse:  # fmt: skip
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        pieces = [text[i : i + 2] for i in range(0, len(text), 2)] or [""]
        openai = request.path == OPENAI_PATH
        incremental = (body.get("parameters") or {}).get("incremental_output", True)
        so_far = ""
        for n, piece in enumerate(pieces):
            last = n == len(pieces) - 1
            so_far += piece
            if openai:
                chunk = {"choices": [{"index": 0, "delta": {"content": piece},
                                      "finish_reason": "stop" if last else None}]}  # fmt: skip
                event = f"data: {json.dumps(chunk)}\n\n"
            else:
                shown = piece if incremental else so_far
                data = {"output": {"choices": [{"message": {"content": [{"text": shown}], "role": "assistant"},
                                                "finish_reason": "stop" if last else "null"}]},
                        "usage": {"input_tokens": 300, "output_tokens": n + 1, "image_tokens": 256}}  # fmt: skip
                event = f"id:{n + 1}\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(data, ensure_ascii=False)}\n\n"
            await response.write(event.encode())
            if broken and n == 0:
                request.transport.close()  # type: ignore[union-attr]
                return response
            await asyncio.sleep(0.001)
        if openai:
            usage = {
                "choices": [],
                "usage": {"prompt_tokens": 100, "completion_tokens": len(pieces)},
            }
            await response.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
        await response.write_eof()
        return response


def _strings(value: Any) -> list[str]:
    """Every string in a request body, in order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _strings(v)]
    if isinstance(value, list):
        return [t for v in value for t in _strings(v)]
    return []


def _texts(strings: list[str]) -> list[str]:
    """The body's text, images (data URLs, base64) left out."""
    return [t for t in strings if not t.startswith("data:") and len(t) <= 4096]


def _image_digests(strings: list[str]) -> list[str]:
    """sha256 of each image the body carries as a base64 data URL (its file's bytes)."""
    return [hashlib.sha256(base64.b64decode(t.split(",", 1)[1])).hexdigest()
            for t in strings if t.startswith("data:") and ";base64," in t]  # fmt: skip


def main() -> None:
    """``python -m evalkit.testing.fake_server [LATENCY_S] [--vary] [--port N] [--answers F]``.

    Serves until killed. Prints the port first (the benchmarks read it). ``--port`` listens on
    that port (as a server started by ``backend.serve`` must); ``--answers`` reads a JSON
    object of text-in-the-request → answer (:attr:`FakeVLMServer.answer_book`).
    """
    import sys
    import time

    args = sys.argv[1:]
    port = int(args[args.index("--port") + 1]) if "--port" in args else 0
    book = args[args.index("--answers") + 1] if "--answers" in args else None
    numbers = [a for i, a in enumerate(args) if not a.startswith("--")
               and (i == 0 or args[i - 1] not in ("--port", "--answers"))]  # fmt: skip
    server = FakeVLMServer(port).start()
    if book is not None:
        with open(book, encoding="utf-8") as file:
            server.answer_book = dict(json.load(file))
    server.latency_s = float(numbers[0]) if numbers else 0.0
    server.vary = "--vary" in args
    server.record = False
    print(server.port, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()

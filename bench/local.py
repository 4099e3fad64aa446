"""The local backend on CPU: the same 64 requests through a tiny Qwen2-VL at batch 1 and 8.

The tiny random model (``evalkit.testing.tiny_vlm``) is built in a temporary folder and loaded
through the backend's own ``from_pretrained`` path; every request gets 16 new tokens' budget.
The row reports samples/s at both batch sizes and their ratio (what micro-batching buys on this
2-core machine; the GPU figure comes from ``bench/local_gpu.py``).
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import time
from pathlib import Path
from typing import Any

N = 64


def _requests(n: int) -> list[Any]:
    from PIL import Image

    from evalkit.records import GenerationParams, ImagePart, ImageRef, Message, Request, TextPart

    out = []
    for i in range(n):
        buffer = io.BytesIO()
        Image.new("RGB", (112 + 14 * (i % 4), 112), (i * 3 % 255, 90, 160)).save(buffer, "PNG")
        image = ImageRef(buffer.getvalue(), 112 + 14 * (i % 4), 112, "PNG")
        parts = (ImagePart(image), TextPart(f"What is written in the document {i}?"))
        out.append(Request(str(i), (Message("user", parts),), GenerationParams(max_tokens=16)))
    return out


def _samples_per_s(folder: Path, batch_size: int, requests: list[Any]) -> float:
    from evalkit.backends.hf import HFBackend
    from evalkit.config import HFConfig

    backend = HFBackend.from_config(HFConfig(name="hf", model=str(folder), device="cpu",
                                             dtype="float32", batch_size=batch_size))  # fmt: skip

    async def main() -> None:
        await asyncio.gather(*(backend.generate(r) for r in requests))

    asyncio.run(main())  # warm-up: the first generate call pays one-off costs
    started = time.perf_counter()
    asyncio.run(main())
    return len(requests) / (time.perf_counter() - started)


def run(quick: bool = False) -> list[dict[str, Any]]:
    """samples/s of the tiny model at batch 1 and 8; nothing when the hf extra is missing."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        return []
    from evalkit.testing.tiny_vlm import build_tiny_qwen2_vl

    requests = _requests(16 if quick else N)
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_tiny_qwen2_vl(Path(tmp) / "tiny")
        one = _samples_per_s(folder, 1, requests)
        eight = _samples_per_s(folder, 8, requests)
    return [{"bench": f"hf backend, tiny Qwen2-VL on CPU x{len(requests)}",
             "evalkit_s": len(requests) / eight,
             "throughput": f"batch 8: {eight:.1f}/s, batch 1: {one:.1f}/s",
             "goal": "batch 8 / batch 1 (report)", "ratio": eight / one}]  # fmt: skip

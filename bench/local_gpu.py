"""One prepared check for a GPU machine: micro-batching of ``backend=hf`` at Qwen2-VL-2B size.

Run on a machine with torch, transformers and a CUDA GPU (no network needed)::

    python -m bench.local_gpu [OUT_DIR]

A model of Qwen2-VL-2B's sizes is initialised at random from its config (nothing downloaded),
saved and loaded through the backend's own ``from_pretrained`` path in bfloat16. The bundled
DocVQA sample's images make 256 requests with a fixed output budget (32 new tokens; a random
model seldom ends early). It measures samples/s at batch 1 (what VLMEvalKit and lmms-eval do
by default), 8 and 32, the peak GPU memory of each, and how often batched answers equal the
one-at-a-time answers token for token (bf16 batches are not bit-identical: an agreement rate).
Goal: batch 32 >= 8x the samples/s of batch 1. Writes ``local_gpu.json`` to OUT_DIR ($OUT).

Replicas per GPU (needs Ray, ``pip install -e '.[ray]'``)::

    python -m bench.local_gpu --replicas R [OUT_DIR]

runs the same model on the bundled DocVQA sample as whole ``evalkit`` processes: once with
``runner=local``, once with ``runner=ray`` and R workers per GPU (``runner.gpus_per_worker``
= 1/R, every GPU of the machine), and writes samples/s of each to ``local_gpu_replicas.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

N, MAX_TOKENS, SIZES = 256, 32, (1, 8, 32)


def _requests() -> list[Any]:
    import pyarrow.parquet as pq

    from evalkit.dataset.images import load_image
    from evalkit.records import GenerationParams, ImagePart, Message, Request, TextPart
    from evalkit.resources import sample_data_dir

    rows = pq.read_table(next((sample_data_dir() / "docvqa").glob("*.parquet"))).to_pylist()
    requests = []
    for i in range(N):
        row = rows[i % len(rows)]
        image = load_image(row["image"])
        parts = (ImagePart(image), TextPart(f"{row['question']} ({i})"))
        requests.append(Request(str(i), (Message("user", parts),),
                                GenerationParams(max_tokens=MAX_TOKENS, temperature=0.0)))  # fmt: skip
    return requests


def _measure(folder: Path, batch_size: int, requests: list[Any]) -> dict[str, Any]:
    import torch

    from evalkit.backends.hf import HFBackend
    from evalkit.config import HFConfig

    backend = HFBackend.from_config(HFConfig(
        name="hf", model=str(folder), device="cuda", dtype="bfloat16", batch_size=batch_size,
        min_pixels=256 * 28 * 28, max_pixels=768 * 28 * 28,
    ))  # fmt: skip

    async def answer(items: list[Any]) -> list[Any]:
        return await asyncio.gather(*(backend.generate(r) for r in items))

    asyncio.run(answer(requests[: batch_size * 2]))  # warm-up: kernels, allocator
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    answers = asyncio.run(answer(requests))
    torch.cuda.synchronize()
    wall = time.perf_counter() - started
    result = {"batch_size": batch_size, "samples_per_s": round(len(requests) / wall, 2),
              "wall_s": round(wall, 2), "batches": len(backend.batcher.sizes),
              "peak_gpu_mib": round(torch.cuda.max_memory_allocated() / 2**20),
              "output_tokens": sum(a.usage.output_tokens or 0 for a in answers),
              "texts": [a.text for a in answers]}  # fmt: skip
    asyncio.run(backend.aclose())
    return result


def _free_gpu() -> None:
    import gc

    import torch

    gc.collect()
    torch.cuda.empty_cache()


def replicas(out: Path, per_gpu: int) -> dict[str, Any]:
    """Whole ``evalkit`` processes: one local replica against ``per_gpu`` per GPU on Ray."""
    import subprocess

    import torch

    from evalkit.testing.tiny_vlm import QWEN2_VL_2B, build_tiny_qwen2_vl

    gpus = torch.cuda.device_count()
    if gpus == 0:
        raise SystemExit("bench.local_gpu --replicas: this machine has no CUDA GPU")
    report: dict[str, Any] = {"gpus": gpus, "replicas_per_gpu": per_gpu}
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_tiny_qwen2_vl(Path(tmp) / "qwen2-vl-2b-random", **QWEN2_VL_2B)
        base = [sys.executable, "-m", "evalkit", "task=docvqa", "backend=hf",
                f"backend.model={folder}", "backend.dtype=bfloat16", "backend.batch_size=8",
                f"backend.max_tokens={MAX_TOKENS}", "cache=off", "report.progress=false",
                f"results_dir={tmp}/results"]  # fmt: skip
        ray = ["runner=ray", f"runner.workers={gpus * per_gpu}",
               f"runner.gpus_per_worker={1 / per_gpu:.4f}"]  # fmt: skip
        for name, extra in (("local", []), ("ray", ray)):
            started = time.perf_counter()
            subprocess.run([*base, *extra], check=True, capture_output=True, text=True)
            wall = time.perf_counter() - started
            report[name] = {"wall_s": round(wall, 2), "samples_per_s": round(60 / wall, 2)}
    report["speedup"] = round(report["local"]["wall_s"] / report["ray"]["wall_s"], 2)
    (out / "local_gpu_replicas.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return report


def main() -> None:
    from evalkit.testing.tiny_vlm import QWEN2_VL_2B, build_tiny_qwen2_vl

    args = sys.argv[1:]
    per_gpu = int(args[args.index("--replicas") + 1]) if "--replicas" in args else 0
    args = [a for i, a in enumerate(args)
            if a != "--replicas" and (i == 0 or args[i - 1] != "--replicas")]  # fmt: skip
    out = Path(args[0] if args else os.environ.get("OUT", "."))
    if per_gpu:
        out.mkdir(parents=True, exist_ok=True)
        replicas(out, per_gpu)
        return
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"n": N, "max_tokens": MAX_TOKENS, "goal": "batch 32 >= 8x batch 1"}
    requests = _requests()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        folder = build_tiny_qwen2_vl(Path(tmp) / "qwen2-vl-2b-random", **QWEN2_VL_2B)
        report["build_s"] = round(time.perf_counter() - started, 1)
        runs = []
        for size in SIZES:
            runs.append(_measure(folder, size, requests))
            _free_gpu()
    single = runs[0]["texts"]
    for run in runs:
        texts = run.pop("texts")
        run["agreement_with_batch_1"] = round(
            sum(a == b for a, b in zip(texts, single, strict=True)) / N, 3
        )
        run["speedup_over_batch_1"] = round(run["samples_per_s"] / runs[0]["samples_per_s"], 2)
    report["runs"] = runs
    report["goal_met"] = runs[-1]["speedup_over_batch_1"] >= 8
    (out / "local_gpu.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

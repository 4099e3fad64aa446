"""``runner=ray`` against ``runner=local``, each a whole ``evalkit`` process as a user times it.

* start-up: 8 samples from a loopback server answering at once; what a Ray run adds (a local
  instance started and stopped, two workers, the merge) over a plain run.
* loopback at 200 ms: the same N samples and the same total concurrency (the two workers
  share ``limits.concurrency``), so an API backend gains nothing from Ray on one machine and
  the row shows what Ray costs there.
* the tiny local model on CPU: two replicas (one per worker, each its own process) against
  one, on this 2-core machine.

Nothing is printed when Ray is not installed (``pip install -e '.[ray]'``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.throughput import _timed, loopback_server, make_dataset

WORKERS = 2
RAY = ("runner=ray", f"runner.workers={WORKERS}")


def _evalkit(tmp: str, *args: str) -> list[str]:
    import sys

    return [sys.executable, "-m", "evalkit", *args, "report.bootstrap=0", "report.progress=false",
            "cache=off", f"results_dir={tmp}/results"]  # fmt: skip


def _api(port: int, data: Path, tmp: str, concurrency: int, *extra: str) -> list[str]:
    return _evalkit(tmp, "task=docvqa", "backend=openai",
                    f"backend.base_url=http://127.0.0.1:{port}/v1", "backend.model=bench",
                    "backend.api_key_env=null", "dataset=local", f"dataset.path={data}",
                    f"limits.concurrency={concurrency}", *extra)  # fmt: skip


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Ray's rows; none without Ray."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return []
    rows = []
    n = 100 if quick else 400
    with tempfile.TemporaryDirectory() as tmp:
        with loopback_server(0.0) as port:
            data = make_dataset(Path(tmp), 8)
            local_s, _ = _timed(_api(port, data, tmp, 8))
            ray_s, _ = _timed(_api(port, data, tmp, 8, *RAY))
        rows.append({"bench": "start-up, 8 samples, whole process", "evalkit_s": ray_s,
                     "throughput": f"runner=ray: {ray_s:.1f}s, runner=local: {local_s:.1f}s "
                                   f"(+{ray_s - local_s:.1f}s)",
                     "goal": "local / ray (report)", "ratio": local_s / ray_s})  # fmt: skip
        with loopback_server(0.2) as port:
            data = make_dataset(Path(tmp), n)
            local_s, _ = _timed(_api(port, data, tmp, 32))
            ray_s, _ = _timed(_api(port, data, tmp, 32, *RAY))
        rows.append({"bench": f"loopback 200 ms, C=32 in all, x{n}", "evalkit_s": ray_s,
                     "throughput": f"ray x{WORKERS}: {n / ray_s:.0f}/s, local: {n / local_s:.0f}/s "
                                   "(whole processes)",
                     "goal": "ray / local samples/s (report)", "ratio": local_s / ray_s})  # fmt: skip
        rows += _tiny_model(tmp, 16 if quick else 48)
    return rows


def _tiny_model(tmp: str, n: int) -> list[dict[str, Any]]:
    try:
        import torch  # noqa: F401
    except ImportError:
        return []
    from evalkit.testing.tiny_vlm import build_tiny_qwen2_vl

    folder = build_tiny_qwen2_vl(Path(tmp) / "tiny")
    model = ("task=vqav2", "backend=hf", f"backend.model={folder}", "backend.device=cpu",
             "backend.dtype=float32", f"dataset.limit={n}")  # fmt: skip
    local_s, _ = _timed(_evalkit(tmp, *model))
    ray_s, _ = _timed(_evalkit(tmp, *model, *RAY))
    return [{"bench": f"tiny Qwen2-VL on CPU x{n}, 2 replicas vs 1", "evalkit_s": ray_s,
             "throughput": f"ray x{WORKERS}: {n / ray_s:.1f}/s, local: {n / local_s:.1f}/s "
                           "(whole processes, model loads included)",
             "goal": "ray / local samples/s (report)", "ratio": local_s / ray_s}]  # fmt: skip

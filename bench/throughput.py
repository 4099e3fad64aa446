"""Pipeline throughput against a loopback server answering after 200 ms.

N=1000 448-px JPEG DocVQA-schema samples go through the real pipeline (read, verify, render,
request over HTTP, parse, score, Parquet row) at concurrency 8, 32 and 64. Each run is its own
process so peak RSS is per run; the server is another process, so client CPU is ours alone.
Efficiency = req/s / (C / latency): 1.0 would be a client that adds nothing. A bare aiohttp
client sending the same bodies to the same server at C=64 is measured last, as this machine's
ceiling; its row's ratio is evalkit's efficiency over the bare client's.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LATENCY_S = 0.2
N = 1000
CPU_PAIRS = 3
"""Interleaved evalkit / bare runs at C=64 whose medians give the CPU-a-request ratio."""
TARGETS = {"efficiency": 0.9, "cpu_ms": 2.0, "rss_mb": 150.0}


def make_dataset(folder: Path, n: int) -> Path:
    import datasets
    from PIL import Image, ImageDraw

    rng = random.Random(0)
    images = []
    for k in range(40):
        img = Image.new("RGB", (448, 448), (rng.randint(0, 255), rng.randint(0, 255), 200))
        draw = ImageDraw.Draw(img)
        for _ in range(30):
            x, y = rng.randint(0, 400), rng.randint(0, 400)
            draw.rectangle(
                (x, y, x + rng.randint(5, 60), y + rng.randint(5, 60)),
                fill=(rng.randint(0, 255), 40, k * 6),
            )
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=85)
        images.append(buf.getvalue())
    rows = [{"questionId": str(i), "question": f"What is item {i}?", "answers": ["1", "one"],
             "image": {"bytes": images[i % len(images)], "path": None}} for i in range(n)]  # fmt: skip
    features = datasets.Features({"questionId": datasets.Value("string"), "question": datasets.Value("string"),
                                  "answers": datasets.Sequence(datasets.Value("string")), "image": datasets.Image()})  # fmt: skip
    path = folder / "docs.parquet"
    datasets.Dataset.from_list(rows, features=features).to_parquet(str(path))
    return path


def _peak_rss_mb() -> float:
    """This process's peak RSS. Linux keeps ru_maxrss across exec (a big parent inflates it),
    so read the memory map's own high-water mark where there is one."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(
    port: int, data: str, concurrency: int, results: str, cache: str = "off"
) -> dict[str, Any]:
    """One measured run in this process."""
    import asyncio

    from evalkit.cli import use_system_allocator

    use_system_allocator()  # as the command line does, before pyarrow loads
    from evalkit.backends import openai  # noqa: F401
    from evalkit.compose import compose
    from evalkit.run import pipeline

    overrides = ["task=docvqa", "backend=openai", f"backend.base_url=http://127.0.0.1:{port}/v1",
                 "backend.model=bench", "backend.api_key_env=null", "dataset=local", f"dataset.path={data}",
                 f"limits.concurrency={concurrency}", "report.bootstrap=0", "report.progress=false",
                 "report.table=false"]  # fmt: skip
    overrides += ["cache.mode=off"] if cache == "off" else ["cache.mode=use", f"cache.path={cache}"]
    cfg = compose(overrides)
    # The clock covers the run, not the imports before it (as run.json's wall_s does): loading
    # the backend's module takes 0.1 s here, 40 ms of it aiohttp building two TLS contexts,
    # which at N=1000 would be 3 % of the efficiency. The whole process's time is reported too.
    cpu0 = time.process_time()
    start = time.perf_counter()
    run_dir = Path(tempfile.mkdtemp(dir=results, prefix=f"c{concurrency}-"))
    outcome = asyncio.run(pipeline.run(cfg, run_dir))
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    rss_mb = _peak_rss_mb()
    hits = json.loads((run_dir / "run.json").read_text())["cache"]["hits"]
    return {"n": outcome.n_samples, "failed": outcome.n_failed, "wall": wall, "cpu": cpu, "rss_mb": rss_mb,
            "hits": hits}  # fmt: skip


def bare_client(port: int, data: str, concurrency: int) -> dict[str, Any]:
    """The reference: a bare aiohttp client POSTing the same bodies (data URL + question) to the
    same server, with nothing of evalkit around it. Its efficiency is this machine's ceiling."""
    import base64

    import pyarrow.parquet as pq

    rows = pq.read_table(data).to_pylist()
    bodies = [json.dumps({"model": "bench", "max_tokens": 32, "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,"
                                            + base64.b64encode(r["image"]["bytes"]).decode()}},
        {"type": "text", "text": r["question"]}]}]}).encode() for r in rows]  # fmt: skip
    cpu0 = time.process_time()
    start = time.perf_counter()
    asyncio.run(post_all(port, bodies, concurrency))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    return {
        "n": len(bodies),
        "failed": 0,
        "wall": wall,
        "cpu": cpu,
        "rss_mb": _peak_rss_mb(),
        "hits": 0,
    }


ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def loopback_server(latency_s: float) -> Iterator[int]:
    """The fake VLM server in its own process; yields its port."""
    server = subprocess.Popen([sys.executable, "-m", "evalkit.testing.fake_server", str(latency_s)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert server.stdout is not None
        yield int(server.stdout.readline())
    finally:
        server.kill()
        server.wait()


def measured_run(
    port: int, data: Path, concurrency: int, tmp: str, cache: str = "off"
) -> tuple[dict[str, Any], float]:
    """One pipeline run in a fresh process: its own measurements, and the whole process's wall time."""
    cmd = [
        sys.executable,
        "-m",
        "bench.throughput",
        str(port),
        str(data),
        str(concurrency),
        tmp,
        cache,
    ]
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1]), time.perf_counter() - start


def run(quick: bool = False) -> list[dict[str, Any]]:
    n = 200 if quick else N
    rows = []
    with loopback_server(LATENCY_S) as port, tempfile.TemporaryDirectory() as tmp:
        data = make_dataset(Path(tmp), n)
        for concurrency in (8, 32, 64):
            m, process_s = measured_run(port, data, concurrency, tmp)
            rps = m["n"] / m["wall"]
            efficiency = rps / (concurrency / LATENCY_S)
            cpu_ms = 1000 * m["cpu"] / m["n"]
            rows.append({"bench": f"pipeline C={concurrency} x{m['n']} (failed {m['failed']})",
                         "evalkit_s": m["wall"],
                         "throughput": f"{rps:.0f} req/s, eff {efficiency:.2f}, {cpu_ms:.2f} ms CPU/req, "
                                       f"peak RSS {m['rss_mb']:.0f} MB; whole process {process_s:.1f}s",
                         "goal": "eff>=0.9 @C=64, <=2 ms, <=150 MB",
                         "ratio": min(efficiency / TARGETS["efficiency"], TARGETS["cpu_ms"] / cpu_ms,
                                      TARGETS["rss_mb"] / m["rss_mb"])})  # fmt: skip
        # CPU a request, evalkit against the bare client at C=64: the median of interleaved
        # pairs (the loop's C=64 run is the first), as one pair swings by 20 % on a busy machine
        ours = [m]
        bares = [measured_run(port, data, 64, tmp, "bare")[0]]
        for _ in range(0 if quick else CPU_PAIRS - 1):
            ours.append(measured_run(port, data, 64, tmp)[0])
            bares.append(measured_run(port, data, 64, tmp, "bare")[0])
    bare = bares[0]
    efficiency = bare["n"] / bare["wall"] / (64 / LATENCY_S)
    bare_ms = statistics.median(1000 * b["cpu"] / b["n"] for b in bares)
    ours_ms = statistics.median(1000 * o["cpu"] / o["n"] for o in ours)
    rows.append({"bench": f"bare aiohttp client C=64 x{bare['n']} (reference)", "evalkit_s": bare["wall"],
                 "throughput": f"eff {efficiency:.2f}, {bare_ms:.2f} ms CPU/req (all bodies built before "
                               f"the clock); evalkit's CPU/req inside the run: {ours_ms / bare_ms:.2f}x "
                               f"({ours_ms:.2f} ms; medians of {len(ours)} interleaved pairs)",
                 "goal": "evalkit C=64 / bare; CPU/req <= 2x bare (#22)",
                 "ratio": min(bare["wall"] / rows[-1]["evalkit_s"], 2.0 * bare_ms / ours_ms)})  # fmt: skip
    return rows


def run_cached(quick: bool = False) -> list[dict[str, Any]]:
    """A repeated identical run: 500 samples answered from the cache, zero requests."""
    n = 100 if quick else 500
    with loopback_server(LATENCY_S) as port, tempfile.TemporaryDirectory() as tmp:
        data = make_dataset(Path(tmp), n)
        cache = str(Path(tmp) / "cache.sqlite")
        first, _ = measured_run(port, data, 64, tmp, cache)  # fills the cache
        second, process_s = measured_run(port, data, 64, tmp, cache)  # measured
    return [{"bench": f"cached rerun x{second['n']} ({second['hits']} hits)", "evalkit_s": second["wall"],
             "throughput": f"first run {first['wall']:.1f}s; whole process {process_s:.1f}s",
             "goal": "<= 2 s wall, 0 requests", "ratio": 2.0 / second["wall"]}]  # fmt: skip


def _timed(cmd: list[str]) -> tuple[float, float]:
    """A command's whole-process wall time and CPU time (user + system), as a user times it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True,
                   env={**os.environ, "PYTHONWARNINGS": "ignore"})  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _cli(port: int, data: Path, tmp: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "evalkit", "task=docvqa", "backend=openai",
            f"backend.base_url=http://127.0.0.1:{port}/v1", "backend.model=bench",
            "backend.api_key_env=null", "dataset=local", f"dataset.path={data}",
            "limits.concurrency=64", "report.bootstrap=0", "report.progress=false",
            f"results_dir={tmp}/results", *extra]  # fmt: skip


def write_bodies(data: Path, path: Path) -> Path:
    """The request bodies the bare client sends (data URL + question), one JSON line each."""
    import base64

    import pyarrow.parquet as pq

    with path.open("w") as out:
        for r in pq.read_table(data).to_pylist():
            url = "data:image/jpeg;base64," + base64.b64encode(r["image"]["bytes"]).decode()
            body = {"model": "bench", "max_tokens": 32, "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": url}},
                {"type": "text", "text": r["question"]}]}]}  # fmt: skip
            out.write(json.dumps(body) + "\n")
    return path


async def post_all(port: int, bodies: list[bytes], concurrency: int) -> None:
    """POST every body to the loopback server, ``concurrency`` at a time: the bare client."""
    import aiohttp

    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        todo = iter(bodies)

        async def worker() -> None:
            for body in todo:
                async with session.post(
                    url, data=body, headers={"Content-Type": "application/json"}
                ) as r:
                    await r.read()

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def bare_process(port: int, bodies: str, concurrency: int) -> None:
    """The whole-process reference: read prepared bodies, POST them, nothing else imported."""
    asyncio.run(post_all(port, Path(bodies).read_bytes().splitlines(), concurrency))


def run_startup(quick: bool = False) -> list[dict[str, Any]]:
    """Start-up as a user times it: whole processes of the command line beside a bare client.

    One sample, 500 samples at C=64 (uncached), and the cached rerun of those 500; each as a
    ratio to the whole process of a bare aiohttp client that POSTs bodies prepared before it
    starts (it imports aiohttp and nothing else), in the same run. Goals (issue #22): <= 2x,
    <= 1.3x, <= 2.5x of the bare one-sample run. The CPU a request of the whole processes is
    shown (each carries its own start-up over N requests); the goal on CPU a request (<= 2x the
    bare client's) is inside the run, in :func:`run`'s reference row.
    A shared 2-core machine moves single timings by a fifth and more, so each process runs
    several times, the bare and evalkit runs taking turns, and the medians are compared.
    """
    n, repeats = (100, 3) if quick else (500, 5)
    with loopback_server(LATENCY_S) as port, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "one").mkdir()
        (folder / "many").mkdir()
        one, many = make_dataset(folder / "one", 1), make_dataset(folder / "many", n)
        bare = [sys.executable, "-m", "bench.throughput", str(port)]
        one_bodies = write_bodies(one, folder / "one.bodies")
        many_bodies = write_bodies(many, folder / "many.bodies")
        cache = f"cache.path={folder / 'c.sqlite'}"
        _timed(_cli(port, many, tmp, cache))  # fills the cache
        commands = {
            "bare_one": [*bare, str(one_bodies), "64", tmp, "bare-process"],
            "ours_one": _cli(port, one, tmp, "cache.mode=off"),
            "bare_many": [*bare, str(many_bodies), "64", tmp, "bare-process"],
            "ours_many": _cli(port, many, tmp, "cache.mode=off"),
            "ours_cached": _cli(port, many, tmp, cache),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(repeats):
            for name, cmd in commands.items():
                times[name].append(_timed(cmd))
    wall = {name: statistics.median(w for w, _ in runs) for name, runs in times.items()}
    cpu_ms = 1000 * statistics.median(c for _, c in times["ours_many"]) / n
    bare_cpu_ms = 1000 * statistics.median(c for _, c in times["bare_many"]) / n
    cpu_ratio = cpu_ms / bare_cpu_ms
    rows = []
    for name, ours, reference, goal, label in [
        ("one-sample run", wall["ours_one"], wall["bare_one"], 2.0, "bare one-sample"),
        (f"{n} samples C=64", wall["ours_many"], wall["bare_many"], 1.3, f"bare {n}"),
        (f"cached rerun x{n}", wall["ours_cached"], wall["bare_one"], 2.5, "bare one-sample"),
    ]:
        ratio = ours / reference
        many_row = name.startswith(str(n))
        cpu = (
            f", whole process {cpu_ms:.2f} ms CPU/req ({cpu_ratio:.2f}x the bare {bare_cpu_ms:.2f})"
        )
        rows.append({"bench": f"{name} (whole process, median of {repeats})", "evalkit_s": ours,
                     "throughput": f"{ratio:.2f}x the {label} ({reference:.2f}s)"
                                   + (cpu if many_row else ""),
                     "goal": f"<= {goal:g}x", "ratio": goal / ratio})  # fmt: skip
    return rows


if __name__ == "__main__":
    port, data, concurrency, results = sys.argv[1:5]
    cache = sys.argv[5] if len(sys.argv) > 5 else "off"
    if cache == "bare":
        print(json.dumps(bare_client(int(port), data, int(concurrency))))
    elif cache == "bare-process":
        bare_process(int(port), data, int(concurrency))
    else:
        print(json.dumps(worker(int(port), data, int(concurrency), results, cache)))

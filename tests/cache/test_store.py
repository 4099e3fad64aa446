from __future__ import annotations

import multiprocessing
from pathlib import Path

from evalkit.cache import ResponseCache
from evalkit.records import Completion, Usage


def test_round_trip_keeps_usage(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    completion = Completion("海滩。", Usage(3613, 3, 3577), "stop", 1.5)
    cache.put("k", "qwen-vl-plus", completion)
    assert cache.get("k") == completion and "k" in cache and len(cache) == 1
    assert cache.get("missing") is None
    cache.close()
    assert ResponseCache(tmp_path / "c.sqlite").get("k") == completion  # persisted


def _writer(path: str, prefix: str, n: int) -> None:
    cache = ResponseCache(Path(path))
    for i in range(n):
        cache.put(f"{prefix}{i}", "m", Completion(f"answer {i}", Usage(1, 1, None)))
        cache.get(f"{prefix}{i // 2}")
    cache.close()


def test_two_processes_share_one_file(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    ResponseCache(Path(path)).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, p, 300)) for p in ("a", "b")]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0, 0]  # no "database is locked"
    assert len(ResponseCache(Path(path))) == 600

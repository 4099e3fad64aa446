"""A full disk: one line naming the path, what finished kept, a folder a rerun can trust."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evalkit.errors import DiskFull
from evalkit.runfolder.writer import SampleWriter
from evalkit.testing.fake_server import FakeVLMServer


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 KB tmpfs (root can mount one, as in CI); skipped where mounting is refused."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24k", "tmpfs", str(disk)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); "
                    "test_a_disk_filling_during_the_run_is_one_line injects ENOSPC instead")  # fmt: skip
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _api(server: FakeVLMServer, cache: Path) -> list[str]:
    return ["task=docvqa", "backend=openai", f"backend.base_url={server.openai_url}",
            "backend.model=m", "backend.api_key_env=null", f"cache.path={cache}"]  # fmt: skip


def test_results_on_a_full_disk_are_one_line_and_the_rerun_resumes(
    cli, server: FakeVLMServer, tmp_path: Path, small_disk: Path
) -> None:
    server.answer = "1"
    cache = tmp_path / "c.sqlite"
    proc = cli(*_api(server, cache), f"results_dir={small_disk / 'results'}")
    assert proc.returncode == 2, proc.stdout
    assert "Traceback" not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith(f"evalkit: error: no space left on the device of {small_disk}"), line
    # each answer that arrived was cached (on another disk): the rerun asks for the rest
    folders = [p for p in (small_disk / "results").glob("*/*/*") if p.is_dir()]
    assert not [f for f in folders if (f / "run.json").exists()]  # none looks finished
    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)
    if "nothing of the run was recorded yet" in line:
        assert not folders  # full before the run's record: no half-made folder is left
    else:  # the record of the run was written: rescore seals the folder
        assert "seals them" in line
        [folder] = folders
        sealed = subprocess.run([sys.executable, "-m", "evalkit", "rescore", str(folder)],
                                capture_output=True, text=True, cwd=tmp_path, timeout=300)  # fmt: skip
        assert sealed.returncode == 0, sealed.stderr
        assert json.loads((folder / "run.json").read_text())["aborted"]
    again = cli(*_api(server, cache), f"results_dir={small_disk / 'results'}")
    assert again.returncode == 0, again.stderr
    assert len(server.received) == 60  # the rerun asked only what had not arrived


def test_a_cache_filling_its_disk_warns_once_and_the_run_goes_on(
    cli, server: FakeVLMServer, tmp_path: Path, small_disk: Path
) -> None:
    subprocess.run(["mount", "-o", "remount,size=96k", str(small_disk)], check=True)
    server.answer = "a long answer " * 400  # 5.6 KB each: the cache outgrows its disk
    proc = cli(*_api(server, small_disk / "c.sqlite"), f"results_dir={tmp_path / 'results'}")
    assert proc.returncode == 0, proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if "the disk is full" in ln]
    assert len(warnings) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert str(small_disk / "c.sqlite") in warnings[0]
    folder = tmp_path / proc.stdout.strip().splitlines()[-1].removeprefix("results: ")
    assert json.loads((folder / "run.json").read_text())["counts"]["samples"] == 60


def test_a_disk_filling_during_the_run_is_one_line(
    run_eval, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = SampleWriter.flush
    calls = {"n": 0}

    def flush(self: SampleWriter) -> None:
        calls["n"] += 1
        if self._buffer:  # the first batch of rows finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self)

    monkeypatch.setattr(SampleWriter, "flush", flush)
    with pytest.raises(DiskFull, match="no space left on the device of .*evalkit rescore"):
        run_eval("task=docvqa", "report.flush_every=8")
    [folder] = [p for p in tmp_path.iterdir() if (p / "run.partial.json").exists()]
    monkeypatch.setattr(SampleWriter, "flush", real)
    from evalkit.run.rescore import rescore

    rescore(folder)
    manifest = json.loads((folder / "run.json").read_text())
    assert "full disk" in manifest["aborted"] and not (folder / "samples.arrows").exists()

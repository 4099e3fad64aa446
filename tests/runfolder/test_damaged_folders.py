"""Damaged run folders: every command that reads runs gives one line naming the file."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import main_in_process

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("good")
    proc = subprocess.run(
        [sys.executable, "-m", "evalkit", "task=docvqa", "dataset.limit=4",
         f"results_dir={root / 'results'}", "report.progress=false"],
        capture_output=True, text=True, cwd=root, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return root / proc.stdout.strip().splitlines()[-1].removeprefix("results: ")


def _zero(path: Path) -> None:
    path.write_bytes(b"")


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage_json(path: Path) -> None:
    path.write_text("{not json")


DAMAGE = [
    ("samples.parquet", _zero, "samples.parquet: it is empty (0 bytes)"),
    ("samples.parquet", _truncate, "samples.parquet: it is not a complete Parquet file"),
    ("summary.parquet", _truncate, "summary.parquet: it is not a complete Parquet file"),
    ("run.json", _garbage_json, "cannot read"),
]


@pytest.mark.parametrize("command", ["rescore", "report", "compare"])
@pytest.mark.parametrize(("name", "damage", "expected"), DAMAGE,
                         ids=[f"{n}-{d.__name__}" for n, d, _ in DAMAGE])  # fmt: skip
def test_a_damaged_file_is_one_line_from_every_command(
    good: Path, tmp_path: Path, command: str, name: str, damage: Callable[[Path], None],
    expected: str, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    run = tmp_path / "run"
    shutil.copytree(good, run)
    damage(run / name)
    args = {"rescore": [str(run)], "report": [str(run), "-o", str(tmp_path / "r.html")],
            "compare": [str(good), str(run)]}[command]  # fmt: skip
    proc = main_in_process(capsys, tmp_path, command, *args)  # the command's own main
    if command == "compare" and name == "summary.parquet":
        assert proc.returncode == 0, proc.stderr  # compare reads no summary
        return
    assert proc.returncode == 2, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evalkit: error: "), proc.stderr
    assert expected in lines[0]


def test_load_runs_names_the_damaged_file(good: Path, tmp_path: Path) -> None:
    from evalkit.analysis import load_runs
    from evalkit.errors import ConfigError

    run = tmp_path / "run"
    shutil.copytree(good, run)
    _zero(run / "samples.parquet")
    with pytest.raises(ConfigError, match="samples.parquet: it is empty"):
        load_runs(run)

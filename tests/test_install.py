"""Installing evalkit: what ``make eval`` installs, and the wheel a user would install."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _make_dry_run(tmp_path: Path, *args: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    venv = tmp_path / "venv"  # a venv that does not exist yet: make shows every step it would take
    out = subprocess.run(["make", "-n", "eval", f"VENV={venv}", *args], cwd=ROOT,
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout


def test_make_eval_installs_the_core_alone(tmp_path: Path) -> None:
    """The quick start's first command installs evalkit without extras: no torch, no dev tools."""
    steps = _make_dry_run(tmp_path, "task=docvqa")
    installs = [line for line in steps.splitlines() if "pip install" in line]
    assert len(installs) == 1, steps
    assert installs[0].rstrip().endswith("pip install --quiet --no-compile -e .; fi"), installs
    assert "-e .[" not in installs[0]  # no extra


def test_make_eval_with_the_hf_backend_brings_the_hf_extra(tmp_path: Path) -> None:
    for args in (["backend=hf"], ["ARGS=backend=hf backend.model=m"]):
        steps = _make_dry_run(tmp_path, "task=docvqa", *args)
        installs = [line for line in steps.splitlines() if "pip install" in line]
        assert len(installs) == 1, steps
        assert "-e '.[hf]' -c constraints-cpu.txt" in installs[0], installs


def test_pyproject_names_a_distribution_other_than_the_unrelated_evalkit() -> None:
    """``evalkit`` on the package index is another project: the distribution is evalkit-vlm."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "evalkit-vlm"
    assert project["scripts"] == {"evalkit": "evalkit.cli:entry"}
    assert not any(dep.split("[")[0].strip() == "evalkit" for dep in project["dependencies"])
    for extra in project["optional-dependencies"].values():
        assert not any(dep.startswith("evalkit[") for dep in extra)
    # pip install -e '.[notebook]' opens and runs notebooks/analysis.ipynb: Jupyter, a kernel
    notebook = {
        dep.split(">")[0].split("=")[0] for dep in project["optional-dependencies"]["notebook"]
    }
    assert notebook == {"notebook", "ipykernel", "matplotlib"}


def test_the_wheel_installs_into_a_clean_venv_and_runs_a_task_from_outside_the_clone(
    tmp_path: Path,
) -> None:
    """The built wheel carries configs, tasks and samples; run from elsewhere, it needs no clone.

    The clean venv has no pip and no packages of its own: evalkit's wheel goes in with this
    interpreter's pip, and its dependencies are read from this environment's site-packages (a
    path line, so the editable evalkit there is not seen): nothing is fetched from an index.
    """
    pytest.importorskip("hatchling", reason="needs hatchling (the dev extra) to build the wheel")
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(dist), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("evalkit_vlm-*.whl")

    venv = tmp_path / "clean"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    (Path(purelib) / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "EVALKIT_RESULTS"}}
    env["HOME"] = str(tmp_path / "home")
    command = venv / "bin" / "evalkit"
    version = subprocess.run([str(command), "--version"], cwd=elsewhere, env=env,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "evalkit 0.1.0"

    where = subprocess.run([str(python), "-c", "import evalkit.resources as r; print(r.configs_dir())"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True)  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(purelib), where.stdout

    run = subprocess.run([str(command), "task=textvqa", "dataset.limit=5"], cwd=elsewhere, env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    (run_dir,) = (elsewhere / "results" / "textvqa" / "baseline").iterdir()
    summary = json.loads((run_dir / "run.json").read_text())
    assert summary["counts"]["samples"] == 5
    assert (run_dir / "samples.parquet").is_file()

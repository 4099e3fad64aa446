"""``evalkit report``: one self-contained page, checked as HTML and in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from evalkit.page import build_report, write_report
from evalkit.testing.answers import answer_book
from evalkit.testing.fake_server import FakeVLMServer, Fault

from .conftest import run_cli

Cli = Callable[..., subprocess.CompletedProcess[str]]
BROWSER = "chromium-headless-shell"  # Debian's headless Chromium: no background services
_QUIET = [
    "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-domain-reliability",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
    "--enable-logging=stderr", "--v=0",
]  # fmt: skip


def _run(cli: Cli, tmp_path: Path, *overrides: str, env: dict[str, str] | None = None) -> Path:
    proc = cli(*overrides, env=env)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("results: "))
    return tmp_path / line.removeprefix("results: ")


@pytest.fixture(scope="module")
def _three_runs(tmp_path_factory: pytest.TempPathFactory,
                fake_server_session: FakeVLMServer) -> Path:  # fmt: skip
    """A good and a worse docvqa run (three failed requests) and a refcoco run, made once."""
    server, where = fake_server_session, tmp_path_factory.mktemp("three-runs")
    server.reset()
    api = [
        "backend=openai",
        f"backend.base_url={server.openai_url}",
        "cache.mode=off",
        "limits.max_retries=0",
        "limits.concurrency=1",
        "limits.max_error_rate=1.0",
    ]
    env = {"OPENAI_API_KEY": "k", "XDG_CACHE_HOME": str(where / "xdg")}

    def cli(*args: str, env: dict[str, str] | None = env) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, cwd=where, env=env)

    server.answer_book = answer_book("docvqa")
    good = _run(cli, where, "task=docvqa", *api, "backend.model=good", env=env)
    server.answer_book = answer_book("docvqa", wrong=lambda i: i % 3 == 0)
    server.faults.extend(
        Fault(status=400, body=b'{"error": {"message": "bad image"}}') for _ in range(3)
    )
    worse = _run(cli, where, "task=docvqa", *api, "backend.model=worse", env=env)
    boxes = _run(cli, where, "task=refcoco", "dataset.limit=6", env=env)
    server.reset()
    folder = where / "made"
    for name, run in {"good": good, "worse": worse, "boxes": boxes}.items():
        shutil.copytree(run, folder / name)
    return folder


@pytest.fixture
def runs(_three_runs: Path, tmp_path: Path) -> dict[str, Path]:
    """A copy of the three runs for this test alone."""
    shutil.copytree(_three_runs, tmp_path / "runs")
    return {name: tmp_path / "runs" / name for name in ("good", "worse", "boxes")}


def _external_references(page: str) -> list[str]:
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", page)
    return [r for r in refs if not r.startswith(("data:", "#"))]


def test_the_page_is_self_contained_and_shows_the_comparison(runs: dict[str, Path]) -> None:
    page = build_report(runs["good"], runs["worse"])
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert _external_references(page) == []
    assert page.count('src="data:image/jpeg;base64,') >= 12  # the worst samples' thumbnails
    for heading in (
        "Summary",
        "Per group",
        "Cost and usage",
        "Errors",
        "lowest-scoring samples",
        "Compared with worse",
        "Flipped samples",
    ):
        assert heading in page, heading
    assert "mcnemar-exact" in page and "-0.3" in page  # the drop, over the answered pairs
    assert "19 samples went down on anls, 0 went up" in page  # 20 wrong; 1 of them failed
    assert "no idea" in page and "What is the total amount?" in page


def test_errors_are_listed_by_kind_with_an_example(runs: dict[str, Path]) -> None:
    page = build_report(runs["worse"])
    assert '<b>InvalidRequest</b></td><td class="num">3</td>' in page
    assert "bad image" in page  # the example's one-line message


def test_grounding_boxes_are_drawn_over_the_image(runs: dict[str, Path]) -> None:
    page = build_report(runs["boxes"])
    assert page.count('stroke="#1a9850"') >= 6 and page.count('stroke="#d73027"') >= 6
    assert page.count('<image href="data:image/jpeg;base64,') >= 6
    assert "boxes: " in page  # the legend


def test_the_command_writes_the_page(runs: dict[str, Path], tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "evalkit",
        "report",
        str(runs["good"]),
        str(runs["worse"]),
        "-o",
        str(tmp_path / "page.html"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "report: page.html"
    assert (tmp_path / "page.html").read_text().startswith("<!DOCTYPE html>")
    bad = subprocess.run(
        [sys.executable, "-m", "evalkit", "report", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert bad.returncode == 2 and "is not a finished run folder" in bad.stderr


def test_a_comparison_page_does_not_overwrite_the_runs_own(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    import shutil

    run = tmp_path / "good"
    shutil.copytree(runs["good"], run)
    own = write_report(run)
    both = write_report(run, runs["worse"])
    assert own == run / "report.html"
    assert both == run / f"report-vs-{runs['worse'].name}.html"
    assert own.read_text() != both.read_text() and own.exists()


def test_the_page_opens_in_headless_chromium(runs: dict[str, Path], tmp_path: Path) -> None:
    browser = shutil.which(BROWSER)
    if browser is None:
        pytest.skip(f"{BROWSER} is not installed (.ci/run installs it)")
    page = tmp_path / "report.html"
    page.write_text(build_report(runs["good"], runs["worse"]), encoding="utf-8")
    shot, netlog = tmp_path / "shot.png", tmp_path / "net.json"
    proc = subprocess.run(
        [
            browser,
            *_QUIET,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--log-net-log={netlog}",
            "--window-size=1280,2200",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []  # no console message at all, errors included
    urls = re.findall(r'"url":"([^"]*)"', netlog.read_text()) if netlog.exists() else []
    assert [u for u in urls if not u.startswith("file:")] == []  # nothing fetched
    with Image.open(shot) as image:
        picture = image.convert("RGB")
    assert picture.size == (1280, 2200)
    colours = picture.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 200  # text, tables and thumbnails, not a blank page
    white = max(count for count, colour in colours if colour == (255, 255, 255))
    assert white < 0.93 * 1280 * 2200
    (Path(os.environ.get("EVALKIT_SCREENSHOTS", tmp_path)) / "report.png").write_bytes(
        shot.read_bytes()
    )


def test_caption_examples_are_shown(run_eval) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("java") is None:
        pytest.skip("caption metrics need Java")
    run = run_eval("task=coco_caption", "dataset.limit=8").run_dir  # in-process: one METEOR JVM
    page = build_report(run)
    assert "<h2>Caption examples</h2>" in page
    assert "a picture of some objects" in page  # the baseline's caption
    assert "by CIDEr" in page  # the worst samples are ordered by per-image CIDEr
    assert page.count('src="data:image/jpeg;base64,') >= 8 + 6


def test_a_report_of_any_task_and_of_a_run_with_no_rows(run_eval, cli: Cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    from evalkit.page import write_report

    folders = [run_eval(f"task={task}", "dataset.limit=3").run_dir
               for task in ("infovqa", "vqav2", "mmbench_cn", "refcoco")]  # fmt: skip
    empty = tmp_path / "empty.parquet"
    sample = Path(__file__).resolve().parent.parent / "evalkit/sample_data/okvqa/val2014.parquet"
    pq.write_table(pq.read_table(sample).slice(0, 0), empty)
    assert cli("task=okvqa", "dataset=local", f"dataset.path={empty}").returncode == 2
    [no_rows] = [p.parent for p in (tmp_path / "results" / "okvqa").rglob("run.json")]
    for folder in [*folders, no_rows]:
        page = write_report(folder).read_text()
        assert "<html" in page and "Traceback" not in page

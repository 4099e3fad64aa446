"""``evalkit report``: one self-contained page, checked as HTML and in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _scripts(page: str) -> list[str]:
    return re.findall(r"<script([^>]*)>", page)


def test_the_page_is_self_contained_and_shows_the_comparison(runs: dict[str, Path]) -> None:
    page = build_report(runs["good"], runs["worse"])
    assert _scripts(page) == [""]  # one inline script (the filter), no src
    assert "<link" not in page and "@import" not in page
    assert _external_references(page) == []
    assert page.count('src="data:image/jpeg;base64,') >= 12  # the worst samples' thumbnails
    sections = re.findall(r'<h2 id="([a-z]+)">', page)
    assert sections == ["summary", "scores", "groups", "cost", "errors", "worst", "comparison",
                        "samples"]  # fmt: skip
    toc = page.split('<nav class="toc">', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'href="#([a-z]+)"', toc) == sections
    assert "mcnemar-exact" in page and "-0.3" in page  # the drop, over the answered pairs
    assert "19 samples went down on anls, 0 samples went up." in page  # 20 wrong; 1 failed
    assert "no idea" in page and "What is the total amount?" in page


def test_the_header_names_both_runs_and_the_summary_puts_them_on_one_axis(
    runs: dict[str, Path],
) -> None:
    page = build_report(runs["good"], runs["worse"])
    assert "<h1>evalkit report: docvqa, good (base) vs worse (candidate)</h1>" in page
    assert f"<b>base</b> <code>{runs['good'].name}</code>" in page
    assert f"<b>candidate</b> <code>{runs['worse'].name}</code>" in page
    summary = page.split('<h2 id="summary">', 1)[1].split("<h2", 1)[0]
    axis = summary.split('<svg class="axis"', 1)[1].split("</svg>", 1)[0]
    assert axis.count("<circle") == 2  # base and candidate
    assert 'stroke="#dd8452"' in axis and 'class="ci"' in axis  # the candidate's interval
    ticks = [float(t) for t in re.findall(r">([0-9.]+)</text>", axis)]
    assert len(ticks) >= 3 and ticks == sorted(ticks)  # a labelled axis
    assert ticks[0] > 0.3  # spans the intervals (about 0.54 to 1), not 0 to 1
    assert '<b>anls</b> <span class="k">primary</span>' in summary


def test_the_group_table_is_a_pivot_with_both_runs_and_the_difference(
    runs: dict[str, Path],
) -> None:
    import pandas as pd

    page = build_report(runs["good"], runs["worse"])
    groups = page.split('<h2 id="groups">', 1)[1].split("<h2", 1)[0]
    header = re.findall(r"<th>([^<]*)</th>", groups)
    assert header == ["question_types", "n", "anls base", "anls cand", "anls diff"]
    rows = [re.findall(r"<td[^>]*>(?:<span[^>]*>)?([^<]*)", tr)
            for tr in groups.split("<tbody>", 1)[1].split("<tr>")[1:]]  # fmt: skip
    summary = pd.read_parquet(runs["worse"] / "summary.parquet")
    cand = summary[(summary.kind == "group") & (summary.metric == "anls")].set_index("group")
    for group, _n, base, worse, diff in rows:
        assert float(base) == 1.0 and float(worse) == pytest.approx(
            cand.loc[group, "value"], abs=1e-4
        )
        assert float(diff) == pytest.approx(float(worse) - float(base), abs=2e-4)
    assert {r[0] for r in rows} == set(cand.index)


def test_the_comparison_lists_what_went_up_as_well_as_down(runs: dict[str, Path]) -> None:
    page = build_report(runs["worse"], runs["good"])  # the other way round: 19 went up
    assert "0 samples went down on anls, 19 samples went up." in page
    assert "Went up (12 samples shown, the largest rise first)" in page
    assert "Went down" not in page
    data = page.split("Went up", 1)[1]
    assert data.count('<div class="card">') == 12


def test_one_sample_reads_as_one_sample(runs: dict[str, Path], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    worse = tmp_path / "one-wrong"
    shutil.copytree(runs["good"], worse)
    table = pq.read_table(worse / "samples.parquet").to_pandas()
    table.loc[0, "anls"] = 0.0
    table.loc[0, "prediction"] = "nothing"
    pq.write_table(__import__("pyarrow").Table.from_pandas(table, preserve_index=False),
                   worse / "samples.parquet")  # fmt: skip
    page = build_report(runs["good"], worse)
    assert "1 sample went down on anls, 0 samples went up." in page
    assert "Went down (1 sample shown" in page


def test_cost_has_its_currency_and_image_tokens_when_reported(
    run_eval, server: FakeVLMServer
) -> None:  # type: ignore[no-untyped-def]
    """A priced DashScope model: cost in CNY, per sample too; the images' tokens reported."""
    server.answer_book = answer_book("docvqa")
    run = run_eval("task=docvqa", "backend=dashscope", f"backend.base_url={server.dashscope_url}",
                   "backend.api_key_env=null", "backend.model=qwen-vl-plus", "dataset.limit=6",
                   "cache.mode=off").run_dir  # fmt: skip
    cost = build_report(run).split('<h2 id="cost">', 1)[1].split("<h2", 1)[0]
    cells = dict(re.findall(r"<tr><td>([^<]*)</td><td class=\"num\">([^<]*)</td></tr>", cost))
    assert cells["cost"].endswith(" CNY") and cells["cost per sample"].endswith(" CNY")
    assert int(cells["image tokens"]) > 0


def test_the_worst_samples_break_ties_on_a_continuous_score_one_image_first(
    runs: dict[str, Path],
) -> None:
    """A perfect run ties every sample at 1.0: the cards show 12 different pages, not one page's
    several questions; each card shows the question alone, not the prompt's instructions."""
    import pandas as pd

    page = build_report(runs["good"])
    worst = page.split('<h2 id="worst">', 1)[1].split("<h2", 1)[0]
    pictures = re.findall(r'src="(data:image/jpeg;base64,[^"]+)"', worst)
    assert len(pictures) == 12 and len(set(pictures)) == 12
    questions = re.findall(r'<span class="k">question</span> ([^<]*)</div>', worst)
    samples = pd.read_parquet(runs["good"] / "samples.parquet")
    assert set(questions) <= set(samples["question"].map(__import__("html").escape))
    assert not any("single word or phrase" in q for q in questions)


def test_the_boxes_worst_samples_are_ordered_by_iou_under_a_tie(runs: dict[str, Path]) -> None:
    import pyarrow.parquet as pq

    from evalkit.page.choose import worst_samples

    rows = pq.read_table(runs["boxes"] / "samples.parquet").to_pylist()
    assert {r["acc_iou50"] for r in rows} == {0.0}  # the baseline's whole-image box: all tied
    chosen = worst_samples(rows, "acc_iou50", ["acc_iou50", "acc_iou25", "acc_iou75", "iou"],
                           len(rows))  # fmt: skip
    items = [r["sample_id"].split("#")[0] for r in chosen]
    fresh = len(set(items))
    assert len(set(items[:fresh])) == fresh  # every image once, then the repeats
    for part in (chosen[:fresh], chosen[fresh:]):
        assert [r["iou"] for r in part] == sorted(r["iou"] for r in part)  # IoU breaks the tie


def test_the_score_histogram_counts_every_answered_sample(runs: dict[str, Path]) -> None:
    page = build_report(runs["good"], runs["worse"])
    chart = page.split('<h2 id="scores">', 1)[1].split("</svg>", 1)[0]
    bars = re.findall(r'<rect class="bar"[^>]*fill="(#[0-9a-f]+)"><title>(\d+)</title>', chart)
    by_run = {colour: sum(int(n) for c, n in bars if c == colour) for colour, _ in bars}
    assert by_run == {"#4c72b0": 60, "#dd8452": 57}  # the candidate's 3 failures left out
    assert "base (60 samples)" in chart and "candidate (57 samples)" in chart


def test_every_sample_is_listed_collapsed_with_a_filter(runs: dict[str, Path]) -> None:
    page = build_report(runs["good"], runs["worse"])
    listing = page.split('<h2 id="samples">All samples</h2>', 1)[1]
    assert listing.startswith('<details class="all" id="all"><summary>Show all 60 samples')
    body = listing.split('id="all-samples"', 1)[1].split("</tbody>", 1)[0]
    assert body.count("<tr>") == 60 + 1  # the header row, then every sample
    assert body.count("candidate: InvalidRequest") == 3


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


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    browser = shutil.which(BROWSER)
    if browser is None:
        pytest.skip(f"{BROWSER} is not installed (.ci/run installs it)")
    return subprocess.run([browser, *_QUIET, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(tmp_path)})  # fmt: skip


def test_the_filter_runs_in_the_browser(runs: dict[str, Path], tmp_path: Path) -> None:
    """``#q=TEXT`` opens the list filtered: the DOM after the script ran, and no console line."""
    page = tmp_path / "report.html"
    page.write_text(build_report(runs["good"], runs["worse"]), encoding="utf-8")
    proc = _chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom",
                     page.as_uri() + "#q=sales%20in%20Q2")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [line for line in proc.stderr.splitlines() if ":CONSOLE" in line] == []
    dom = proc.stdout
    assert '<details class="all" id="all" open="">' in dom
    rows = re.findall(r"<tr( hidden=\"\")?>(.*?)</tr>", dom.split('id="all-samples"', 1)[1])
    shown = [text for hidden, text in rows[1:] if not hidden]
    assert shown and all("sales in q2" in text.lower() for text in shown)
    assert len(rows) - 1 - len(shown) > 40  # the others hidden
    assert f'<span id="shown">{len(shown)}</span>' in dom


def _pixels(picture: Any, box: tuple[int, int, int, int], colour: tuple[int, int, int],
            tolerance: int = 12) -> int:  # fmt: skip
    """How many pixels of ``box`` are within ``tolerance`` of ``colour``."""
    counts = picture.crop(box).getcolors(maxcolors=1 << 22) or []
    return sum(
        n for n, c in counts if all(abs(a - b) <= tolerance for a, b in zip(c, colour, strict=True))
    )


def test_the_new_sections_are_drawn_in_the_browser(runs: dict[str, Path], tmp_path: Path) -> None:
    """A screenshot, cut at each section's place in the page: the contents, both runs' points
    and intervals on the summary's axis, the histogram's bars in both colours, the pivot's red
    differences, the cards' pictures, and the opened sample list."""
    page = tmp_path / "report.html"
    html = build_report(runs["good"], runs["worse"])
    # each section's top, measured by the page itself, written into the title for the test
    probe = (
        "<script>window.onload=function(){var o={};document.querySelectorAll('h2[id],nav')"
        ".forEach(function(e){o[e.id||'toc']=Math.round(e.getBoundingClientRect().top+"
        "window.scrollY)});document.title=JSON.stringify(o)}</script></body>"
    )
    page.write_text(html.replace("</body>", probe, 1), encoding="utf-8")
    shot = tmp_path / "shot.png"
    proc = _chromium(tmp_path, "--window-size=1280,9000", "--virtual-time-budget=3000",
                     f"--screenshot={shot}", page.as_uri() + "#q=total")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = _chromium(tmp_path, "--window-size=1280,9000", "--virtual-time-budget=3000",
                    "--dump-dom", page.as_uri() + "#q=total").stdout  # fmt: skip
    import json

    tops = json.loads(__import__("html").unescape(re.search(r"<title>(.*?)</title>", dom).group(1)))
    assert list(tops) == ["toc", "summary", "scores", "groups", "cost", "errors", "worst",
                          "comparison", "samples"]  # fmt: skip
    with Image.open(shot) as image:
        picture = image.convert("RGB")
    blue, orange, red = (0x4C, 0x72, 0xB0), (0xDD, 0x84, 0x52), (0xB2, 0x18, 0x2B)

    def band(name: str, following: str) -> tuple[int, int, int, int]:
        return (0, tops[name], 1280, tops[following])

    assert _pixels(picture, band("toc", "summary"), (0xF5, 0xF7, 0xFA), 2) > 20_000  # its box
    summary = band("summary", "scores")
    assert _pixels(picture, summary, blue) > 20  # the base's point (its interval is [1, 1])
    assert _pixels(picture, summary, orange) > 150  # the candidate's point and interval
    scores = band("scores", "groups")
    assert _pixels(picture, scores, blue) > 2000 and _pixels(picture, scores, orange) > 1000
    assert _pixels(picture, band("groups", "cost"), red, 30) > 40  # the drops, in red
    worst = band("worst", "comparison")
    assert len(picture.crop(worst).getcolors(maxcolors=1 << 20) or []) > 500  # the pictures
    listing = picture.crop((0, tops["samples"], 1280, tops["samples"] + 600))
    assert len(listing.getcolors(maxcolors=1 << 20) or []) > 50  # the opened, filtered table
    (Path(os.environ.get("EVALKIT_SCREENSHOTS", tmp_path)) / "report-sections.png").write_bytes(
        shot.read_bytes()
    )


def test_caption_examples_are_shown(run_eval) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("java") is None:
        pytest.skip("caption metrics need Java")
    run = run_eval("task=coco_caption", "dataset.limit=8").run_dir  # in-process: one METEOR JVM
    page = build_report(run)
    assert '<h2 id="captions">Caption examples</h2>' in page
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

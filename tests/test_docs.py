"""The docs site builds strictly, its task table comes from the task files, README stays short."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.compose.tasks import load_task, task_names
from evalkit.task_table import MARKER, markdown

ROOT = Path(__file__).resolve().parents[1]


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mkdocs", reason="needs the docs extra: pip install -e '.[docs]'")
    pytest.importorskip("material", reason="needs the docs extra: pip install -e '.[docs]'")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config),
                           "-d", str(site)], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=300)  # fmt: skip


def test_the_docs_site_builds_strictly_with_every_task_in_its_table(tmp_path: Path) -> None:
    built = _build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert built.returncode == 0, built.stderr
    page = (tmp_path / "site" / "tasks" / "index.html").read_text(encoding="utf-8")
    shipped = sorted(p.stem for p in (ROOT / "tasks").rglob("*.yaml"))
    assert len(shipped) >= 33
    for name in shipped:
        assert f"<code>{name}</code>" in page, name
    assert "task-table" not in page  # the marker was replaced
    assert "<strong>CIDEr</strong>" in page  # the captioning tasks' primary metric
    for html in (tmp_path / "site").rglob("*.html"):  # nothing fetched from elsewhere to show it
        text = html.read_text(encoding="utf-8")
        assert not re.findall(r'<(?:link|script)[^>]+(?:href|src)="https?://', text), html


def test_a_broken_link_or_anchor_fails_the_build(tmp_path: Path) -> None:
    """The strict settings are live: the site's own config over a page with a broken link."""
    docs = tmp_path / "docs"
    docs.mkdir()
    config = (ROOT / "mkdocs.yml").read_text().split("\nnav:", 1)[0]
    config = config.replace("scripts/mkdocs_hooks.py", str(ROOT / "scripts" / "mkdocs_hooks.py"))
    (tmp_path / "mkdocs.yml").write_text(config + "\nnav:\n  - index.md\n  - other.md\n")
    (docs / "other.md").write_text("# Other\n\n## Here\n")
    for link, fails in (("other.md#here", False), ("missing.md", True), ("other.md#nowhere", True)):
        (docs / "index.md").write_text(f"# Home\n\nSee [there]({link}).\n")
        built = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
        assert (built.returncode != 0) == fails, (link, built.stderr)


def test_the_table_has_a_row_per_task_with_its_data_and_primary_metric() -> None:
    table = markdown().splitlines()
    assert len(table) == 2 + len(task_names())  # the tasks this process knows
    row = next(line for line in table if line.startswith("| `docvqa` |"))
    spec = load_task("docvqa")
    assert f"`{spec.dataset.hf_id}` (config `DocVQA`) @ `{spec.dataset.revision[:8]}`" in row
    assert "validation (5,349)" in row and "**anls**" in row
    pope = next(line for line in table if line.startswith("| `seedbench` |"))
    assert "rows where `data_type` is `image`" in pope
    assert MARKER in (ROOT / "docs" / "tasks.md").read_text()


def test_readme_fits_on_two_screens_and_points_at_the_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 60
    assert "make eval task=docvqa" in readme and "make test" in readme
    assert "(docs/index.md)" in readme and "make docs" in readme
    assert "pip install evalkit" not in readme and "'evalkit[" not in readme


def test_the_typo_examples_print_what_the_docs_show(tmp_path: Path) -> None:
    """Each ``$ evalkit ...`` line of the docs' typo block, run: its one line, as shown (an
    ellipsis stands for the rest of a list), and exit code 2."""
    import re
    import shlex

    from .conftest import main_here

    page = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    block = page.split("A typo costs one line", 1)[1].split("```\n", 2)[1]
    lines = block.strip().splitlines()
    pairs = list(zip(lines[::2], lines[1::2], strict=True))
    assert len(pairs) == 4
    for command, shown in pairs:
        assert command.startswith("$ evalkit ")
        proc = main_here(*shlex.split(command)[2:], cwd=tmp_path)
        assert proc.returncode == 2, command
        pattern = ".*".join(re.escape(part) for part in shown.split("…"))
        assert re.fullmatch(pattern, proc.stderr.strip()), (command, proc.stderr)

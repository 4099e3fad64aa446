"""The stages import only the foundation and earlier stages (shared/DESIGN.md §2).

Foundation (any stage may use it): records, errors, config, resources, cost, families,
structured, redact, registry.
Stages in order: dataset ① → prompt ② → backends ③ → cache ④ → parse ⑤ → score ⑥ → runfolder ⑦.
The run parts, pipeline, rescore, estimate, compose and cli compose the stages.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "evalkit"
STAGES = ["dataset", "prompt", "backends", "cache", "parse", "score", "runfolder"]
FOUNDATION = {"records", "errors", "config", "resources", "cost", "families", "structured",
              "redact", "registry"}  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("evalkit."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("evalkit.")}
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_no_later_stage(stage: str) -> None:
    allowed = FOUNDATION | set(STAGES[: STAGES.index(stage) + 1])
    for path in sorted((PACKAGE / stage).rglob("*.py")):
        wrong = _imports(path) - allowed
        assert not wrong, f"{path.relative_to(PACKAGE)} imports {sorted(wrong)}"


def test_the_foundation_imports_no_stage() -> None:
    for name in FOUNDATION - {"families"}:
        path = PACKAGE / f"{name}.py"
        assert not (_imports(path) & set(STAGES)), name
    for path in (PACKAGE / "families").rglob("*.py"):
        assert _imports(path) <= {"records", "errors", "families", "registry"}, path.name


def test_nothing_branches_on_a_task_kind() -> None:
    """Tasks say what they are with their parser and metrics; no code asks their kind."""
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        pattern = r"\b(task|spec)\.(kind|family)\s*(==|!=|is|in)\b|\bFamily\."
        assert not re.search(pattern, text), path

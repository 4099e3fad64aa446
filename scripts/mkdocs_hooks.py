"""MkDocs hooks (``mkdocs.yml``): the task table of ``docs/tasks.md`` from the task registry."""

from __future__ import annotations

from typing import Any

from evalkit.task_table import MARKER, markdown


def on_page_markdown(text: str, page: Any, **_: Any) -> str:
    """Put the generated table where a page holds the marker."""
    return text.replace(MARKER, markdown()) if MARKER in text else text

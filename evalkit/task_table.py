"""The task table of the docs, written from the task files themselves so it cannot go stale.

The docs site's build calls :func:`markdown` (``scripts/mkdocs_hooks.py``) where ``docs/tasks.md``
holds its marker; ``python -m evalkit.task_table`` prints the same table.
"""

from __future__ import annotations

from evalkit.config import TaskSpec

__all__ = ["MARKER", "markdown", "row"]

MARKER = "<!-- task-table: generated from the task registry when the site is built -->"
"""Where ``docs/tasks.md`` takes the table."""

_HEADER = ("task", "what it is", "data (Hugging Face)", "default split (rows)", "metrics (the "
           "leaderboard's first)", "prompt families", "breakdowns")  # fmt: skip


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def row(spec: TaskSpec) -> list[str]:
    """One task's cells, from its definition."""
    data = spec.dataset
    source = f"`{data.hf_id}`" + (f" (config `{data.hf_config}`)" if data.hf_config else "")
    source += f" @ `{data.revision[:8]}`" if data.revision else " (default branch)"
    if data.where:
        source += "; rows where " + ", ".join(
            f"`{k}` is {' or '.join(f'`{v}`' for v in vs)}" for k, vs in data.where.items()
        )
    rows = data.rows.get(data.split)
    split = f"{data.split} ({rows:,})" if rows is not None else data.split
    others = [s for s in data.splits if s != data.split]
    if others:
        split += "; also " + ", ".join(others)
    primary = spec.primary_metric()
    columns = [m.key for m in spec.metrics]
    metrics = [f"**{primary}**"] + [f"`{c}`" for c in columns if c != primary]
    families = ", ".join(sorted(spec.prompts, key=lambda f: (f != "default", f)))
    breakdowns = ", ".join(f"`{g}`" for g in spec.group_by)
    if spec.summary:
        breakdowns += ("; " if breakdowns else "") + f"summary `{spec.summary}`"
    return [f"`{spec.name}`", _cell(spec.description), source, split, ", ".join(metrics),
            families, breakdowns]  # fmt: skip


def markdown(specs: list[TaskSpec] | None = None) -> str:
    """The Markdown table of ``specs`` (default: every known task, by kind then name)."""
    if specs is None:
        from evalkit.compose.tasks import load_task, task_names

        specs = [load_task(name) for name in task_names()]
    specs = sorted(specs, key=lambda s: (s.kind, s.name))
    lines = ["| " + " | ".join(_HEADER) + " |", "|" + " --- |" * len(_HEADER)]
    lines += ["| " + " | ".join(row(spec)) + " |" for spec in specs]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")

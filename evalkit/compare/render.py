"""A comparison as a terminal table, as Markdown for a pull-request comment, or as JSON.

The JSON field names are stable (scripts read them): per metric ``task, metric, base, cand,
diff, ci_low, ci_high, p_value, p_adjusted, test, n_pairs, n_better, n_worse, significant,
gated, failed``; per task the pairing counts and the flipped samples; at the top the rule,
the verdict and the exit status.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from evalkit.compare.compare import Comparison, MetricDiff, TaskComparison

__all__ = ["METRIC_FIELDS", "p_text", "to_json", "to_markdown", "to_text", "verdict"]

METRIC_FIELDS = ("task", "metric", "base", "cand", "diff", "ci_low", "ci_high", "p_value",
                  "p_adjusted", "test", "n_pairs", "n_better", "n_worse", "significant", "gated",
                  "failed")  # fmt: skip


def _num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def p_text(value: float | None) -> str:
    """A p-value as the tables print it (scientific below 1e-4)."""
    if value is None:
        return "-"
    return f"{value:.2e}" if value < 1e-4 else f"{value:.4f}"


def verdict(comparison: Comparison) -> str:
    """One line: what the gate decided and why."""
    if not comparison.gate.fail_on_drop:
        return "result: compared (no gate)"
    if comparison.failures:
        worst = ", ".join(
            f"{m.task}/{m.metric} {_num(m.diff, True)} (p_adj {p_text(m.p_adjusted)})"
            for m in comparison.failures
        )
        return f"result: FAIL, significant drop: {worst}"
    return "result: PASS, no gated metric dropped significantly beyond its tolerance"


def _pairing_line(task: TaskComparison) -> str:
    p = task.pairing
    parts = [f"{len(p.ids)} pairs scored of {p.common} common samples"]
    if p.left_out:
        failed = []
        for side, counter in (("base", p.failed_base), ("candidate", p.failed_cand)):
            if counter:
                kinds = ", ".join(f"{k} {v}" for k, v in counter.most_common())
                failed.append(f"{side}: {kinds}")
        parts.append(f"{p.left_out} left out because a side failed ({'; '.join(failed)})")
    if p.only_base or p.only_cand:
        parts.append(f"only in base: {len(p.only_base)}, only in candidate: {len(p.only_cand)}")
    return "; ".join(parts)


def _flag(m: MetricDiff) -> str:
    return "FAIL" if m.failed else ("*" if m.significant else "")


def _rows(metrics: Sequence[MetricDiff]) -> list[tuple[str, ...]]:
    return [
        (m.task, m.metric, _num(m.base), _num(m.cand), _num(m.diff, True),
         f"[{_num(m.ci_low, True)}, {_num(m.ci_high, True)}]", p_text(m.p_value),
         p_text(m.p_adjusted) if m.gated else "-", m.test, str(m.n_pairs), str(m.n_better),
         str(m.n_worse), "yes" if m.gated else "no", _flag(m))
        for m in metrics
    ]  # fmt: skip


_HEADER = ("task", "metric", "base", "cand", "diff", "95% CI of diff", "p", "p (Holm)", "test",
           "pairs", "better", "worse", "gated", "")  # fmt: skip


def _clip(text: str | None, width: int) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _flip_lines(task: TaskComparison, width: int = 70) -> list[str]:
    if task.flip_metric is None:
        return []
    lines = [f"flips on {task.flip_metric}: {task.n_right_to_wrong} went down (right → wrong), "
             f"{task.n_wrong_to_right} went up (wrong → right)"]  # fmt: skip
    if task.worst:
        lines.append(f"the {len(task.worst)} worst:")
    for f in task.worst:
        lines.append(f"  {f.sample_id}  {_clip(f.question, width)}")
        lines.append(f"    base {_num(f.base_score)}: {_clip(f.base_answer, width)!r}")
        lines.append(f"    cand {_num(f.cand_score)}: {_clip(f.cand_answer, width)!r}")
        lines.append(f"    refs: {_clip(' | '.join(f.references), width)}")
    return lines


def to_text(comparison: Comparison) -> str:
    """The terminal report: the table, the pairing, the flips, the rule and the verdict."""
    rows = _rows(comparison.metrics)
    widths = [max(len(r[i]) for r in (_HEADER, *rows)) for i in range(len(_HEADER))]
    table = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in (_HEADER, *rows)]  # fmt: skip
    lines = []
    for task in comparison.tasks:
        lines.append(f"{task.task}: base {task.base_path} ({task.base_source})")
        lines.append(f"{' ' * len(task.task)}  cand {task.cand_path} ({task.cand_source})")
    lines += ["", *table, ""]
    lines.append("diff = candidate - base over the pairs; * significant at alpha "
                 f"{comparison.gate.alpha:g}")  # fmt: skip
    for task in comparison.tasks:
        lines.append(f"{task.task}: {_pairing_line(task)}")
        lines += [f"{task.task}: note: {n}" for n in task.notes]
    lines += [f"note: {n}" for n in comparison.notes]
    for task in comparison.tasks:
        flips = _flip_lines(task)
        if flips:
            lines += ["", f"{task.task}: " + flips[0], *flips[1:]]
    lines += ["", f"gate: {comparison.gate.rule(comparison.n_gated)}", verdict(comparison)]
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(comparison: Comparison, worst: int = 5) -> str:
    """Markdown for a pull-request comment: verdict, table, and the flips in a details block."""
    status = verdict(comparison).removeprefix("result: ")
    lines = [f"### evalkit compare: {status}", ""]
    header = ("task", "metric", "base", "cand", "diff", "95% CI", "p (Holm)", "test", "pairs",
              "better / worse", "")  # fmt: skip
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for m in comparison.metrics:
        p = m.p_adjusted if m.gated else m.p_value
        cells = (m.task, m.metric, _num(m.base), _num(m.cand), f"**{_num(m.diff, True)}**",
                 f"[{_num(m.ci_low, True)}, {_num(m.ci_high, True)}]",
                 p_text(p) + ("" if m.gated else " (not gated)"), m.test, str(m.n_pairs),
                 f"{m.n_better} / {m.n_worse}", "❌" if m.failed else ("⚠️" if m.significant
                                                                     else ""))  # fmt: skip
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    lines += ["", f"Gate: {comparison.gate.rule(comparison.n_gated)}.", ""]
    for task in comparison.tasks:
        lines.append(f"- **{task.task}**: {_pairing_line(task)}")
        lines += [f"  - {n}" for n in task.notes]
    for task in comparison.tasks:
        if task.flip_metric is None or not task.worst:
            continue
        lines += ["", f"<details><summary>{task.task}: {task.n_right_to_wrong} samples went "
                  f"down on {task.flip_metric}, {task.n_wrong_to_right} went up</summary>", "",
                  "| sample | question | base | candidate | references |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for f in task.worst[:worst]:
            flip = (f.sample_id, _clip(f.question, 80),
                     f"{_clip(f.base_answer, 40)} ({f.base_score:.2f})",
                     f"{_clip(f.cand_answer, 40)} ({f.cand_score:.2f})",
                     _clip(" / ".join(f.references), 60))  # fmt: skip
            lines.append("| " + " | ".join(_md_cell(c) for c in flip) + " |")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def to_json(comparison: Comparison) -> str:
    """The comparison as JSON (stable field names; see the module docstring)."""

    def task(t: TaskComparison) -> dict[str, Any]:
        p = t.pairing
        return {
            "task": t.task,
            "base_path": t.base_path,
            "cand_path": t.cand_path,
            "base_model": t.base_model,
            "cand_model": t.cand_model,
            "base_source": t.base_source,
            "cand_source": t.cand_source,
            "n_pairs": len(p.ids),
            "n_common": p.common,
            "n_left_out": p.left_out,
            "failed_base": dict(p.failed_base),
            "failed_cand": dict(p.failed_cand),
            "only_base": p.only_base,
            "only_cand": p.only_cand,
            "flip_metric": t.flip_metric,
            "n_right_to_wrong": t.n_right_to_wrong,
            "n_wrong_to_right": t.n_wrong_to_right,
            "worst": [vars(f) for f in t.worst],
            "best": [vars(f) for f in t.best],
            "notes": t.notes,
        }

    data = {
        "metrics": [{k: getattr(m, k) for k in METRIC_FIELDS} for m in comparison.metrics],
        "tasks": [task(t) for t in comparison.tasks],
        "gate": {
            "fail_on_drop": comparison.gate.fail_on_drop,
            "max_drop": comparison.gate.max_drop,
            "max_drop_by_metric": dict(comparison.gate.max_drop_by_metric),
            "alpha": comparison.gate.alpha,
            "n_gated": comparison.n_gated,
            "rule": comparison.gate.rule(comparison.n_gated),
        },
        "verdict": verdict(comparison).removeprefix("result: "),
        "exit_code": comparison.exit_code,
        "notes": comparison.notes,
    }
    return json.dumps(data, indent=2, ensure_ascii=False)

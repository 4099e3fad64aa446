"""``evalkit report RUN_DIR [CAND_DIR]``: one self-contained HTML page about a run.

The page holds its styles and images inline and fetches nothing; it has no JavaScript, so it
reads the same in a browser, a CI artifact viewer or an e-mail. Sections: the summary with
intervals (and a bar per metric), the per-group rows, cost and usage, errors by kind with an
example each, the worst samples with their image, question, prediction, references and score
(grounding boxes drawn over the image: gold green, predicted red), caption examples; with a
second run, the comparison table and the flipped samples.
"""

from __future__ import annotations

import contextlib
import html
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError
from evalkit.page.images import boxes_svg, sample_images, thumbnail
from evalkit.runfolder.read import RunFolder, read_run

__all__ = ["REPORT_NAME", "build_report", "report_name", "write_report"]

REPORT_NAME = "report.html"

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","WenQuanYi Micro Hei",
sans-serif;margin:24px auto;max-width:1180px;color:#1d2330;background:#fff;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
.sub{color:#5b6577;margin:0 0 12px}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{padding:4px 10px;text-align:left;border-bottom:1px solid #eef1f5;vertical-align:top}
th{background:#f5f7fa;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:14px}
.card{border:1px solid #dde2ea;border-radius:6px;padding:10px;background:#fbfcfe}
.card .thumb{display:block;max-width:100%;height:auto;border-radius:3px;margin-bottom:6px}
.k{color:#5b6577;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
.bad{color:#b2182b;font-weight:600}
.good{color:#1a7f37;font-weight:600}
.note{background:#fff8e1;border-left:3px solid #f0b400;padding:6px 10px;margin:8px 0}
code{font-size:12px;background:#f5f7fa;padding:1px 4px;border-radius:3px}
.legend span{display:inline-block;width:12px;height:3px;margin:0 4px 3px 10px;vertical-align:middle}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return _e(value)


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = ()
) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        ) + "</tr>"
        for row in rows
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _ci_bar(value: float | None, low: float | None, high: float | None, top: float) -> str:
    """A small horizontal bar with the interval as a whisker (inline SVG)."""
    if value is None or top <= 0:
        return ""
    width = 160

    def x(v: float) -> float:
        return max(0.0, min(width, v / top * width))

    parts = [f'<rect x="0" y="4" width="{x(value):.1f}" height="10" fill="#4c72b0"/>']
    if low is not None and high is not None:
        parts.append(f'<line x1="{x(low):.1f}" x2="{x(high):.1f}" y1="9" y2="9" '
                     'stroke="#1d2330" stroke-width="1.5"/>')  # fmt: skip
        for end in (low, high):
            parts.append(f'<line x1="{x(end):.1f}" x2="{x(end):.1f}" y1="5" y2="13" '
                         'stroke="#1d2330" stroke-width="1.5"/>')  # fmt: skip
    return (f'<svg width="{width}" height="18" role="img" aria-label="value with 95% interval">'
            + "".join(parts) + "</svg>")  # fmt: skip


def _summary_rows(run: RunFolder) -> list[dict[str, Any]]:

    from evalkit.runfolder.writer import read_parquet

    path = run.path / "summary.parquet"
    return read_parquet(path).to_pylist() if path.exists() else []


def _header(run: RunFolder, title: str) -> str:
    m = run.manifest
    counts = m.get("counts") or {}
    data = m.get("dataset") or {}
    timing = m.get("timing") or {}
    backend = m.get("backend") or {}
    facts = [
        ("model", backend.get("model")), ("answers", run.source),
        ("prompt family", (m.get("scoring") or {}).get("prompt_family")),
        ("data", f"{data.get('source')}: {Path(str(data.get('id'))).name} / {data.get('split')}"),
        ("samples", counts.get("samples")), ("failed", counts.get("failed")),
        ("started", timing.get("started")), ("run", m.get("run_id")),
    ]  # fmt: skip
    line = " · ".join(f"{_e(k)} <b>{_e(v)}</b>" for k, v in facts if v is not None)
    aborted = f'<p class="note">The run stopped early: {_e(m["aborted"])}</p>' if m.get(
        "aborted") else ""  # fmt: skip
    return f'<h1>{_e(title)}</h1><p class="sub">{line}</p>{aborted}'


def _summary(rows: list[dict[str, Any]]) -> str:
    metrics = [r for r in rows if r.get("kind", "metric") == "metric"]
    if not metrics:
        return "<h2>Summary</h2><p>No summary: the run did not finish.</p>"
    out = []
    for r in metrics:
        top = (
            1.0
            if (r["ci_high"] or r["value"] or 0) <= 1.0
            else max(r["ci_high"] or 0, r["value"] or 0) * 1.1
        )
        out.append([f"<b>{_e(r['metric'])}</b>", _num(r["value"]),
                    f"[{_num(r['ci_low'])}, {_num(r['ci_high'])}]",
                    _ci_bar(r["value"], r["ci_low"], r["ci_high"], top), str(r["n"]),
                    str(r["n_failed"])])  # fmt: skip
    table = _table(["metric", "value", "95% CI", "", "n", "failed"], out, numeric=(1, 2, 4, 5))
    return "<h2>Summary</h2>" + table


def _groups(rows: list[dict[str, Any]]) -> str:
    groups = [r for r in rows if r.get("kind") == "group"]
    if not groups:
        return ""
    out = ["<h2>Per group</h2>"]
    for field in dict.fromkeys(r["group_by"] for r in groups):
        members = [r for r in groups if r["group_by"] == field]
        body = [[_e(r["group"]), _e(r["metric"]), _num(r["value"]),
                 f"[{_num(r['ci_low'])}, {_num(r['ci_high'])}]", str(r["n"]), str(r["n_failed"])]
                for r in members]  # fmt: skip
        out.append(f"<p class=\"k\">by {_e(field)}</p>"
                   + _table([field, "metric", "value", "95% CI", "n", "failed"], body,
                            numeric=(2, 3, 4, 5)))  # fmt: skip
    return "".join(out)


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def _cost(run: RunFolder) -> str:
    m = run.manifest
    usage, cost, cache, timing = (m.get(k) or {} for k in ("usage", "cost", "cache", "timing"))
    latencies = [v for v in run.samples.column("latency_s").to_pylist() if v is not None]
    currency = cost.get("currency") or ""
    rows = [
        ["input tokens", _e(usage.get("input_tokens"))],
        ["output tokens", _e(usage.get("output_tokens"))],
        ["image tokens", _e(usage.get("image_tokens"))],
        ["cost", f"{_num(cost.get('spent'), 6)} {_e(currency)}" if cost.get("spent") is not None
         else "no price for this model"],
        ["saved by the cache", f"{_num(cost.get('saved'), 6)} {_e(currency)}"
         if cost.get("saved") is not None else "–"],
        ["cache hits / misses", f"{_e(cache.get('hits'))} / {_e(cache.get('misses'))}"],
        ["wall time", f"{_num(timing.get('wall_s'), 2)} s"],
        ["samples per second", _num(timing.get("samples_per_s"), 1)],
        ["latency p50 / p90 / p99", " / ".join(_num(_quantile(latencies, q), 3)
                                              for q in (0.5, 0.9, 0.99)) + " s"],
    ]  # fmt: skip
    return "<h2>Cost and usage</h2>" + _table(["", ""], rows, numeric=(1,))


def _errors(run: RunFolder) -> str:
    table = run.samples
    types = table.column("error_type").to_pylist()
    if not any(types):
        return "<h2>Errors</h2><p>No sample failed.</p>"
    ids = table.column("sample_id").to_pylist()
    messages = table.column("error").to_pylist()
    counts = Counter(t for t in types if t)
    example = {}
    for sid, kind, message in zip(ids, types, messages, strict=True):
        if kind and kind not in example:
            example[kind] = (sid, message)
    rows = [[f"<b>{_e(k)}</b>", str(n), _e(example[k][0]), _e(example[k][1])]
            for k, n in counts.most_common()]  # fmt: skip
    note = "<p>Failed samples are rows with their error; they are counted, never scored.</p>"
    return "<h2>Errors</h2>" + note + _table(["error type", "samples", "example sample",
                                               "message"], rows, numeric=(1,))  # fmt: skip


def _score_column(run: RunFolder) -> str | None:
    columns = [str(m.get("column") or m["name"]) for m in run.metrics]
    columns = [c for c in columns if c in run.samples.schema.names]
    if "CIDEr" in columns:
        return "CIDEr"
    return columns[0] if columns else None


def _card(row: dict[str, Any], picture: str, lines: Sequence[tuple[str, str]]) -> str:
    body = "".join(f'<div><span class="k">{_e(k)}</span> {v}</div>' for k, v in lines)
    return f'<div class="card">{picture}<div><b>{_e(row["sample_id"])}</b></div>{body}</div>'


def _picture(row: dict[str, Any], images: dict[str, Any]) -> str:
    image = images.get(str(row["sample_id"]))
    thumb = thumbnail(image) if image is not None else None
    if thumb is None:
        return ""
    if row.get("gold_box") or row.get("pred_box"):
        return boxes_svg(thumb, gold=row.get("gold_box"), predicted=row.get("pred_box"))
    return (f'<img class="thumb" src="{thumb.url}" width="{thumb.width}" '
            f'height="{thumb.height}" alt="image of sample {_e(row["sample_id"])}">')  # fmt: skip


def _refs(row: dict[str, Any]) -> str:
    refs = [str(r) for r in (row.get("references") or [])]
    shown = " | ".join(refs[:6]) + (f" (+{len(refs) - 6} more)" if len(refs) > 6 else "")
    return _e(shown)


def _sample_cards(run: RunFolder, rows: list[dict[str, Any]], images: dict[str, Any],
                  column: str | None) -> str:  # fmt: skip
    cards = []
    for row in rows:
        lines = [("question", _e(row.get("prompt"))), ("prediction", _e(row.get("prediction")))]
        if row.get("parsed") not in (None, row.get("prediction")):
            lines.append(("read as", _e(row.get("parsed"))))
        lines.append(("references", _refs(row)))
        if column is not None:
            lines.append((column, f"<b>{_num(row.get(column))}</b>"))
        cards.append(_card(row, _picture(row, images), lines))
    return '<div class="cards">' + "".join(cards) + "</div>"


def _legend(rows: list[dict[str, Any]]) -> str:
    if not any(r.get("gold_box") for r in rows):
        return ""
    return ('<p class="legend">boxes: <span style="background:#1a9850"></span>gold '
            '<span style="background:#d73027"></span>predicted</p>')  # fmt: skip


def _worst(answered: list[dict[str, Any]], column: str | None,
           count: int) -> list[dict[str, Any]]:  # fmt: skip
    """The ``count`` lowest-scoring answered rows on ``column``, lowest first."""
    if column is None:
        return []
    return sorted(answered, key=lambda r: (r.get(column) is None, r.get(column) or 0.0))[:count]


def build_report(run_dir: Path, cand_dir: Path | None = None, *, worst: int = 12) -> str:
    """The HTML page of ``run_dir`` (and of its comparison with ``cand_dir``)."""
    run = read_run(run_dir)
    cand = read_run(cand_dir) if cand_dir is not None else None
    title = f"evalkit report: {run.task}" + (" (base vs candidate)" if cand else "")
    every = run.samples.to_pylist()
    answered = [r for r in every if r.get("error_type") is None]
    column = _score_column(run)
    chosen = _worst(answered, column, worst)
    captions = [r for r in answered if (run.manifest.get("scoring") or {}).get("parser")
                == "caption"][:6]  # fmt: skip
    comparison = None
    if cand is not None:
        from evalkit.compare import Gate, Options, compare_runs

        comparison = compare_runs({run.task: run}, {cand.task: cand}, gate=Gate(),
                                  options=Options(worst=worst))  # fmt: skip
    flip_ids = {f.sample_id for t in (comparison.tasks if comparison else []) for f in t.worst}
    wanted = {str(r["sample_id"]) for r in (*chosen, *captions)} | flip_ids
    images, note = sample_images(run, wanted)
    rows = _summary_rows(run)
    parts = [_header(run, title)]
    if note:
        parts.append(f'<p class="note">{_e(note)}</p>')
    parts += [_summary(rows), _groups(rows), _cost(run), _errors(run)]
    if chosen:
        parts.append(f"<h2>The {len(chosen)} lowest-scoring samples (by {_e(column)})</h2>"
                     + _legend(chosen) + _sample_cards(run, chosen, images, column))  # fmt: skip
    if captions:
        parts.append("<h2>Caption examples</h2>" + _sample_cards(run, captions, images, column))
    if comparison is not None and cand is not None:
        by_id = {str(r["sample_id"]): r for r in every}
        parts.append(_comparison(comparison, cand, by_id, images))
    body = "".join(parts)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>{body}"
        '<p class="sub">Made by <code>evalkit report</code>; self-contained, nothing fetched.</p>'
        "</body></html>\n"
    )


def _comparison(comparison: Any, cand: RunFolder, by_id: dict[str, dict[str, Any]],
                images: dict[str, Any]) -> str:  # fmt: skip
    """The comparison table and the flipped samples; ``by_id``: the base run's rows."""
    from evalkit.compare.render import p_text as _p
    from evalkit.compare.render import verdict

    out = [f"<h2>Compared with {_e(cand.model)}</h2>",
           f'<p class="sub">candidate run {_e(cand.manifest.get("run_id"))} at '
           f"<code>{_e(cand.path)}</code>; answers: {_e(cand.source)}</p>"]  # fmt: skip
    rows = []
    for m in comparison.metrics:
        css = "bad" if (m.diff or 0) < 0 and m.significant else (
            "good" if (m.diff or 0) > 0 and m.significant else "")  # fmt: skip
        diff = f'<span class="{css}">{_num(m.diff)}</span>' if css else _num(m.diff)
        rows.append([_e(m.metric), _num(m.base), _num(m.cand), diff,
                     f"[{_num(m.ci_low)}, {_num(m.ci_high)}]", _p(m.p_value),
                     _e(m.test), str(m.n_pairs), f"{m.n_better} / {m.n_worse}"])  # fmt: skip
    out.append(_table(["metric", "base", "candidate", "diff", "95% CI of diff", "p", "test",
                       "pairs", "better / worse"], rows, numeric=(1, 2, 3, 4, 5, 7)))  # fmt: skip
    out.append(f"<p>{_e(verdict(comparison))}</p>")
    for task in comparison.tasks:
        out.append(f"<p>{_e(task.n_right_to_wrong)} samples went down on "
                   f"{_e(task.flip_metric)}, {_e(task.n_wrong_to_right)} went up.</p>")  # fmt: skip
        cards = []
        for f in task.worst:
            row = by_id.get(f.sample_id, {"sample_id": f.sample_id})
            lines = [("question", _e(f.question)),
                     ("base", f"{_e(f.base_answer)} <b>({_num(f.base_score, 2)})</b>"),
                     ("candidate", f"{_e(f.cand_answer)} <b>({_num(f.cand_score, 2)})</b>"),
                     ("references", _e(" | ".join(f.references[:6])))]  # fmt: skip
            cards.append(_card(row, _picture({**row, "pred_box": None}, images), lines))
        if cards:
            out.append("<h2>Flipped samples (worst first)</h2><div class=\"cards\">"
                       + "".join(cards) + "</div>")  # fmt: skip
    return "".join(out)


def report_name(cand_dir: Path | None = None) -> str:
    """The page's file name: ``report.html``, or ``report-vs-<CAND folder>.html`` for two runs.

    So a comparison never overwrites the run's own page.

    >>> report_name(), report_name(Path("results/docvqa/openai/20261203-101500"))
    ('report.html', 'report-vs-20261203-101500.html')
    """
    return REPORT_NAME if cand_dir is None else f"report-vs-{cand_dir.resolve().name}.html"


def write_report(run_dir: Path, cand_dir: Path | None = None, out: Path | None = None) -> Path:
    """Write the page: ``RUN_DIR/report.html`` (two runs: ``RUN_DIR/report-vs-CAND.html``).

    Into ``out`` instead when given (a file, or a folder to write that name in).

    A place that cannot be written is one line; nothing half-written is left there.
    """
    target = out or run_dir / report_name(cand_dir)
    if target.is_dir():
        target = target / report_name(cand_dir)
    page = build_report(run_dir, cand_dir)
    tmp = target.with_name(target.name + ".tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise ConfigError(
            f"report: cannot write {target} ({exc.strerror or exc}); choose another place "
            "with -o FILE"
        ) from exc
    return target

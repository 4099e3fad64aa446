"""``evalkit report RUN_DIR [CAND_DIR]``: one self-contained HTML page about a run, or two.

The page holds its styles, images and one small script inline and fetches nothing, so it opens
offline, in a CI artifact viewer or from an e-mail. Sections, each linked from the contents:
the summary (every metric with its 95% interval drawn on a labelled axis; with a candidate,
both runs on one axis and their difference), a histogram of the per-sample scores, the
per-group pivot (groups × metrics; both runs and the difference when comparing), cost and
usage with the price's currency, errors by kind with an example, the lowest-scoring samples
(ties broken on a continuous score, one per item first: :mod:`evalkit.page.choose`), caption
examples, the comparison (its table, the samples that went down and those that went up), and
every sample in a collapsed list with a text filter (the script; ``#q=TEXT`` in the page's
address fills the filter).
"""

from __future__ import annotations

import contextlib
import html
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError
from evalkit.page.charts import BASE, CAND, histogram_svg, interval_svg
from evalkit.page.choose import question_text, worst_samples
from evalkit.page.images import boxes_svg, sample_images, thumbnail
from evalkit.runfolder.read import RunFolder, read_run

__all__ = [
    "ALL_SAMPLES_CAP",
    "REPORT_NAME",
    "build_report",
    "report_name",
    "worst_cards",
    "write_report",
]

REPORT_NAME = "report.html"
ALL_SAMPLES_CAP = 5000
"""The all-samples list holds at most this many rows (the rest are in ``samples.parquet``)."""

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","WenQuanYi Micro Hei",
sans-serif;margin:24px auto;max-width:1180px;color:#1d2330;background:#fff;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
.sub{color:#5b6577;margin:0 0 6px}
.run{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
nav.toc{background:#f5f7fa;border:1px solid #dde2ea;border-radius:6px;padding:6px 12px;
margin:12px 0}
nav.toc a{margin-right:14px;color:#24539e;text-decoration:none}
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
details.all summary{cursor:pointer;font-weight:600;margin:6px 0}
details.all input{font:inherit;padding:3px 6px;width:320px;margin:6px 0}
details.all td{max-width:380px;overflow-wrap:anywhere}
"""

# The page's one script: the all-samples filter (any text of a row; ``#q=TEXT`` fills it).
_SCRIPT = """
(function(){var box=document.getElementById('filter');if(!box)return;
var rows=document.querySelectorAll('#all-samples tbody tr');
var shown=document.getElementById('shown');
function apply(){var q=box.value.toLowerCase();var n=0;
for(var i=0;i<rows.length;i++){var hit=rows[i].textContent.toLowerCase().indexOf(q)>=0;
rows[i].hidden=!hit;if(hit)n++;}shown.textContent=n;}
box.addEventListener('input',apply);var m=/[#&]q=([^&]*)/.exec(location.hash);
if(m){box.value=decodeURIComponent(m[1]);document.getElementById('all').open=true;apply();}})();
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


def _plural(n: int, word: str) -> str:
    """``1 sample``, ``2 samples``, ``0 samples``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = (),
    *, table_id: str | None = None,
) -> str:  # fmt: skip
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        ) + "</tr>"
        for row in rows
    )  # fmt: skip
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(ident: str, title: str, body: str) -> tuple[str, str, str]:
    return ident, title, f'<h2 id="{ident}">{_e(title)}</h2>{body}'


def _summary_rows(run: RunFolder) -> list[dict[str, Any]]:
    from evalkit.runfolder.writer import read_parquet

    path = run.path / "summary.parquet"
    return read_parquet(path).to_pylist() if path.exists() else []


def _score_column(run: RunFolder) -> str | None:
    """The per-sample column the page ranks and plots: the primary metric's, if a column."""
    columns = _metric_columns(run)
    primary = run.primary_metric
    if primary in columns:
        return primary
    return columns[0] if columns else None


def _facts(run: RunFolder) -> str:
    m = run.manifest
    counts = m.get("counts") or {}
    data = m.get("dataset") or {}
    timing = m.get("timing") or {}
    facts = [
        ("model", run.model), ("answers", run.source),
        ("prompt family", run.scoring.get("prompt_family")),
        ("data", f"{data.get('source')}: {Path(str(data.get('id'))).name} / {data.get('split')}"),
        ("samples", counts.get("samples")), ("failed", counts.get("failed")),
        ("started", timing.get("started")), ("run", m.get("run_id")),
    ]  # fmt: skip
    return " · ".join(f"{_e(k)} <b>{_e(v)}</b>" for k, v in facts if v is not None)


def _header(run: RunFolder, cand: RunFolder | None) -> str:
    if cand is None:
        title = f"evalkit report: {run.task}, {run.model}"
        lines = f'<p class="sub">{_facts(run)}</p>'
    else:
        title = f"evalkit report: {run.task}, {run.model} (base) vs {cand.model} (candidate)"
        lines = "".join(
            f'<p class="sub"><span class="run" style="background:{colour}"></span>'
            f"<b>{label}</b> <code>{_e(r.path.name)}</code> · {_facts(r)}</p>"
            for label, r, colour in (("base", run, BASE), ("candidate", cand, CAND))
        )
    notes = "".join(
        f'<p class="note">The {label} run stopped early: {_e(r.manifest["aborted"])}</p>'
        for label, r in (("base", run), ("candidate", cand))
        if r is not None and r.manifest.get("aborted")
    )
    return f"<h1>{_e(title)}</h1>{lines}{notes}"


def _bounds(rows: Sequence[dict[str, Any]]) -> tuple[float, float] | None:
    """A share's axis stops at 0 and 1; other metrics (CIDEr, MME's totals) are open."""
    values = [v for r in rows for v in (r.get("value"), r.get("ci_high")) if v is not None]
    return (0.0, 1.0) if values and all(0 <= v <= 1 for v in values) else None


def _summary(rows: list[dict[str, Any]], primary: str | None,
             cand_rows: list[dict[str, Any]] | None) -> str:  # fmt: skip
    metrics = [r for r in rows if r.get("kind", "metric") == "metric"]
    if not metrics:
        return "<p>No summary: the run did not finish.</p>"
    metrics.sort(key=lambda r: r["metric"] != primary)  # the primary metric first
    other = {r["metric"]: r for r in (cand_rows or []) if r.get("kind", "metric") == "metric"}
    out = []
    for r in metrics:
        name = f"<b>{_e(r['metric'])}</b>" + (" <span class=\"k\">primary</span>"
                                              if r["metric"] == primary else "")  # fmt: skip
        ci = f"[{_num(r['ci_low'])}, {_num(r['ci_high'])}]"
        if cand_rows is None:
            axis = interval_svg([(r["value"], r["ci_low"], r["ci_high"], BASE)],
                                bounds=_bounds([r]))  # fmt: skip
            out.append([name, _num(r["value"]), ci, axis, str(r["n"]), str(r["n_failed"])])
            continue
        c = other.get(r["metric"], {})
        diff = (c["value"] - r["value"]) if c.get("value") is not None and r["value"] is not None \
            else None  # fmt: skip
        axis = interval_svg([(r["value"], r["ci_low"], r["ci_high"], BASE),
                             (c.get("value"), c.get("ci_low"), c.get("ci_high"), CAND)],
                            bounds=_bounds([r, c]))  # fmt: skip
        out.append([name, _num(r["value"]), ci, _num(c.get("value")),
                    f"[{_num(c.get('ci_low'))}, {_num(c.get('ci_high'))}]", _num(diff), axis,
                    f"{r['n']} / {c.get('n', '–')}"])  # fmt: skip
    if cand_rows is None:
        return _table(["metric", "value", "95% CI", "on its axis", "n", "failed"], out,
                      numeric=(1, 2, 4, 5))  # fmt: skip
    return _table(["metric", "base", "base 95% CI", "candidate", "candidate 95% CI", "diff",
                   "both on one axis (base blue, candidate orange)", "n (base / cand)"], out,
                  numeric=(1, 2, 3, 4, 5, 7))  # fmt: skip


def _histogram(runs: Sequence[tuple[str, RunFolder, str]], column: str | None) -> str:
    if column is None:
        return ""
    series = []
    for label, run, colour in runs:
        if column not in run.samples.schema.names:
            continue
        values = [float(v) for v in run.samples.column(column).to_pylist() if v is not None]
        series.append((f"{label} ({_plural(len(values), 'sample')})", values, colour))
    chart = histogram_svg(series)
    if not chart:
        return ""
    return f"<p>Per-sample <code>{_e(column)}</code>, answered samples only.</p>{chart}"


def _groups(rows: list[dict[str, Any]], primary: str | None,
            cand_rows: list[dict[str, Any]] | None) -> str:  # fmt: skip
    """One pivot per grouping: its groups down, the metrics across (both runs and diff)."""
    groups = [r for r in rows if r.get("kind") == "group"]
    if not groups:
        return ""
    other = {(r["group_by"], r["group"], r["metric"]): r
             for r in (cand_rows or []) if r.get("kind") == "group"}  # fmt: skip
    out = []
    for field in dict.fromkeys(r["group_by"] for r in groups):
        members = [r for r in groups if r["group_by"] == field]
        metrics = list(dict.fromkeys(r["metric"] for r in members))
        metrics.sort(key=lambda m: m != primary)
        cells = {(r["group"], r["metric"]): r for r in members}
        header = [field, "n"]
        for m in metrics:
            header += [m] if cand_rows is None else [f"{m} base", f"{m} cand", f"{m} diff"]
        body = []
        for group in dict.fromkeys(r["group"] for r in members):
            n = next(r["n"] for r in members if r["group"] == group)
            line = [_e(group), str(n)]
            for m in metrics:
                mine = cells.get((group, m), {}).get("value")
                if cand_rows is None:
                    line.append(_num(mine))
                    continue
                theirs = other.get((field, group, m), {}).get("value")
                diff = theirs - mine if mine is not None and theirs is not None else None
                css = "bad" if (diff or 0) < 0 else "good" if (diff or 0) > 0 else ""
                line += [
                    _num(mine),
                    _num(theirs),
                    f'<span class="{css}">{_num(diff)}</span>' if css else _num(diff),
                ]
            body.append(line)
        numeric = tuple(range(1, len(header)))
        out.append(f'<p class="k">by {_e(field)}</p>' + _table(header, body, numeric=numeric))
    return "".join(out)


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def _cost_column(run: RunFolder) -> list[str]:
    m = run.manifest
    usage, cost, cache, timing = (m.get(k) or {} for k in ("usage", "cost", "cache", "timing"))
    table = run.samples
    hits = table.column("cache_hit").to_pylist() if "cache_hit" in table.schema.names else []
    latencies = [v for v, hit in zip(table.column("latency_s").to_pylist(),
                                     hits or [False] * table.num_rows, strict=True)
                 if v is not None and not hit]  # fmt: skip
    currency = cost.get("currency")
    samples = (m.get("counts") or {}).get("samples") or 0

    def money(value: Any) -> str:
        if value is None:
            return "–"
        return f"{_num(value, 6)} {_e(currency)}" if currency else _num(value, 6)

    image = usage.get("image_tokens")
    return [
        _e(usage.get("input_tokens")),
        _e(usage.get("output_tokens")),
        _e(image) if image else "not reported by this backend",
        money(cost.get("spent")) if cost.get("spent") is not None else "no price for this model",
        money(cost["spent"] / samples) if cost.get("spent") is not None and samples else "–",
        money(cost.get("saved")),
        f"{_e(cache.get('hits'))} / {_e(cache.get('misses'))}",
        f"{_num(timing.get('wall_s'), 2)} s",
        _num(timing.get("samples_per_s"), 1),
        " / ".join(_num(_quantile(latencies, q), 3) for q in (0.5, 0.9, 0.99)) + " s",
    ]


_COST_ROWS = ("input tokens", "output tokens", "image tokens", "cost", "cost per sample",
              "saved by the cache", "cache hits / misses", "wall time", "samples per second",
              "latency p50 / p90 / p99 (sent, not cached)")  # fmt: skip


def _cost(run: RunFolder, cand: RunFolder | None) -> str:
    columns = [_cost_column(run)] + ([_cost_column(cand)] if cand is not None else [])
    rows = [[label, *(c[i] for c in columns)] for i, label in enumerate(_COST_ROWS)]
    header = ["", "base", "candidate"] if cand is not None else ["", ""]
    return _table(header, rows, numeric=tuple(range(1, len(header))))


def _errors(runs: Sequence[tuple[str, RunFolder, str]]) -> str:
    rows = []
    for label, run, _ in runs:
        table = run.samples
        types = table.column("error_type").to_pylist()
        ids = table.column("sample_id").to_pylist()
        messages = table.column("error").to_pylist()
        counts = Counter(t for t in types if t)
        example = {}
        for sid, kind, message in zip(ids, types, messages, strict=True):
            if kind and kind not in example:
                example[kind] = (sid, message)
        for k, n in counts.most_common():
            rows.append(
                ([_e(label)] if len(runs) > 1 else [])
                + [f"<b>{_e(k)}</b>", str(n), _e(example[k][0]), _e(example[k][1])]
            )
    if not rows:
        return "<p>No sample failed.</p>"
    note = "<p>Failed samples are rows with their error; they are counted, never scored.</p>"
    header = (["run"] if len(runs) > 1 else []) + ["error type", "samples", "example sample",
                                                   "message"]  # fmt: skip
    return note + _table(header, rows, numeric=(2,) if len(runs) > 1 else (1,))


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


def _refs(refs: Sequence[Any] | None, most: int = 6) -> str:
    texts = [str(r) for r in (refs or [])]
    shown = " | ".join(texts[:most]) + (f" (+{len(texts) - most} more)" if len(texts) > most
                                        else "")  # fmt: skip
    return _e(shown)


def _sample_cards(rows: list[dict[str, Any]], images: dict[str, Any],
                  columns: Sequence[str]) -> str:  # fmt: skip
    cards = []
    for row in rows:
        lines = []
        if question_text(row):
            lines.append(("question", _e(question_text(row))))
        lines.append(("prediction", _e(row.get("prediction"))))
        if row.get("parsed") not in (None, row.get("prediction")):
            lines.append(("read as", _e(row.get("parsed"))))
        lines.append(("references", _refs(row.get("references"))))
        for column in columns:
            if row.get(column) is not None:
                lines.append((column, f"<b>{_num(row.get(column))}</b>"))
        cards.append(_card(row, _picture(row, images), lines))
    return '<div class="cards">' + "".join(cards) + "</div>"


def _legend(rows: list[dict[str, Any]]) -> str:
    if not any(r.get("gold_box") for r in rows):
        return ""
    return ('<p class="legend">boxes: <span style="background:#1a9850"></span>gold '
            '<span style="background:#d73027"></span>predicted</p>')  # fmt: skip


def _flip_cards(flips: Sequence[Any], by_id: dict[str, dict[str, Any]],
                images: dict[str, Any]) -> str:  # fmt: skip
    cards = []
    for f in flips:
        row = by_id.get(f.sample_id, {"sample_id": f.sample_id})
        lines = [("question", _e(f.question)),
                 ("base", f"{_e(f.base_answer)} <b>({_num(f.base_score, 2)})</b>"),
                 ("candidate", f"{_e(f.cand_answer)} <b>({_num(f.cand_score, 2)})</b>"),
                 ("references", _refs(f.references))]  # fmt: skip
        cards.append(_card(row, _picture({**row, "pred_box": None}, images), lines))
    return '<div class="cards">' + "".join(cards) + "</div>"


def _comparison(comparison: Any, by_id: dict[str, dict[str, Any]],
                images: dict[str, Any]) -> str:  # fmt: skip
    """The comparison table and the samples that went down and up; ``by_id``: the base's rows."""
    from evalkit.compare.render import p_text as _p
    from evalkit.compare.render import verdict

    rows = []
    for m in comparison.metrics:
        css = "bad" if (m.diff or 0) < 0 and m.significant else (
            "good" if (m.diff or 0) > 0 and m.significant else "")  # fmt: skip
        diff = f'<span class="{css}">{_num(m.diff)}</span>' if css else _num(m.diff)
        rows.append([_e(m.metric), _num(m.base), _num(m.cand), diff,
                     f"[{_num(m.ci_low)}, {_num(m.ci_high)}]",
                     interval_svg([(m.diff, m.ci_low, m.ci_high, CAND)], width=220),
                     _p(m.p_value), _e(m.test), str(m.n_pairs),
                     f"{m.n_better} / {m.n_worse}"])  # fmt: skip
    out = [_table(["metric", "base", "candidate", "diff", "95% CI of diff", "the diff on its axis",
                   "p", "test", "pairs", "better / worse"], rows,
                  numeric=(1, 2, 3, 4, 6, 8))]  # fmt: skip
    out.append(f"<p>{_e(verdict(comparison))}</p>")
    for task in comparison.tasks:
        down, up = task.n_right_to_wrong, task.n_wrong_to_right
        out.append(f"<p>{_plural(down, 'sample')} went down on {_e(task.flip_metric)}, "
                   f"{_plural(up, 'sample')} went up.</p>")  # fmt: skip
        if task.worst:
            out.append(f"<h3>Went down ({_plural(len(task.worst), 'sample')} shown, the largest "
                       "drop first)</h3>" + _flip_cards(task.worst, by_id, images))  # fmt: skip
        if task.best:
            out.append(f"<h3>Went up ({_plural(len(task.best), 'sample')} shown, the largest "
                       "rise first)</h3>" + _flip_cards(task.best, by_id, images))  # fmt: skip
    return "".join(out)


def _all_samples(every: list[dict[str, Any]], column: str | None,
                 cand: RunFolder | None) -> str:  # fmt: skip
    """Every sample in a collapsed table with a filter; the candidate's answer beside each."""
    theirs: dict[str, dict[str, Any]] = {}
    if cand is not None:
        theirs = {str(r["sample_id"]): r for r in cand.samples.to_pylist()}
    shown = every[:ALL_SAMPLES_CAP]
    header = ["sample", "question", "prediction", "references", column or "score", "error"]
    if cand is not None:
        header = [*header[:3], "candidate", *header[3:5], f"{column or 'score'} (cand)",
                  header[5]]  # fmt: skip
    body = []
    for row in shown:
        error = _e(row.get("error_type")) + (f": {_e(row.get('error'))}" if row.get("error")
                                             else "")  # fmt: skip
        line = [_e(row["sample_id"]), _e(question_text(row)), _e(row.get("prediction"))]
        score = _num(row.get(column)) if column else "–"
        if cand is None:
            line += [_refs(row.get("references"), 3), score, error]
        else:
            other = theirs.get(str(row["sample_id"]), {})
            if other.get("error_type"):
                error += ("; " if error else "") + f"candidate: {_e(other['error_type'])}"
            line += [_e(other.get("prediction")), _refs(row.get("references"), 3), score,
                     _num(other.get(column)) if column else "–", error]  # fmt: skip
        body.append(line)
    more = (f" (the first {len(shown):,} of {len(every):,}; every row is in samples.parquet)"
            if len(every) > len(shown) else "")  # fmt: skip
    return (f'<details class="all" id="all"><summary>Show all {_plural(len(every), "sample")}'
            f"{more}</summary>"
            '<label>Filter: <input id="filter" type="search" placeholder="any text of a row">'
            f'</label> <span class="k"><span id="shown">{len(shown)}</span> shown</span>'
            + _table(header, body, table_id="all-samples") + "</details>")  # fmt: skip


def _choose_worst(
    run: RunFolder, every: list[dict[str, Any]], count: int, also: set[str]
) -> tuple[list[dict[str, Any]], dict[str, Any], str | None]:
    """The worst ``count`` answered rows, and the images of those and of ``also``'s ids.

    The worst few times over are taken on the score and its tie-breaks, their images read, and
    the ``count`` chosen from them showing each image once before any twice.
    """
    column = _score_column(run)
    columns = _metric_columns(run)
    answered = [r for r in every if r.get("error_type") is None]
    pool = worst_samples(answered, column, columns, max(60, 5 * count))
    images, note = sample_images(run, {str(r["sample_id"]) for r in pool} | also)

    def image_of(row: dict[str, Any]) -> str:
        image = images.get(str(row["sample_id"]))
        if image is not None and image.data:
            return image.sha256
        return str(row["sample_id"]).split("#", 1)[0]

    return worst_samples(pool, column, columns, count, item=image_of), images, note


def _metric_columns(run: RunFolder) -> list[str]:
    return [c for c in (str(m.get("column") or m["name"]) for m in run.metrics)
            if c in run.samples.schema.names]  # fmt: skip


def worst_cards(run_dir: Path, count: int = 6) -> tuple[Any, str]:
    """A run's worst samples as the report shows them, for a notebook.

    A frame of their rows, and the cards (with the page's styles) as an HTML fragment.
    """
    import pandas as pd

    run = read_run(run_dir)
    chosen, images, note = _choose_worst(run, run.samples.to_pylist(), count, set())
    column = _score_column(run)
    shown = list(dict.fromkeys(c for c in (column, *_metric_columns(run)) if c))[:2]
    frame = pd.DataFrame([{"sample_id": r["sample_id"], "question": question_text(r),
                           "prediction": r.get("prediction"), "references": r.get("references"),
                           **{c: r.get(c) for c in shown}} for r in chosen])  # fmt: skip
    fragment = (f"<style>{_CSS.replace('body{', '.evalkit-cards{')}</style>"
                f'<div class="evalkit-cards"><p class="sub">{_e(run.task)}, {_e(run.model)}: '
                f"the {len(chosen)} lowest-scoring samples (by {_e(column)})</p>"
                + (f'<p class="note">{_e(note)}</p>' if note else "") + _legend(chosen)
                + _sample_cards(chosen, images, shown) + "</div>")  # fmt: skip
    return frame, fragment


def build_report(run_dir: Path, cand_dir: Path | None = None, *, worst: int = 12) -> str:
    """The HTML page of ``run_dir`` (and of its comparison with ``cand_dir``)."""
    run = read_run(run_dir)
    cand = read_run(cand_dir) if cand_dir is not None else None
    runs = [("base" if cand else run.model, run, BASE)] + (
        [("candidate", cand, CAND)] if cand else [])  # fmt: skip
    every = run.samples.to_pylist()
    answered = [r for r in every if r.get("error_type") is None]
    column = _score_column(run)
    metric_columns = _metric_columns(run)
    captions = [r for r in answered if run.scoring.get("parser") == "caption"][:6]
    comparison = None
    if cand is not None:
        from evalkit.compare import Gate, Options, compare_runs

        comparison = compare_runs({run.task: run}, {cand.task: cand}, gate=Gate(),
                                  options=Options(worst=worst))  # fmt: skip
    flip_ids = {f.sample_id for t in (comparison.tasks if comparison else [])
                for f in (*t.worst, *t.best)}  # fmt: skip
    also = {str(r["sample_id"]) for r in captions} | flip_ids
    chosen, images, note = _choose_worst(run, every, worst, also)
    rows = _summary_rows(run)
    cand_rows = _summary_rows(cand) if cand is not None else None
    primary = run.primary_metric
    shown_columns = [c for c in (column, *metric_columns) if c][:2]
    sections = [_section("summary", "Summary", _summary(rows, primary, cand_rows))]
    histogram = _histogram(runs, column)
    if histogram:
        sections.append(_section("scores", "Score distribution", histogram))
    groups = _groups(rows, primary, cand_rows)
    if groups:
        sections.append(_section("groups", "Per group", groups))
    sections.append(_section("cost", "Cost and usage", _cost(run, cand)))
    sections.append(_section("errors", "Errors", _errors(runs)))
    if chosen:
        sections.append(_section("worst", f"The {len(chosen)} lowest-scoring samples (by "
                                 f"{column})", _legend(chosen)
                                 + _sample_cards(chosen, images, list(dict.fromkeys(
                                     shown_columns)))))  # fmt: skip
    if captions:
        sections.append(
            _section(
                "captions",
                "Caption examples",
                _sample_cards(captions, images, [c for c in (column,) if c]),
            )
        )
    if comparison is not None and cand is not None:
        by_id = {str(r["sample_id"]): r for r in every}
        sections.append(_section("comparison", f"Compared with {cand.model}",
                                 _comparison(comparison, by_id, images)))  # fmt: skip
    sections.append(_section("samples", "All samples", _all_samples(every, column, cand)))
    toc = (
        '<nav class="toc"><b>Contents</b> '
        + "".join(f'<a href="#{i}">{_e(t)}</a>' for i, t, _ in sections)
        + "</nav>"
    )
    head = _header(run, cand)
    if note:
        head += f'<p class="note">{_e(note)}</p>'
    body = head + toc + "".join(part for _, _, part in sections)
    title = f"evalkit report: {run.task}" + (f", {run.model} vs {cand.model}" if cand else "")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>{body}"
        '<p class="sub">Made by <code>evalkit report</code>; self-contained, nothing fetched.</p>'
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


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

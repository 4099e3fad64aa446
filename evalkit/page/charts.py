"""The report's small inline SVG charts: intervals on a labelled axis, and a score histogram.

Each chart is one ``<svg>`` element with its own axis and tick labels, so it reads alone and
needs no script or stylesheet. Colours: the base run blue, the candidate orange.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

__all__ = ["BASE", "CAND", "histogram_svg", "interval_svg", "nice_ticks"]

BASE = "#4c72b0"
CAND = "#dd8452"


def _fmt(value: float) -> str:
    """A tick label: as few digits as the tick step needs."""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering ``[low, high]`` (steps of 1, 2 or 5 times a power of ten).

    >>> nice_ticks(0.61, 0.83)
    [0.6, 0.7, 0.8, 0.9]
    >>> nice_ticks(0.0, 1.0)
    [0.0, 0.5, 1.0]
    """
    if high <= low:
        high = low + (abs(low) or 1.0) * 0.1
    raw = (high - low) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.floor(low / step + 1e-9) * step
    ticks = []
    value = start
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def interval_svg(
    intervals: Sequence[tuple[float | None, float | None, float | None, str]],
    *, width: int = 300, bounds: tuple[float, float] | None = None,
) -> str:  # fmt: skip
    """Points with their 95% intervals on one labelled axis: ``(value, low, high, colour)``.

    The axis spans the intervals (not 0 to 1), so an interval a point wide still shows;
    ``bounds`` clips it (a share cannot pass 0 or 1).
    """
    points = [v for item in intervals for v in item[:3] if v is not None]
    if not points:
        return ""
    low, high = min(points), max(points)
    floor = (bounds[1] - bounds[0]) * 0.05 if bounds is not None else max(abs(high) * 0.05, 1e-3)
    pad = max((high - low) * 0.15, floor)
    low, high = low - pad, high + pad
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    ticks = nice_ticks(low, high)
    lo, hi = ticks[0], ticks[-1]
    left, right = 8, width - 8

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * (right - left)

    rows = len(intervals)
    axis_y = 8 + rows * 12
    parts = [f'<line x1="{left}" x2="{right}" y1="{axis_y}" y2="{axis_y}" stroke="#8a94a6"/>']
    for k, t in enumerate(ticks):
        anchor = "start" if k == 0 else "end" if k == len(ticks) - 1 else "middle"
        parts.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{axis_y}" y2="{axis_y + 4}" '
                     f'stroke="#8a94a6"/><text x="{x(t):.1f}" y="{axis_y + 14}" font-size="10" '
                     f'text-anchor="{anchor}" fill="#5b6577">{_fmt(t)}</text>')  # fmt: skip
    for row, (value, ci_low, ci_high, colour) in enumerate(intervals):
        y = 8 + row * 12
        if ci_low is not None and ci_high is not None:
            parts.append(f'<line class="ci" x1="{x(ci_low):.1f}" x2="{x(ci_high):.1f}" y1="{y}" '
                         f'y2="{y}" stroke="{colour}" stroke-width="2"/>')  # fmt: skip
            for end in (ci_low, ci_high):
                parts.append(f'<line x1="{x(end):.1f}" x2="{x(end):.1f}" y1="{y - 4}" '
                             f'y2="{y + 4}" stroke="{colour}" stroke-width="2"/>')  # fmt: skip
        if value is not None:
            parts.append(f'<circle cx="{x(value):.1f}" cy="{y}" r="3.5" fill="{colour}"/>')
    height = axis_y + 18
    return (
        f'<svg class="axis" width="{width}" height="{height}" role="img" '
        'aria-label="value with its 95% interval on an axis">' + "".join(parts) + "</svg>"
    )


def histogram_svg(
    series: Sequence[tuple[str, Sequence[float], str]], *, bins: int = 10,
    width: int = 560, height: int = 180,
) -> str:  # fmt: skip
    """A histogram of per-sample scores, one bar colour per run: ``(label, values, colour)``.

    Scores within 0..1 are binned over 0..1 (the top bin holds 1.0); others over their range.
    """
    values = [v for _, vs, _ in series for v in vs]
    if not values:
        return ""
    low, high = min(values), max(values)
    if low >= 0 and high <= 1:
        low, high = 0.0, 1.0
    if high <= low:
        high = low + 1.0
    step = (high - low) / bins

    def counts(vs: Sequence[float]) -> list[int]:
        out = [0] * bins
        for v in vs:
            out[min(bins - 1, int((v - low) / step))] += 1
        return out

    counted = [(label, counts(vs), colour) for label, vs, colour in series]
    top = max(max(c) for _, c, _ in counted) or 1
    left, bottom, plot_w, plot_h = 34, height - 30, width - 44, height - 52
    slot = plot_w / bins
    bar = (slot - 4) / len(counted)
    parts = [f'<line x1="{left}" x2="{left + plot_w}" y1="{bottom}" y2="{bottom}" '
             'stroke="#8a94a6"/>']  # fmt: skip
    for k in range(bins + 1):
        xk = left + k * slot
        if k % 2 == 0 or bins <= 5:
            parts.append(
                f'<text x="{xk:.1f}" y="{bottom + 13}" font-size="10" '
                f'text-anchor="middle" fill="#5b6577">{_fmt(low + k * step)}</text>'
            )
    parts.append(f'<text x="{left - 4}" y="{bottom - plot_h + 4}" font-size="10" '
                 f'text-anchor="end" fill="#5b6577">{top}</text>')  # fmt: skip
    for s, (_label, cs, colour) in enumerate(counted):
        for k, c in enumerate(cs):
            if not c:
                continue
            h = c / top * plot_h
            xk = left + k * slot + 2 + s * bar
            parts.append(
                f'<rect class="bar" x="{xk:.1f}" y="{bottom - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{c}</title></rect>'
            )
    legend_x = left
    for label, _, colour in counted:
        parts.append(f'<rect x="{legend_x}" y="4" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{legend_x + 14}" y="13" font-size="11" fill="#1d2330">'
                     f"{html.escape(label)}</text>")  # fmt: skip
        legend_x += 14 + 7 * len(label) + 16
    return (
        f'<svg class="histogram" width="{width}" height="{height}" role="img" '
        'aria-label="histogram of per-sample scores">' + "".join(parts) + "</svg>"
    )

"""``python -m bench [--quick]``: run every benchmark and print one table of ratios."""

from __future__ import annotations

import sys

from bench import analysis, local, on_ray, score_speed, throughput

BENCHES = {
    "scoring": score_speed.run,
    "throughput": throughput.run,
    "cache": throughput.run_cached,
    "start-up": throughput.run_startup,
    "local": local.run,
    "ray": on_ray.run,
    "analysis": analysis.run,
}


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    header = ("group", "bench", "evalkit_s", "throughput / reference", "goal", "ratio")
    rows = []
    for group, bench in BENCHES.items():
        for row in bench(quick=quick):
            rows.append((group, row["bench"], f"{row['evalkit_s']:.2f}", row["throughput"],
                         row["goal"], f"{row['ratio']:.2f}x"))  # fmt: skip
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()

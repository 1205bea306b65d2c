"""Hybrid query latency against corpus size, as an SVG for the README.

Run: .venv/bin/python -m bench.plot [artifacts/bench/results.json] [docs/bench-latency.svg]
Reads the scale cases of a `bench.run` results file (log-scaled x axis, p50 and p95).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path


def main(results: str = "artifacts/bench/results.json", out: str = "docs/bench-latency.svg") -> None:
    cases = json.loads(Path(results).read_text(encoding="utf-8"))["cases"]
    points = sorted(
        (c["query"]["passages"], c["query"]["latency_ms"]["hybrid"]["p50"], c["query"]["latency_ms"]["hybrid"]["p95"])
        for name, c in cases.items()
        if name.startswith("scale_") and "query" in c
    )
    width, height, pad = 560, 300, 50
    lo, hi = math.log10(points[0][0]), math.log10(points[-1][0])
    top = max(p95 for _, _, p95 in points) * 1.2

    def xy(n: float, ms: float) -> tuple[float, float]:
        x = pad + (math.log10(n) - lo) / max(1e-9, hi - lo) * (width - 2 * pad)
        return x, height - pad - ms / top * (height - 2 * pad)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-size="12" '
             'font-family="sans-serif"><text x="10" y="18" font-weight="bold">Hybrid query latency vs corpus '
             "size (offline embedder, 2 cores)</text>"]
    for idx, (colour, label) in enumerate((("#2b6cb0", "p50"), ("#c05621", "p95"))):
        pts = [xy(n, (p50, p95)[idx]) for n, p50, p95 in points]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}"/>')
        for (x, y), (_, p50, p95) in zip(pts, points):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>'
                         f'<text x="{x + 5:.1f}" y="{y - 5:.1f}" fill="{colour}">{(p50, p95)[idx]:.1f} ms</text>')
        parts.append(f'<text x="{width - 90}" y="{40 + 16 * idx}" fill="{colour}">— {label}</text>')
    for n, _, _ in points:
        x, _ = xy(n, 0)
        parts.append(f'<text x="{x - 20:.1f}" y="{height - pad + 18}">{n:,} passages</text>')
    parts.append(f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#888"/>')
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("".join(parts) + "</svg>\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])

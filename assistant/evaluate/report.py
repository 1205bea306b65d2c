"""Evaluation reports: a rich table for the terminal and a self-contained `report.html`.

The HTML has no external assets: inline CSS and inline SVG charts (metric by question
type, Recall@k curve), the headline table per split with 95 % intervals, the worst
questions with their passages, and the difference against a baseline summary. Every
piece of test-set or article text is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

HEADLINE = [
    ("hit@1", "Hit@1"),
    ("hit@3", "Hit@3"),
    ("recall@5", "Recall@5"),
    ("mrr@10", "MRR@10"),
    ("ndcg@10", "nDCG@10"),
    ("correct", "Answer correct"),
    ("em", "Exact match"),
    ("f1", "F1"),
    ("contains", "Contains gold"),
    ("answer_chars", "Answer length (chars)"),
    ("quote_short", "Quotes ≤ 60 syllables"),
    ("abstention", "Abstention (unanswerable)"),
    ("false_refusal", "False refusals (answerable)"),
    ("evidence_cited", "Cited spans hold evidence"),
    ("citation_verbatim", "Citations verbatim"),
    ("claim_support", "LLM claims supported"),
    ("retrieve_ms_p50", "Retrieve p50 (ms)"),
    ("answer_ms_p50", "Answer p50 (ms)"),
    ("total_ms_p50", "Total p50 (ms)"),
    ("total_ms_p95", "Total p95 (ms)"),
]


def fmt(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "–"
    value = entry["value"]
    text = f"{value:.1f}" if value > 1.5 else f"{value:.3f}"
    if "ci" in entry and value <= 1.5:
        text += f" [{entry['ci'][0]:.2f}–{entry['ci'][1]:.2f}]"
    return f"{text} (n={entry['n']})"


def columns(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [*((f"split {k}", v) for k, v in summary["by_split"].items()), ("all", summary["overall"])]


def print_table(summary: dict[str, Any], console: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(
        title=f"Evaluation: {summary['testset']['questions']} questions, "
        f"mode {summary['config'].get('mode')}, {summary['embedder'].get('kind')}"
    )
    cols = columns(summary)
    table.add_column("metric")
    for name, _ in cols:
        table.add_column(name, justify="right")
    for key, label in HEADLINE:
        if any(key in c for _, c in cols):
            table.add_row(label, *(fmt(c.get(key)) for _, c in cols))
    console.print(table)
    by_type = Table(title="Answer correctness by question type (answerable: correct; unanswerable: abstained)")
    by_type.add_column("type")
    by_type.add_column("overall correct", justify="right")
    for kind, agg in summary["by_type"].items():
        by_type.add_row(kind, fmt(agg.get("overall_correct")))
    console.print(by_type)
    if summary.get("by_split_variant"):
        bar = Table(title="By split and variant: answer correct, abstention, false refusals")
        for name in ("split / variant", "correct", "abstention", "false refusals"):
            bar.add_column(name, justify="left" if name == "split / variant" else "right")
        for group, agg in summary["by_split_variant"].items():
            bar.add_row(group, *(fmt(agg.get(m)) for m in ("correct", "abstention", "false_refusal")))
        console.print(bar)


def print_comparison(summaries: dict[str, dict[str, Any]], console: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title="Retrieval modes side by side (all questions)")
    table.add_column("metric")
    for mode in summaries:
        table.add_column(mode, justify="right")
    for key, label in HEADLINE:
        if any(key in s["overall"] for s in summaries.values()):
            table.add_row(label, *(fmt(s["overall"].get(key)) for s in summaries.values()))
    console.print(table)


def _bar_chart(items: Sequence[tuple[str, float]], title: str) -> str:
    width, row = 520, 26
    height = row * len(items) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}"><text x="0" y="16" font-weight="bold">{html.escape(title)}</text>'
    ]
    for i, (label, value) in enumerate(items):
        y = 30 + i * row
        w = max(0.0, min(1.0, value)) * 300
        parts.append(
            f'<text x="0" y="{y + 15}">{html.escape(label)}</text>'
            f'<rect x="170" y="{y}" width="{w:.1f}" height="18" fill="#2b6cb0"/>'
            f'<text x="{175 + w:.1f}" y="{y + 14}">{value:.2f}</text>'
        )
    return "".join(parts) + "</svg>"


def _line_chart(points: Sequence[tuple[int, float]], title: str) -> str:
    width, height, pad = 520, 220, 40
    if not points:
        return ""
    max_k = max(k for k, _ in points)
    xy = [
        (pad + (k - 1) / max(1, max_k - 1) * (width - 2 * pad), height - pad - v * (height - 2 * pad))
        for k, v in points
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#2b6cb0"/><text x="{x - 8:.1f}" '
        f'y="{y - 8:.1f}">{v:.2f}</text><text x="{x - 8:.1f}" y="{height - 15}">k={k}</text>'
        for (x, y), (k, v) in zip(xy, points)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}"><text x="0" y="16" font-weight="bold">{html.escape(title)}</text>'
        f'<polyline points="{path}" fill="none" stroke="#2b6cb0" stroke-width="2"/>{dots}</svg>'
    )


def render_html(
    summary: dict[str, Any], records: Sequence[dict[str, Any]], baseline: dict[str, Any] | None = None, worst: int = 15
) -> str:
    esc = html.escape
    cols = columns(summary)
    head = "".join(f"<th>{esc(n)}</th>" for n, _ in cols)
    rows = "".join(
        f"<tr><td>{esc(label)}</td>" + "".join(f"<td>{esc(fmt(c.get(key)))}</td>" for _, c in cols) + "</tr>"
        for key, label in HEADLINE
        if any(key in c for _, c in cols)
    )
    by_type = [(k, v["overall_correct"]["value"]) for k, v in summary["by_type"].items() if "overall_correct" in v]
    recall = sorted(
        (int(k.split("@")[1]), v["value"]) for k, v in summary["overall"].items() if k.startswith("recall@")
    )
    diff = ""
    if baseline:
        lines = []
        for key, label in HEADLINE:
            new, old = summary["overall"].get(key), baseline.get("overall", {}).get(key)
            if new and old:
                delta = new["value"] - old["value"]
                lines.append(
                    f"<tr><td>{esc(label)}</td><td>{old['value']:.3f}</td><td>{new['value']:.3f}</td>"
                    f"<td class='{'up' if delta >= 0 else 'down'}'>{delta:+.3f}</td></tr>"
                )
        diff = (
            "<h2>Against the baseline</h2><table><tr><th>metric</th><th>baseline</th><th>now</th><th>Δ</th></tr>"
            + "".join(lines)
            + "</table>"
        )
    failed = [r for r in records if r.get("failure")][:worst]
    items = []
    for r in failed:
        passages = "".join(
            f"<li><b>{esc(p['chunk_id'])}</b> ({p['score']:.3f}) {esc(p['text'][:400])}</li>" for p in r["passages"][:3]
        )
        items.append(
            f"<div class='q'><p><b>{esc(r['id'])}</b> [{esc(r['type'])}, {esc(r['split'])}] "
            f"<i>{esc(r['failure'])}</i></p><p>Q: {esc(r['question'])}</p>"
            f"<p>Gold: {esc(' | '.join(r['gold']) or '(unanswerable)')}</p>"
            f"<p>Answer: {esc(r['answer'])}</p><ol>{passages}</ol></div>"
        )
    cfg = esc(str(summary["config"]))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Evaluation report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#1a202c}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #cbd5e0;padding:4px 8px;text-align:right}}
td:first-child{{text-align:left}}.q{{border-top:1px solid #e2e8f0;padding:.5em 0}}.up{{color:#276749}}
.down{{color:#c53030}}svg text{{font-size:12px}}</style></head><body>
<h1>Evaluation report</h1><p>{summary["testset"]["questions"]} questions from {esc(summary["testset"]["path"])};
embedder {esc(str(summary["embedder"].get("model")))}; config {cfg}; {esc(summary["created_at"])}.</p>
<h2>Headline</h2><table><tr><th>metric</th>{head}</tr>{rows}</table>
<p>Values are means with a bootstrap 95 % interval and the number of questions they cover.</p>
{_bar_chart(by_type, "Correct (or correctly abstained) by question type")}
{_line_chart(recall, "Recall@k (answerable questions)")}
{diff}<h2>Worst questions</h2>{"".join(items) or "<p>None failed.</p>"}</body></html>"""


def render_squad_html(summary: dict[str, Any], records: Sequence[dict[str, Any]]) -> str:
    """A self-contained page for a SQuAD-format evaluation: the table, then each miss."""
    cols = ("f1", "em", "contains", "false_refusal", "abstention", "hit@1", "hit@3")
    head = "".join(f"<th>{c}</th>" for c in cols)
    rows = []
    for key, metrics in summary["sets"].items():
        cells = "".join(
            f"<td>{metrics[c]['mean']:.3f}<br><small>n={metrics[c]['n']}, "
            f"{metrics[c]['ci95'][0]:.2f}–{metrics[c]['ci95'][1]:.2f}</small></td>" if c in metrics else "<td>–</td>"
            for c in cols)
        rows.append(f"<tr><th>{html.escape(key)}</th>{cells}</tr>")
    misses = [r for r in records if (r["answerable"] and r.get("f1", 0) < 1) or (not r["answerable"] and r["answered"])]
    items = "".join(
        f"<li><b>{html.escape(r['question'])}</b> [{html.escape(r['set'])}/{html.escape(r['split'])}]<br>"
        f"gold: {html.escape(' | '.join(r['gold']) or '(unanswerable)')}<br>"
        f"answer: {html.escape(r['short'] if r['answered'] else '(refused)')} "
        f"<small>margin {r['margin']:.2f}</small></li>" for r in misses[:500])
    return (f"<!doctype html><meta charset='utf-8'><title>SQuAD evaluation</title>"
            f"<style>body{{font-family:sans-serif;max-width:70em;margin:auto}}td,th{{padding:4px 8px;"
            f"border-bottom:1px solid #ddd;text-align:right}}</style>"
            f"<h1>SQuAD-format evaluation</h1><p>split {html.escape(str(summary['split']))}, "
            f"{'one index over all contexts' if summary['pooled'] else 'one index per context'}</p>"
            f"<table><tr><th>set/split</th>{head}</tr>{''.join(rows)}</table>"
            f"<h2>Misses ({len(misses)}, first 500)</h2><ol>{items}</ol>")

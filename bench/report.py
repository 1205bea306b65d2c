"""Results -> tables: printed with rich, written as JSON and as a markdown file for the README.

`sections(results)` turns the raw results into titled tables (the same rows feed the
terminal and the markdown), `targets(results)` checks the issue's targets.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

Section = tuple[str, list[str], list[list[str]]]
GIB = 1024


def _g(d: Any, *path: Any, default: Any = None) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return default
        d = d[key]
    return d


def _f(value: Any, digits: int = 2, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return f"{value}{unit}"


def _pp(st: Any, digits: int = 2) -> tuple[str, str]:
    return _f(_g(st, "p50"), digits), _f(_g(st, "p95"), digits)


def _mem(case: Any) -> str:
    """Peak MiB of a case's process; for a scale query, while serving (before the recall
    check re-embeds every passage as a float reference)."""
    return _f(_g(case, "memory_serving", "peak_rss_mib") or _g(case, "memory", "peak_rss_mib"), 0)


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    c = r.get("cases", {})
    peer = c.get("peer", {})
    rows = [
        ("warm ask p50 (bundled article)", _g(c, "warm", "latency_ms", "ask", "p50"), 5.0, "ms", "<="),
        ("warm ask p95 (bundled article)", _g(c, "warm", "latency_ms", "ask", "p95"), 15.0, "ms", "<="),
        ("LangChain retrieve p50 / our ask p50", _g(peer, "ratios", "peer_retrieve_over_ours_ask_p50"), 5.0, "x", ">="),
        ("Hit@1 ours minus LangChain",
         _diff(_g(peer, "quality", "ours", "hit@1"), _g(peer, "quality", "peer", "hit@1")),
         0.0, "", ">"),
        ("cold `assistant ask` to printed answer p50", _sec(_g(c, "cold_ask", "to_answer_ms", "p50")), 1.5, "s", "<="),
        ("heavy modules after `import assistant`", _g(c, "cold_import", "heavy_modules"), "[]", "", "=="),
        ("web chat launch to first answer p50", _sec(_g(c, "chat", "to_first_answer_ms", "p50")), 8.0, "s", "<="),
        ("1M passages: hybrid query p95", _g(c, "scale_1m", "query", "latency_ms", "hybrid", "p95"), 100.0, "ms", "<="),
        ("1M passages: peak memory, query process", _gib(_g(c, "scale_1m", "query", "memory_serving", "peak_rss_mib")
                                                    or _g(c, "scale_1m", "query", "memory", "peak_rss_mib")), 6.0,
         "GiB", "<="),
        ("1M passages: peak memory, build process", _gib(_g(c, "scale_1m", "build", "memory", "peak_rss_mib")), 6.0,
         "GiB", "<="),
    ]
    return [{"target": name, "value": value, "limit": f"{op} {limit}{unit}", "met": _check(value, limit, op)}
            for name, value, limit, unit, op in rows]


def _check(value: Any, limit: Any, op: str) -> bool | None:
    if value is None:
        return None
    return {"<=": lambda: value <= limit, ">=": lambda: value >= limit, ">": lambda: value > limit,
            "==": lambda: value == limit}[op]()


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)


def _sec(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000, 2)


def _gib(mib: float | None) -> float | None:
    return None if mib is None else round(mib / GIB, 2)


def sections(r: dict[str, Any]) -> list[Section]:
    c = r.get("cases", {})
    out: list[Section] = []
    t = [[x["target"], _f(x["value"]), x["limit"], {True: "met", False: "MISSED", None: "not measured"}[x["met"]]]
         for x in r.get("targets", [])]
    out.append(("Targets", ["target", "measured", "limit", "status"], t))

    rows = []
    for key, label, field in (("cold_import", "`import assistant` (fresh process)", "import_ms"),
                              ("cold_ask", "cold `assistant ask -q`: to printed answer", "to_answer_ms"),
                              ("cold_ask", "cold `assistant ask -q`: to process exit", "to_exit_ms"),
                              ("chat", "`assistant chat`: page served", "to_page_ms"),
                              ("chat", "`assistant chat`: first /ask answer", "to_first_answer_ms"),
                              ("cold_ask_tiny", "cold `assistant ask` with the tiny ST model", "to_answer_ms")):
        case = c.get(key, {})
        note = case.get("skipped") or case.get("error") or f"n={_g(case, field, 'n')}"
        rows.append([label, *_pp(_g(case, field), 0), _mem(case), note])
    for key, label in (("build_article", "build: bundled article"), ("build_corpus", "build: 100 synthetic articles")):
        case = c.get(key, {})
        note = case.get("error") or f"{case.get('passages')} passages, n={_g(case, 'build_ms', 'n')}"
        rows.append([label, *_pp(_g(case, "build_ms"), 1), _mem(case), note])
    tiny = c.get("tiny_model", {})
    rows.append(["build: bundled article, tiny ST model", _f(tiny.get("build_ms"), 1), "–", _mem(tiny),
                 tiny.get("error") or f"+ torch/ST import {_f(tiny.get('import_torch_st_ms'), 0)} ms"])
    out.append(("Start-up and index builds (ms)", ["case", "p50", "p95", "peak MiB", "note"], rows))

    warm, tiny_lat = _g(c, "warm", "latency_ms") or {}, _g(tiny, "latency_ms") or {}
    rows = [[stage, *_pp(warm.get(stage), 3), *_pp(tiny_lat.get(stage), 3)]
            for stage in ("analyse", "embed", "dense", "bm25", "fusion", "retrieve", "answer", "ask")]
    out.append((f"Warm latency per stage, bundled article ({_g(c, 'warm', 'questions')} questions x "
                f"{_g(c, 'warm', 'rounds')} rounds, ms; peak {_mem(c.get('warm'))} MiB)",
                ["stage", "offline p50", "offline p95", "tiny ST p50", "tiny ST p95"], rows))

    p = c.get("peer", {})
    q_o, q_p, lat, b = _g(p, "quality", "ours") or {}, _g(p, "quality", "peer") or {}, p.get("latency_ms", {}), \
        p.get("build_ms", {})
    rows = [
        ["build (ms, p50)", _f(_g(b, "ours", "p50")), _f(_g(b, "peer", "p50")),
         _f(_g(p, "ratios", "build_peer_over_ours"))],
        ["retrieve (ms, p50)", _f(_g(lat, "ours_retrieve", "p50"), 3), _f(_g(lat, "peer_retrieve", "p50"), 3),
         _f(_g(p, "ratios", "retrieve_peer_over_ours_p50"))],
        ["retrieve (ms, p95)", _f(_g(lat, "ours_retrieve", "p95"), 3), _f(_g(lat, "peer_retrieve", "p95"), 3),
         _f(_g(p, "ratios", "retrieve_peer_over_ours_p95"))],
        ["our ask vs their retrieve (ms, p50)", _f(_g(lat, "ours_ask", "p50"), 3),
         _f(_g(lat, "peer_retrieve", "p50"), 3),
         _f(_g(p, "ratios", "peer_retrieve_over_ours_ask_p50"))],
        ["passages in the index", _f(_g(p, "passages", "ours")), _f(_g(p, "passages", "peer")), ""],
    ]
    for metric, label in (("hit@1", "Hit@1"), ("hit@3", "Hit@3"),
                          ("hit@1000chars", "Hit within the first 1,000 characters read"),
                          ("chars_top1", "characters to read: top-1 passage (mean)"),
                          ("chars_top3", "characters to read: top-3 passages (mean)")):
        rows.append([label, _f(q_o.get(metric), 3), _f(q_p.get(metric), 3), ""])
    for pc in (c.get("peer_corpus_100", {}), c.get("peer_corpus_1000", {})):
        if not pc or "error" in pc:
            continue
        lat_c, b_c = pc.get("latency_ms", {}), pc.get("build_ms", {})
        rows += [
            [f"{pc.get('articles')} articles: build (ms, p50)", _f(_g(b_c, "ours", "p50")), _f(_g(b_c, "peer", "p50")),
             _f(_g(pc, "ratios", "build_peer_over_ours"))],
            [f"{pc.get('articles')} articles: retrieve (ms, p50)", _f(_g(lat_c, "ours_retrieve", "p50"), 3),
             _f(_g(lat_c, "peer_retrieve", "p50"), 3), _f(_g(pc, "ratios", "retrieve_peer_over_ours_p50"))],
            [f"{pc.get('articles')} articles: retrieve (ms, p95)", _f(_g(lat_c, "ours_retrieve", "p95"), 3),
             _f(_g(lat_c, "peer_retrieve", "p95"), 3), _f(_g(pc, "ratios", "retrieve_peer_over_ours_p95"))],
            [f"{pc.get('articles')} articles: passages", _f(_g(pc, "passages", "ours")), _f(_g(pc, "passages", "peer")),
             ""],
        ]
    out.append((f"Against the LangChain peer (same process; {q_o.get('questions')} answerable questions)",
                ["metric", "ours", "LangChain", "LangChain / ours"], rows))

    rows = []
    for key in ("scale_10k", "scale_100k", "scale_1m"):
        case = c.get(key)
        if not case:
            continue
        bld, qry, full = case.get("build", {}), case.get("query", {}), case.get("assistant", {})
        recall = _g(qry, "hnsw", "recall@10")
        st = bld.get("stages_s", {})
        note = bld.get("error") or qry.get("error") or (
            f"build: chunk {_f(st.get('chunk_article'), 1)} s, BM25 {_f(st.get('build_bm25'), 1)} s, "
            f"embed + FAISS {_f(st.get('embed_into_faiss'), 1)} s, save {_f(st.get('save_index'), 1)} s "
            f"(+ parsing the articles {_f(bld.get('parse_s'), 0)} s)")
        if full.get("load_s") is not None:
            note += (f"; `Assistant.load` (an answerer per article): {_f(full['load_s'], 1)} s, "
                     f"{_f(_g(full, 'memory', 'peak_rss_mib'), 0)} MiB")
        rows.append([_f(bld.get("passages") or qry.get("passages")), _f(_g(bld, "faiss", "index_type")),
                     _f(bld.get("build_s"), 1), _f(bld.get("build_passages_per_s"), 0), _f(bld.get("index_mib"), 0),
                     _f(qry.get("load_s"), 1), " / ".join(_pp(_g(qry, "latency_ms", "hybrid"), 1)),
                     _f(_g(qry, "latency_ms", "dense", "p50"), 2), _f(_g(qry, "latency_ms", "bm25", "p50"), 2),
                     _f(recall if recall is not None else (1.0 if qry else None), 3),
                     f"{_mem(bld)} / {_mem(qry)}", note])
    out.append(("Scale: synthetic corpora, offline embedder (hybrid k=4, ~200 generated queries)",
                ["passages", "index", "build s", "passages/s", "MiB on disk", "load s", "hybrid p50 / p95 ms",
                 "dense p50", "bm25 p50", "recall@10", "peak MiB build / query", "note"], rows))

    sweep_rows = []
    for key, field in (("scale_1m", "hnsw"), ("scale_100k", "hnsw_same_vectors")):
        h = _g(c, key, "query", field)
        if h:
            for s in h["sweep"]:
                sweep_rows.append([key[6:], str(s["ef_search"]), _f(s["recall@10"], 3), *_pp(s["search_ms"], 3),
                                   _f(_g(h, "exact_search_ms", "p50"), 2)])
    if sweep_rows:
        out.append(("HNSW (M=32) against exact float32 search over the same passages",
                    ["corpus", "efSearch", "recall@10", "search p50 ms", "p95 ms", "exact p50 ms"], sweep_rows))

    o = c.get("optimisations", {})
    if o and "error" not in o:
        e, b25, q25 = o.get("embed", {}), o.get("bm25_build", {}), o.get("bm25_query_ms", {})
        out.append((f"Hot spots, old vs new code ({o.get('passages')} passages, same run)",
                    ["hot spot", "old", "new", "speed-up", "same output"], [
                        ["hashing embedder (s)", _f(e.get("reference_s"), 3), _f(e.get("vectorised_s"), 3),
                         _f(e.get("speedup")), str(e.get("identical"))],
                        ["BM25 build (s)", _f(b25.get("bm25s_index_s"), 3), _f(b25.get("build_bm25_s"), 3),
                         _f(b25.get("speedup")), str(b25.get("identical_scores"))],
                        ["BM25 at searcher start-up (s): rebuilt from the chunks / loaded from the index",
                         _f(_g(o, "searcher_bm25", "rebuilt_on_load_s"), 3), _f(_g(o, "searcher_bm25", "loaded_s"), 4),
                         _f(_g(o, "searcher_bm25", "speedup"), 0), str(b25.get("identical_scores"))],
                        ["BM25 top-50 query (ms, p50)", _f(_g(q25, "old", "p50"), 3), _f(_g(q25, "new", "p50"), 3),
                         _f(q25.get("speedup_p50")), "same ranking"],
                    ]))
    return out


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    v = m["versions"]
    lines = [
        "## Benchmarks", "",
        f"Measured on {m['cpu_model']} ({m['usable_cores']} cores, {m['ram_gib']} GiB RAM), {m['os']}, "
        f"Python {m['python']}; numpy {v['numpy']}, faiss-cpu {v['faiss-cpu']}, bm25s {v['bm25s']}, "
        f"langchain-core {v['langchain-core']}, langchain-community {v['langchain-community']}, gradio {v['gradio']}, "
        f"sentence-transformers {v['sentence-transformers']}, torch {v['torch']}; commit {m['commit']}"
        f"{' (uncommitted changes)' if m['dirty'] else ''}; {r['started']}, {r['duration_s']:.0f} s.", "",
        f"Rerun this table: `{r['command']}` (`make bench` alone skips the 1M-passage corpus and takes a few "
        "minutes; `make bench BENCH_ARGS=--scale-1m` adds it).", "",
        "p50 is the median and p95 the 95th percentile over repeated runs; the machine is shared and noisy, "
        "so compare ratios measured in the same run rather than figures from different runs. "
        "The offline hashing embedder runs everywhere; the tiny sentence-transformers model (a 1-layer BERT "
        "built from scratch, as in the tests) only stands in for the real-model code path. "
        "**Real-model figures (intfloat/multilingual-e5-base) need that model and were not measured here.**", "",
    ]
    for title, headers, rows in sections(r):
        lines += [f"### {title}", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        lines.append("")
    lines += [f"- {note}" for note in r.get("notes", [])]
    return "\n".join(lines).rstrip() + "\n"


def write(r: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(r, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "results.md").write_text(markdown(r), encoding="utf-8")
    return out / "results.json", out / "results.md"


def print_tables(r: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    for title, headers, rows in sections(r):
        table = Table(title=title, title_justify="left", show_lines=False)
        for h in headers:
            table.add_column(h, overflow="fold")
        for row in rows:
            table.add_row(*row)
        console.print(table)


if __name__ == "__main__":  # re-render the tables of a results.json: python -m bench.report [results.json]
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "artifacts/bench/results.json")
    saved = json.loads(source.read_text(encoding="utf-8"))
    saved["targets"] = targets(saved)
    print_tables(saved)
    write(saved, source.parent)

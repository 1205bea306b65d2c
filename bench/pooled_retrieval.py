"""Retrieval pooled over a QA set's contexts, FAISS against Milvus Lite, same model.

    .venv/bin/python -m bench.pooled_retrieval            # bundled model, the three QA sets
    .venv/bin/python -m bench.pooled_retrieval --sets uit_train_reg,uit_train_wiki

Every context of a set (all splits) becomes one article of one library: a FAISS index
(`build_index`, as `assistant build a.txt b.txt …`) and a Milvus Lite library (each context
`MilvusLibrary.add`ed, searched unfiltered through `load_all`, as `assistant ask --store
milvus:lib.db` without `--article-id`). Each answerable question is retrieved (hybrid,
k=3) and scored Hit@1/Hit@3: a passage of its own context that holds a gold answer. Here the
two stores can differ: FAISS's BM25 statistics are those of the pooled index, Milvus's its
collection's, and Milvus searches approximately (AUTOINDEX). Retrieval is not trained on
these sets (fusion weights come from the bundled article's dev split), so every split is
reported, the held-out one apart. Results: artifacts/bench/pooled_retrieval.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import ROOT, machine, stats

KS = (1, 3)


def _hits(bot: Any, contexts: list[Any], ids: list[str]) -> tuple[dict[str, dict[str, float]], list[float]]:
    """Per split: Hit@k means over the answerable questions; and every retrieve's latency (ms)."""
    sums: dict[str, dict[str, float]] = {}
    latency: list[float] = []
    for ctx, article_id in zip(contexts, ids):
        for q in ctx.questions:
            if not q.answerable:
                continue
            start = time.perf_counter()
            top = bot.retrieve(q.question, k=max(KS))
            latency.append((time.perf_counter() - start) * 1000)
            for split in (ctx.split, "all"):
                row = sums.setdefault(split, {"n": 0.0, **{f"hit@{k}": 0.0 for k in KS}})
                row["n"] += 1
                for k in KS:
                    row[f"hit@{k}"] += any(bot.articles[p.article].sha256 == article_id
                                           and any(g in p.text for g in q.answers) for p in top[:k])
    return {s: {"n": int(r["n"]), **{m: round(v / r["n"], 3) for m, v in r.items() if m != "n"}}
            for s, r in sums.items()}, latency


def measure(name: str, path: Path, embedder: Any, work: Path) -> dict[str, Any]:
    from assistant.core import Assistant
    from assistant.evaluate.squad import load_squad
    from assistant.ingest.article import Article
    from assistant.library import MilvusLibrary
    from assistant.search.indexing import build_index
    from assistant.search.store import load_index

    contexts = load_squad(path, name)
    articles = [Article.from_text(c.context, source=f"<{name}:{i}>") for i, c in enumerate(contexts)]
    ids = [a.sha256 for a in articles]
    out: dict[str, Any] = {"contexts": len(contexts), "distinct_texts": len(set(ids))}
    start = time.perf_counter()
    build_index(articles, embedder, work / "faiss", progress=False)
    out["faiss_build_s"] = round(time.perf_counter() - start, 1)
    bot = Assistant(load_index(work / "faiss"), embedder, work / "faiss")
    out["faiss"], lat = _hits(bot, contexts, ids)
    out["faiss_retrieve_ms"] = stats(lat, 1)
    library = MilvusLibrary(f"milvus:{work / 'lib.db'}", embedder=embedder)
    start = time.perf_counter()
    for article in articles:
        library.add(article)
    out["milvus_build_s"] = round(time.perf_counter() - start, 1)
    out["milvus"], lat = _hits(library.load_all(), contexts, ids)
    out["milvus_retrieve_ms"] = stats(lat, 1)
    library.store.close()
    print(name, json.dumps(out, ensure_ascii=False), flush=True)
    return out


def main() -> None:
    from assistant.evaluate.squad import bundled_sets
    from assistant.search.resolve import resolve_embedder

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="embedder (default: the bundled multilingual-e5-small)")
    ap.add_argument("--sets", default=None, help="comma-separated set names (default: all three)")
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench" / "pooled_retrieval.json")
    args = ap.parse_args()
    embedder = resolve_embedder(args.model)
    sets = bundled_sets()
    chosen = args.sets.split(",") if args.sets else list(sets)
    unknown = sorted(set(chosen) - set(sets))
    if unknown:
        ap.error(f"unknown set(s) {', '.join(unknown)}; known: {', '.join(sets)}")
    # A set measured earlier into the same file is kept: each set is written when it is done.
    try:
        results: dict[str, Any] = json.loads(args.out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        results = {"sets": {}}
    results.update(machine=machine(), embedder=embedder.info.describe())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for name in chosen:
        with tempfile.TemporaryDirectory(prefix="pooled-") as tmp:
            results["sets"][name] = measure(name, sets[name], embedder, Path(tmp))
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()

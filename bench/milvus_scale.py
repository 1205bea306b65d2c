"""Milvus Lite against FAISS on the same synthetic library of 10k and 100k passages.

    .venv/bin/python -m bench.milvus_scale                 # 10k and 100k (about 30 min on 2 cores)
    .venv/bin/python -m bench.milvus_scale --sizes 10000   # one size

For each size, the seeded corpus of `bench.synth` (the scale cases' articles, ~50 one-chunk
paragraphs each) is indexed twice, each in its own process with the offline hashing embedder
(so the figures are the store's cost, not the model's: the bundled model embeds ~60
passages/s on this machine whichever store holds them):

- FAISS: `bench.scale.case_scale_build` (today's `build_index`), then queried by
  `case_milvus_query(store="faiss")`: the library-wide `HybridSearcher`;
- Milvus Lite: every article `MilvusStore.add`ed one at a time (the incremental path
  `assistant build --store milvus:…` takes), then queried library-wide (dense and BM25
  searches fused by the same RRF) and within one article (`MilvusSearcher`, filtered, as an
  assistant under an article asks), with the time to open that article (its record and
  passages read back from Milvus).

The same 200 queries (a window of a passage plus a question tail, 30 % without diacritics)
go to both; "source@4" is the share whose source passage comes back in the top 4, so a
faster store that ranks worse shows. Memory is the process's RSS (Milvus Lite runs inside
it), and the library's size on disk. Results: artifacts/bench/milvus_scale.json.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import ROOT, machine, run_child, stats, stopwatch

QUERIES = 200


def _queries(workdir: Path, seed: int = 1) -> list[tuple[str, str, str]]:
    """(query, source article id, source chunk id), from the FAISS index's passages."""
    from assistant.search.store import load_index

    from .synth import queries as make_queries

    stored = load_index(workdir / "index")
    rng = random.Random(seed)
    out = []
    while len(out) < QUERIES:
        i = rng.randrange(len(stored.chunks))
        chunk = stored.chunks[i]
        if len(chunk.text.split()) < 12:
            continue
        q = make_queries([chunk.text], 1, seed=rng.randrange(1 << 30))[0]
        out.append((q, stored.articles[stored.chunk_articles[i]].sha256, _local_id(chunk.chunk_id)))
    return out


def _local_id(chunk_id: str) -> str:
    """A chunk's id within its article: a FAISS library numbers them "a12-c003", Milvus "c003"."""
    return chunk_id.rsplit("-", 1)[-1]


def case_milvus_build(workdir: str) -> dict[str, Any]:
    """Add every article of `workdir/src` to a fresh Milvus Lite library, one at a time."""
    from assistant.ingest.article import Article
    from assistant.search.milvus import MilvusStore
    from assistant.search.resolve import resolve_embedder

    files = sorted((Path(workdir) / "src").glob("*.txt"))
    embedder = resolve_embedder("offline")
    db = Path(workdir) / "milvus" / "lib.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    store = MilvusStore(f"milvus:{db}", embedder.info)
    per_article: list[float] = []
    written = 0
    with stopwatch() as t_build:
        for f in files:
            start = time.perf_counter()
            written += store.add(Article.read(f), embedder)
            per_article.append((time.perf_counter() - start) * 1000)
    with stopwatch() as t_again:  # idempotent: adding the first 20 again writes nothing
        again = sum(store.add(Article.read(f), embedder) for f in files[:20])
    out = {"passages": written, "rows": store.count(), "articles": len(files), "build_s": round(t_build[0], 2),
           "build_passages_per_s": round(written / t_build[0], 1), "add_article_ms": stats(per_article, 1),
           "re_add_20_ms": round(t_again[0] * 1000, 1), "re_add_written": again,
           "db_mib": round(sum(p.stat().st_size for p in db.parent.rglob("*") if p.is_file()) / 2**20, 1)}
    store.close()
    return out


def case_milvus_query(workdir: str, store: str = "milvus") -> dict[str, Any]:
    """Library-wide hybrid search (and, on Milvus, within one article) for the shared queries."""
    from assistant.search.embeddings import HashingEmbeddings
    from assistant.search.retrieval import FusionConfig, rrf

    work = Path(workdir)
    qs = _queries(work)
    emb = HashingEmbeddings()
    fusion = FusionConfig()
    wide: list[float] = []
    within: list[float] = []
    hits = 0
    clock = time.perf_counter
    if store == "faiss":
        from assistant.ingest.chunking import ChunkingConfig
        from assistant.search.retrieval import HybridSearcher
        from assistant.search.store import load_index

        with stopwatch() as t_load:
            stored = load_index(work / "index")
            searcher = HybridSearcher(stored.chunks, stored.chunk_articles, stored.vectors, emb, None,
                                      ChunkingConfig(**stored.manifest["chunking"]), bm25=stored.bm25)
        for q, *_ in qs[:10]:
            searcher.search(q, k=4)
        for q, article_id, chunk_id in qs:
            t0 = clock()
            top = searcher.search(q, k=4)
            wide.append((clock() - t0) * 1000)
            hits += (article_id, chunk_id) in {(stored.articles[p.article].sha256, _local_id(p.chunk_id)) for p in top}
        return {"store": "faiss", "load_s": round(t_load[0], 2), "library_hybrid_ms": stats(wide),
                "source_at_4": round(hits / len(qs), 3), "queries": len(qs)}

    from assistant.search.milvus import MilvusSearcher, MilvusStore, lexical_query

    with stopwatch() as t_load:
        lib = MilvusStore(f"milvus:{work / 'milvus' / 'lib.db'}", emb.info)
    pool = fusion.candidates

    def hybrid(q: str) -> list[tuple[str, str]]:
        vector = [float(x) for x in emb.embed_array([q], query=True)[0]]
        dense = lib.search("dense", vector, pool, None)
        lexical = lib.search("sparse", lexical_query(q), pool, None) if lexical_query(q) else []
        names = list(dict.fromkeys([(a, c) for a, c, _ in dense] + [(a, c) for a, c, _ in lexical]))
        number = {n: i for i, n in enumerate(names)}
        fused = rrf([[number[(a, c)] for a, c, _ in dense], [number[(a, c)] for a, c, _ in lexical]],
                    [fusion.dense_weight, fusion.lexical_weight], fusion.rrf_k)
        return [names[i] for i, _ in fused[:4]]

    for q, *_ in qs[:10]:
        hybrid(q)
    for q, article_id, chunk_id in qs:
        t0 = clock()
        top = hybrid(q)
        wide.append((clock() - t0) * 1000)
        hits += (article_id, chunk_id) in top
    # within one article: the assistant under an article (its passages loaded, the search filtered)
    scoped_hits = 0
    opened: list[float] = []
    for q, article_id, chunk_id in qs[:100]:
        t0 = clock()
        _article, chunks = lib.load(article_id)  # type: ignore[misc]
        opened.append((clock() - t0) * 1000)
        searcher = MilvusSearcher(lib, chunks, [0] * len(chunks), [article_id], [c.chunk_id for c in chunks], emb)
        t0 = clock()
        top = searcher.search(q, k=4)
        within.append((clock() - t0) * 1000)
        scoped_hits += chunk_id in {p.chunk_id for p in top}
    out = {"store": "milvus-lite", "load_s": round(t_load[0], 2), "library_hybrid_ms": stats(wide),
           "article_hybrid_ms": stats(within), "open_article_ms": stats(opened),
           "source_at_4": round(hits / len(qs), 3),
           "article_source_at_4": round(scoped_hits / len(within), 3), "queries": len(qs)}
    lib.close()
    return out


def run(sizes: list[int], keep: Path | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "sizes": {}}
    for n in sizes:
        with tempfile.TemporaryDirectory(dir=keep) as tmp:
            work = Path(tmp)
            print(f"[{n:,} passages] FAISS build", flush=True)
            faiss_build = run_child("scale_build", {"passages": n, "workdir": str(work)}, timeout=4 * 3600)
            faiss_query = run_child("milvus_query", {"workdir": str(work), "store": "faiss"})
            print(f"[{n:,} passages] Milvus Lite build", flush=True)
            milvus_build = run_child("milvus_build", {"workdir": str(work)}, timeout=6 * 3600)
            milvus_query = run_child("milvus_query", {"workdir": str(work), "store": "milvus"})
            results["sizes"][str(n)] = {"faiss_build": faiss_build, "faiss_query": faiss_query,
                                        "milvus_build": milvus_build, "milvus_query": milvus_query}
            print(json.dumps(results["sizes"][str(n)], ensure_ascii=False)[:2000], flush=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="passages per library")
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench" / "milvus_scale.json")
    args = ap.parse_args()
    results = run(args.sizes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

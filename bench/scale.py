"""Scale cases: synthetic corpora of 10k, 100k (and 1M) passages, built and queried in separate processes.

`case_scale_build`: seeded synthetic articles (`bench.synth`, ~50 one-chunk paragraphs
each) written to a temp dir, parsed, and indexed by the real `build_index`, with its
stages timed (chunking, embedding into FAISS, BM25, saving). `case_scale_query`: a fresh
process loads the index (`load_index` + `HybridSearcher`, as `Assistant` does minus the
answerers) and runs ~200 generated queries; for an HNSW index it measures recall@10
against exact float32 search over the same passages, for several efSearch values.
`case_optimisations`: the old and new code of each fixed hot spot, on the same data.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .common import memory, ratio, stats, stopwatch

EF_SWEEP = (32, 64, 128, 256, 512, 1024, 2048)


def case_scale_build(passages: int, workdir: str, seed: int = 0, flat_max: int | None = None,
                     model: str = "offline") -> dict[str, Any]:
    """Index about `passages` synthetic passages with `model` ("offline" or "bundled")."""
    import assistant.search.indexing as indexing
    from assistant.ingest.article import Article
    from assistant.search.resolve import resolve_embedder
    from assistant.search.store import FLAT_MAX

    from .synth import articles_for_passages, write_articles

    work = Path(workdir)
    n_articles, body = articles_for_passages(passages)
    with stopwatch() as t_gen:
        files = write_articles(work / "src", n_articles, seed=seed, paragraphs=body)
    with stopwatch() as t_parse:
        articles = [Article.read(f) for f in files]
    stages: dict[str, float] = {}
    for name in ("chunk_article", "embed_into_faiss", "build_bm25", "save_index"):
        setattr(indexing, name, _timed(getattr(indexing, name), name, stages))
    embedder = resolve_embedder(model)
    if model != "offline":
        embedder.embed_documents(["nạp mô hình"])  # load the model before the clock starts
    with stopwatch() as t_build:
        manifest = indexing.build_index(articles, embedder, work / "index", progress=False,
                                        flat_max=FLAT_MAX if flat_max is None else flat_max)
    n = manifest["faiss"]["ntotal"]
    sizes = {p.name: p.stat().st_size for p in (work / "index").iterdir()}
    return {
        "passages": n, "articles": n_articles, "generate_s": round(t_gen[0], 2), "parse_s": round(t_parse[0], 2),
        "build_s": round(t_build[0], 2), "stages_s": {k: round(v, 2) for k, v in stages.items()},
        "build_passages_per_s": round(n / t_build[0], 1),
        "end_to_end_passages_per_s": round(n / (t_build[0] + t_parse[0]), 1),
        "faiss": manifest["faiss"], "index_mib": round(sum(sizes.values()) / 2**20, 1),
        "index_mib_by_part": {
            "vectors": round(sizes.get("vectors.faiss", 0) / 2**20, 1),
            "bm25": round(sum(v for k, v in sizes.items() if "index" in k) / 2**20, 1),
            "text": round((sizes.get("chunks.jsonl", 0) + sizes.get("articles.jsonl", 0)) / 2**20, 1)},
    }


def _timed(fn: Any, name: str, into: dict[str, float]) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            into[name] = into.get(name, 0.0) + time.perf_counter() - start

    return wrapper


def case_scale_query(workdir: str, queries: int = 200, seed: int = 1, compare_hnsw: bool = False) -> dict[str, Any]:
    from assistant.ingest.chunking import ChunkingConfig
    from assistant.search.embeddings import HashingEmbeddings
    from assistant.search.retrieval import HybridSearcher, rrf, search_one
    from assistant.search.store import load_index

    from .synth import queries as make_queries

    emb = HashingEmbeddings()
    with stopwatch() as t_load:
        stored = load_index(Path(workdir) / "index")
        searcher = HybridSearcher(stored.chunks, stored.chunk_articles, stored.vectors, emb, None,
                                  ChunkingConfig(**stored.manifest["chunking"]), bm25=stored.bm25)
    after_load = memory()
    picked = random.Random(seed).sample(range(len(stored.chunks)), min(len(stored.chunks), 20000))
    qs = make_queries([stored.chunks[i].text for i in picked], queries, seed=seed)
    for q in qs[:10]:
        searcher.search(q, k=4)
    pool = searcher.fusion.candidates
    lat: dict[str, list[float]] = {k: [] for k in ("hybrid", "embed", "dense", "bm25", "fusion")}
    clock = time.perf_counter
    for q in qs:
        t0 = clock()
        searcher.search(q, k=4)
        t1 = clock()
        vec = emb.embed_array([q], query=True)
        t2 = clock()
        _d, ids = search_one(stored.vectors, vec, pool)
        t3 = clock()
        lexical = searcher.lexical_scores(q, pool)
        t4 = clock()
        rrf([[int(i) for i in ids[0] if i >= 0], [i for i, _ in lexical]], [0.5, 1.0], 60)
        t5 = clock()
        for key, value in (("hybrid", t1 - t0), ("embed", t2 - t1), ("dense", t3 - t2), ("bm25", t4 - t3),
                           ("fusion", t5 - t4)):
            lat[key].append(value * 1000)
    out: dict[str, Any] = {"passages": len(stored.chunks), "faiss": stored.manifest["faiss"],
                           "load_s": round(t_load[0], 2), "memory_after_load": after_load,
                           "latency_ms": {k: stats(v) for k, v in lat.items()}, "queries": len(qs)}
    # the serving process's peak, before the recall check below adds a float copy of every vector
    out["memory_serving"] = memory()
    vectors = emb.embed_array(qs)
    if hasattr(stored.vectors, "hnsw"):
        exact = _exact_float(stored.chunks, ChunkingConfig(**stored.manifest["chunking"]), emb)
        out["hnsw"] = hnsw_recall(stored.vectors, exact, vectors)
    elif compare_hnsw:
        out["hnsw_same_vectors"] = _hnsw_from_flat(stored.vectors, vectors)
    return out


def case_scale_assistant(workdir: str) -> dict[str, Any]:
    """`Assistant.load` on the scale index: what the answerers (one per article) add to the load."""
    from assistant import Assistant

    with stopwatch() as t_load:
        bot = Assistant.load(Path(workdir) / "index", model="offline", announce=lambda _m: None)
    after = memory()
    with stopwatch() as t_ask:
        bot.ask("Đảng bộ Công an tỉnh kết nạp được bao nhiêu đảng viên mới?")
    return {"passages": len(bot.stored.chunks), "articles": len(bot.articles), "load_s": round(t_load[0], 2),
            "first_ask_ms": round(t_ask[0] * 1000, 1), "memory_after_load": after}


def _exact_float(chunks: list[Any], config: Any, emb: Any) -> Any:
    """Exact search over the passages' float32 vectors, re-embedded: the reference the
    (float16) HNSW index is measured against."""
    import faiss

    from assistant.ingest.chunking import search_text

    exact = faiss.IndexFlatIP(emb.dim)
    for i in range(0, len(chunks), 8192):
        exact.add(emb.embed_array([search_text(c, config) for c in chunks[i : i + 8192]]))
    return exact


def hnsw_recall(index: Any, exact: Any, vectors: np.ndarray, k: int = 10) -> dict[str, Any]:
    """recall@k of the HNSW index against exact search over its own vectors, per efSearch
    (one query at a time, as the searcher runs them)."""
    from assistant.search.retrieval import search_one

    _d, truth = exact.search(vectors, k)
    configured = int(index.hnsw.efSearch)
    sweep = []
    for ef in sorted({*EF_SWEEP, configured}):
        index.hnsw.efSearch = ef
        times, found = [], []
        for i in range(len(vectors)):
            start = time.perf_counter()
            _s, ids = search_one(index, vectors[i : i + 1], k)
            times.append((time.perf_counter() - start) * 1000)
            found.append(len(set(ids[0].tolist()) & set(truth[i].tolist())) / k)
        sweep.append({"ef_search": ef, "recall@10": round(float(np.mean(found)), 4), "search_ms": stats(times)})
    index.hnsw.efSearch = configured
    exact_ms = []
    for i in range(len(vectors)):
        start = time.perf_counter()
        search_one(exact, vectors[i : i + 1], k)
        exact_ms.append((time.perf_counter() - start) * 1000)
    chosen = next(s for s in sweep if s["ef_search"] == configured)
    return {"ef_search": configured, "recall@10": chosen["recall@10"], "sweep": sweep,
            "exact_search_ms": stats(exact_ms),
            "exact_over_hnsw_p50": ratio(stats(exact_ms)["p50"], chosen["search_ms"]["p50"])}


def _hnsw_from_flat(flat: Any, vectors: np.ndarray) -> dict[str, Any]:
    """At a size that gets the exact index: what HNSW would cost and find (same vectors)."""
    from assistant.search.store import new_faiss, train_sample

    hnsw = new_faiss(flat.ntotal, flat.d, flat_max=0)
    with stopwatch() as t_build:
        hnsw.train(flat.reconstruct_batch(np.array(train_sample(flat.ntotal), dtype=np.int64)))
        for i in range(0, flat.ntotal, 8192):
            hnsw.add(flat.reconstruct_n(i, min(8192, flat.ntotal - i)))
    return {"build_s": round(t_build[0], 2), **hnsw_recall(hnsw, flat, vectors)}


def case_optimisations(passages: int = 10000, seed: int = 2) -> dict[str, Any]:
    """Old vs new code of each hot spot, same data, same process."""
    import bm25s

    from assistant.ingest.text import lexical_tokens, query_tokens
    from assistant.search.embeddings import HashingEmbeddings
    from assistant.search.lexical import LexicalIndex, build_bm25, load_bm25, query_terms, save_bm25

    from .synth import ArticleModel, _bundled, queries

    model, rng = ArticleModel.from_article(_bundled()), random.Random(seed)
    texts = [model.paragraph(rng) for _ in range(passages)]
    qs = queries(texts, 200, seed=seed)
    emb = HashingEmbeddings()
    with stopwatch() as t_ref:
        ref = np.vstack([emb._vector(t) for t in texts])
    with stopwatch() as t_new:
        new = emb.embed_array(texts)
    with stopwatch() as t_old_bm25:
        old = bm25s.BM25()
        old.index([lexical_tokens(t) for t in texts], show_progress=False)
    with stopwatch() as t_new_bm25:
        fresh = build_bm25(texts)
    with tempfile.TemporaryDirectory() as tmp:
        save_bm25(fresh, Path(tmp))
        with stopwatch() as t_load_bm25:
            loaded = load_bm25(Path(tmp))
        same_scores = all(np.array_equal(old.get_scores(query_tokens(q)), loaded.get_scores(query_tokens(q)))
                          for q in qs[:50])
    lex = LexicalIndex(fresh)
    old_ms, new_ms = [], []
    for q in qs:
        t0 = time.perf_counter()
        scores = np.asarray(old.get_scores(query_tokens(q)))
        top = np.argpartition(-scores, 49)[:50]
        sorted(top.tolist(), key=lambda i: (-scores[i], i))
        t1 = time.perf_counter()
        lex.top(query_terms(q), 50)
        new_ms.append((time.perf_counter() - t1) * 1000)
        old_ms.append((t1 - t0) * 1000)
    return {
        "passages": passages,
        "embed": {"reference_s": round(t_ref[0], 3), "vectorised_s": round(t_new[0], 3),
                  "speedup": ratio(t_ref[0], t_new[0]), "identical": bool(np.array_equal(ref, new))},
        "bm25_build": {"bm25s_index_s": round(t_old_bm25[0], 3), "build_bm25_s": round(t_new_bm25[0], 3),
                       "speedup": ratio(t_old_bm25[0], t_new_bm25[0]), "identical_scores": same_scores},
        "searcher_bm25": {"rebuilt_on_load_s": round(t_old_bm25[0], 3), "loaded_s": round(t_load_bm25[0], 4),
                          "speedup": ratio(t_old_bm25[0], t_load_bm25[0], 0)},
        "bm25_query_ms": {"old": stats(old_ms), "new": stats(new_ms),
                          "speedup_p50": ratio(stats(old_ms)["p50"], stats(new_ms)["p50"])},
    }

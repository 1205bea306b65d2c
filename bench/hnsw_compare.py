"""float16 against float32 HNSW on the same vectors: what the index's storage type costs.

Run: .venv/bin/python -m bench.hnsw_compare [--passages 1000000]   (about 15 min at 1M, ~8 GiB)

Generates seeded paragraphs from the bundled article's vocabulary (bench/synth.py), embeds
them once with the offline embedder, and builds IndexHNSWSQ (float16) and IndexHNSWFlat
with the project's graph settings (M=32, efConstruction 40) over the same vectors; prints
build time, recall@10 against exact float32 search and single-query search time, at
efSearch 1024 (the project's setting) and 2048.
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    import faiss

    from assistant.search.embeddings import HashingEmbeddings
    from assistant.search.store import HNSW_EF_CONSTRUCTION, HNSW_M

    from .synth import ArticleModel, _bundled, queries

    ap = argparse.ArgumentParser(prog="bench.hnsw_compare", description=__doc__.split("\n\n")[0])
    ap.add_argument("--passages", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--corpus", choices=("paragraphs", "bench"), default="paragraphs",
                    help="generated paragraphs, or the scale benchmark's corpus (articles, chunked and "
                         "labelled as the index does it; slower)")
    args = ap.parse_args(argv)
    if args.corpus == "bench":
        texts, sources = _bench_corpus(args.passages)
        qs = queries(random.Random(1).sample(sources, min(len(sources), 20000)), args.queries, seed=1)
        del sources
    else:
        model, rng = ArticleModel.from_article(_bundled()), random.Random(0)
        texts = [model.paragraph(rng) for _ in range(args.passages)]
        qs = queries(texts, args.queries, seed=1)
    emb = HashingEmbeddings()
    vectors = np.empty((len(texts), emb.dim), dtype=np.float32)
    for i in range(0, len(texts), 8192):
        vectors[i : i + 8192] = emb.embed_array(texts[i : i + 8192])
    del texts
    q = emb.embed_array(qs)
    exact = faiss.IndexFlatIP(emb.dim)
    exact.add(vectors)
    _d, truth = exact.search(q, 10)
    del exact
    kinds = {
        "IndexHNSWSQ (float16)": lambda: faiss.IndexHNSWSQ(emb.dim, faiss.ScalarQuantizer.QT_fp16, HNSW_M,
                                                           faiss.METRIC_INNER_PRODUCT),
        "IndexHNSWFlat (float32)": lambda: faiss.IndexHNSWFlat(emb.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT),
    }
    for name, make in kinds.items():
        index = make()
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        start = time.perf_counter()
        if not index.is_trained:
            index.train(vectors[:20_000])
        for i in range(0, len(vectors), 8192):
            index.add(vectors[i : i + 8192])
        build = time.perf_counter() - start
        for ef in (1024, 2048):
            index.hnsw.efSearch = ef
            threads = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)
            start = time.perf_counter()
            _d, found = index.search(q, 10)
            per_query = (time.perf_counter() - start) / len(q) * 1000
            faiss.omp_set_num_threads(threads)
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found.tolist(), truth.tolist())])
            print(f"{name:24s} passages {len(vectors):,} build {build:6.0f} s efSearch {ef:5d} "
                  f"recall@10 {recall:.3f} search {per_query:.2f} ms", flush=True)
        del index
    return 0


def _bench_corpus(passages: int) -> tuple[list[str], list[str]]:
    """The search texts (what is embedded) and passage texts of bench/scale.py's corpus."""
    import tempfile
    from pathlib import Path

    from assistant.ingest.article import Article
    from assistant.ingest.chunking import ChunkingConfig, chunk_article, search_text

    from .synth import articles_for_passages, write_articles

    n_articles, body = articles_for_passages(passages)
    config = ChunkingConfig()
    texts: list[str] = []
    sources: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in write_articles(Path(tmp), n_articles, seed=0, paragraphs=body):
            for chunk in chunk_article(Article.read(path), config):
                texts.append(search_text(chunk, config))
                sources.append(chunk.text)
    return texts, sources


if __name__ == "__main__":
    raise SystemExit(main())

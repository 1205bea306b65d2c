"""The peer: the pipeline a LangChain user would write for this job, against ours, in one process.

Theirs: `RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)` over the
article (its normalised text, so both sides cite the same offsets; `add_start_index`
gives each chunk's offset), the same `HashingEmbeddings` in LangChain's `FAISS` vector
store (`from_texts`), LangChain's `BM25Retriever` (rank-bm25, whitespace tokens), both
fused by `EnsembleRetriever` with equal weights, k=4 each (the defaults of the docs).

Ours: `Assistant.build` / `retrieve` / `ask`, the same embedder (`model`: the offline one in
`make bench`, the bundled model in `bench/model_bench.py`); the peer retrieves only, ours
also answers (answer correctness reported beside). Quality on the shipped
test set's answerable questions: a passage is relevant when it contains the evidence
quote (`assistant.evaluate.testset.relevance` on offsets). Long passages make Hit@k easy, so
beside it: the characters a reader reads (top-1, top-3) and Hit within the first 1,000
characters of ranked text (a passage cut at the budget only counts for what was read).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from .common import ratio, stats, stopwatch

BUDGET = 1000
K = 4


def build_peer(text: str | list[str], embedder: Any) -> Any:
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.retrievers import BM25Retriever
    from langchain_community.vectorstores import FAISS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
    docs = splitter.create_documents([text] if isinstance(text, str) else text)
    texts, metas = [d.page_content for d in docs], [d.metadata for d in docs]
    dense = FAISS.from_texts(texts, embedder, metadatas=metas).as_retriever(search_kwargs={"k": K})
    lexical = BM25Retriever.from_texts(texts, metadatas=metas, k=K)
    return EnsembleRetriever(retrievers=[dense, lexical], weights=[0.5, 0.5])


def peer_spans(docs: list[Any]) -> list[tuple[int, int]]:
    return [(d.metadata["start_index"], d.metadata["start_index"] + len(d.page_content)) for d in docs]


def within_budget(spans: list[tuple[int, int]], budget: int = BUDGET) -> list[tuple[int, int]]:
    """The ranked spans as read up to `budget` characters (the last one cut short)."""
    out, left = [], budget
    for start, end in spans:
        if left <= 0:
            break
        out.append((start, min(end, start + left)))
        left -= end - start
    return out


def quality(ranked: list[list[tuple[int, int]]], evidence: list[list[tuple[int, int]]]) -> dict[str, float]:
    from assistant.evaluate.testset import hit_at, relevance

    n = len(ranked)
    rows = [relevance(r, e) for r, e in zip(ranked, evidence)]
    return {
        "hit@1": round(sum(hit_at(r, 1) for r in rows) / n, 3),
        "hit@3": round(sum(hit_at(r, 3) for r in rows) / n, 3),
        f"hit@{BUDGET}chars": round(sum(hit_at(relevance(within_budget(r), e), 10**6)
                                        for r, e in zip(ranked, evidence)) / n, 3),
        "chars_top1": round(sum(r[0][1] - r[0][0] for r in ranked if r) / n, 1),
        "chars_top3": round(sum(sum(e - s for s, e in r[:3]) for r in ranked) / n, 1),
        "questions": n,
    }


def case_peer(rounds: int = 5, model: str = "offline") -> dict[str, Any]:
    """Both pipelines on the bundled article with the same embedder (`model`)."""
    from assistant import Assistant
    from assistant.answer.question import analyse
    from assistant.evaluate.testset import evidence_spans, load_testset
    from assistant.ingest.article import Article
    from assistant.paths import bundled_article, bundled_testset
    from assistant.search.resolve import resolve_embedder

    text = Article.read(bundled_article()).text
    cases = [c for c in load_testset(bundled_testset()) if c.answerable]
    evidence = [evidence_spans(text, c.evidence) for c in cases]
    build = {"ours": [], "peer": []}
    embedder = resolve_embedder(model)
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds + 1):
            with stopwatch() as t_ours:
                bot = Assistant.build([], Path(tmp) / f"i{r}", model, announce=lambda _m: None)
            with stopwatch() as t_peer:
                peer = build_peer(text, embedder)
            if r:  # the first round pays for imports
                build["ours"].append(t_ours[0] * 1000)
                build["peer"].append(t_peer[0] * 1000)
        ours_ranked = [[(p.start, p.end) for p in bot.retrieve(c.question, k=10)] for c in cases]
        peer_ranked = [peer_spans(peer.invoke(c.question)) for c in cases]
        latency: dict[str, list[float]] = {"ours_retrieve": [], "ours_ask": [], "peer_retrieve": []}
        clock = time.perf_counter
        for _ in range(rounds):
            for c in cases:
                analyse.cache_clear()  # every timed call meets its question for the first time
                t0 = clock()
                bot.retrieve(c.question, k=K)
                t1 = clock()
                analyse.cache_clear()
                t1 = clock()
                bot.ask(c.question, k=K)
                t2 = clock()
                peer.invoke(c.question)
                t3 = clock()
                latency["ours_retrieve"].append((t1 - t0) * 1000)
                latency["ours_ask"].append((t2 - t1) * 1000)
                latency["peer_retrieve"].append((t3 - t2) * 1000)
    lat = {k: stats(v, 4) for k, v in latency.items()}
    b = {k: stats(v) for k, v in build.items()}
    q_ours, q_peer = quality(ours_ranked, evidence), quality(peer_ranked, evidence)
    answered = [bot.ask(c.question, k=K) for c in cases]
    from assistant.evaluate.testset import contains_gold

    q_ours["answer_correct"] = round(sum(a.answered and contains_gold(a.text, c.answers) == 1.0
                                         for a, c in zip(answered, cases)) / len(cases), 3)
    return {
        "model": model, "build_ms": b, "latency_ms": lat, "quality": {"ours": q_ours, "peer": q_peer},
        "passages": {"ours": len(bot.stored.chunks), "peer": len(peer.retrievers[1].docs)},
        "ratios": {
            "build_peer_over_ours": ratio(b["peer"]["p50"], b["ours"]["p50"], 2),
            "retrieve_peer_over_ours_p50": ratio(lat["peer_retrieve"]["p50"], lat["ours_retrieve"]["p50"]),
            "retrieve_peer_over_ours_p95": ratio(lat["peer_retrieve"]["p95"], lat["ours_retrieve"]["p95"]),
            "peer_retrieve_over_ours_ask_p50": ratio(lat["peer_retrieve"]["p50"], lat["ours_ask"]["p50"]),
            "peer_retrieve_over_ours_ask_p95": ratio(lat["peer_retrieve"]["p95"], lat["ours_ask"]["p95"]),
        },
    }


def case_peer_corpus(articles: int = 100, rounds: int = 3, seed: int = 0) -> dict[str, Any]:
    """The same two pipelines over `articles` synthetic articles: build and retrieval latency
    (no quality: the test set is about the bundled article)."""
    from assistant import Assistant, HashingEmbeddings
    from assistant.answer.question import analyse
    from assistant.ingest.article import Article

    from .synth import queries, write_articles

    with tempfile.TemporaryDirectory() as tmp:
        files = write_articles(Path(tmp) / "src", articles, seed=seed)
        texts = [Article.read(f).text for f in files]
        build: dict[str, list[float]] = {"ours": [], "peer": []}
        for r in range(rounds):
            with stopwatch() as t_ours:
                bot = Assistant.build(files, Path(tmp) / f"i{r}", "offline", announce=lambda _m: None)
            with stopwatch() as t_peer:
                peer = build_peer(texts, HashingEmbeddings())
            build["ours"].append(t_ours[0] * 1000)
            build["peer"].append(t_peer[0] * 1000)
        qs = queries([c.text for c in bot.stored.chunks], 200, seed=seed + 1)
        for q in qs[:10]:
            bot.retrieve(q, k=K)
            peer.invoke(q)
        latency: dict[str, list[float]] = {"ours_retrieve": [], "peer_retrieve": []}
        for q in qs:
            analyse.cache_clear()
            t0 = time.perf_counter()
            bot.retrieve(q, k=K)
            t1 = time.perf_counter()
            peer.invoke(q)
            latency["ours_retrieve"].append((t1 - t0) * 1000)
            latency["peer_retrieve"].append((time.perf_counter() - t1) * 1000)
    lat = {k: stats(v, 3) for k, v in latency.items()}
    b = {k: stats(v) for k, v in build.items()}
    return {"articles": articles, "build_ms": b, "latency_ms": lat,
            "passages": {"ours": len(bot.stored.chunks), "peer": len(peer.retrievers[1].docs)},
            "ratios": {"build_peer_over_ours": ratio(b["peer"]["p50"], b["ours"]["p50"], 2),
                       "retrieve_peer_over_ours_p50": ratio(lat["peer_retrieve"]["p50"], lat["ours_retrieve"]["p50"]),
                       "retrieve_peer_over_ours_p95": ratio(lat["peer_retrieve"]["p95"], lat["ours_retrieve"]["p95"])}}

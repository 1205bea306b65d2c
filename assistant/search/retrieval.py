"""Dense (FAISS), lexical (BM25 via bm25s) and hybrid (reciprocal rank fusion) retrieval.

The lexical side indexes syllables and syllable bigrams in two forms, exact and
accent-folded (see `text.lexical_tokens`), so "dang vien moi" finds "đảng viên mới"
while a question typed with accents still prefers exact matches. Fusion is weighted
RRF: `score = sum_m w_m / (rrf_k + rank_m)`; the defaults come from `assistant eval
--compare` on the dev split (README, "Retrieval modes").

It leaves out re-ranking with a cross-encoder on purpose: it needs a second model the
offline machine cannot download, and RRF over these two signals already reaches the
targets on the project's test set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from assistant.ingest.chunking import Chunk, ChunkingConfig, search_text
from assistant.search.embeddings import Embedder
from assistant.search.lexical import LexicalIndex, build_bm25, query_terms

MODES = ("hybrid", "dense", "lexical")


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk. `article.text[start:end] == text` for its article.

    `score` is the score of the chosen mode (RRF for hybrid, cosine for dense, BM25 for
    lexical); `dense_score` and `lexical_score` are the raw signals, whatever the mode.
    """

    text: str
    score: float
    rank: int
    chunk_id: str
    paragraph: int
    start: int
    end: int
    section: str = "body"
    article: int = 0
    dense_score: float = 0.0
    lexical_score: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class FusionConfig:
    """Weights of the two signals in hybrid mode and the RRF constant.

    Defaults from `python -m bench.tune_retrieval` on the dev split with the bundled
    multilingual-e5-small (160-token chunks): dense 0.25 / lexical 1.0 gives Hit@1 0.908,
    against 0.879 at 0.5 / 1.0 and 0.776 at equal weights; rrf_k barely matters. The model
    alone is the weaker ranking on Vietnamese (dense Hit@1 0.649, BM25 0.914).
    """

    dense_weight: float = 0.25
    lexical_weight: float = 1.0
    rrf_k: int = 60
    candidates: int = 50

    def __post_init__(self) -> None:
        if self.rrf_k < 1:
            raise ValueError(f"rrf_k must be >= 1, got {self.rrf_k}")
        if self.dense_weight < 0 or self.lexical_weight < 0:
            raise ValueError("fusion weights must be >= 0")


def rrf(rankings: list[list[int]], weights: list[float], k: int = 60) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion of several rankings of item ids, best first.

    Ties are broken by the first ranking's order, then by item id, so results are stable.
    >>> rrf([[1, 2, 3], [3, 1]], [1.0, 1.0], k=60)[0][0]
    1
    """
    parts: dict[int, list[float]] = {}
    first_pos: dict[int, int] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, start=1):
            parts.setdefault(item, []).append(weight / (k + rank))
            first_pos.setdefault(item, len(first_pos))
    scores = {item: math.fsum(p) for item, p in parts.items()}  # exact sums: ties stay ties
    return sorted(scores.items(), key=lambda kv: (-kv[1], first_pos[kv[0]], kv[0]))


def search_one(index: Any, query: Any, n: int) -> Any:
    """`index.search` for one query, on this thread only: a single exact search is bound by
    memory bandwidth, and waking OpenMP's other threads made it 1.5-2x slower here (bench/).
    OpenMP's thread count is per calling thread, so other threads and builds are unaffected."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(query, n)
    finally:
        faiss.omp_set_num_threads(before)


class HybridSearcher:
    """Searches one index's chunks; thread-safe (BM25 scoring and FAISS search are read-only).

    `bm25` is the index's saved BM25 (`StoredIndex.bm25`); without it, one is built from
    the chunks' search texts (the same scores, at a cost that grows with the index).
    """

    def __init__(self, chunks: list[Chunk], chunk_articles: list[int], vectors: object, embedder: Embedder,
                 fusion: FusionConfig | None = None, chunking: ChunkingConfig | None = None, bm25: Any = None):
        self.chunks = chunks
        self.chunk_articles = chunk_articles
        self.vectors = vectors
        self.embedder = embedder
        self.fusion = fusion or FusionConfig()
        if bm25 is None:
            bm25 = build_bm25(search_text(c, chunking) for c in chunks)
        self.bm25 = bm25
        self.lexical = LexicalIndex(bm25)

    def dense_scores(self, question: str, n: int) -> list[tuple[int, float]]:
        query = self.embedder.embed_array([question], query=True)
        n = min(n, len(self.chunks))
        if n == 0:
            return []
        scores, ids = search_one(self.vectors, query, n)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def lexical_scores(self, question: str, n: int) -> list[tuple[int, float]]:
        """The `n` best BM25 matches (score > 0), best first, ties by chunk order."""
        tokens = query_terms(question)
        if not tokens or not self.chunks:
            return []
        return self.lexical.top(tokens, n)

    def search(self, question: str, k: int = 4, mode: str = "hybrid",
               lexical_query: str | None = None) -> list[Passage]:
        """Top `k` passages; `lexical_query` replaces the question on the BM25 side (an English
        question is matched lexically through its Vietnamese glossary form)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        pool = max(k, self.fusion.candidates)
        dense = self.dense_scores(question, pool) if mode != "lexical" else []
        lexical = self.lexical_scores(lexical_query or question, pool) if mode != "dense" else []
        dense_map, lexical_map = dict(dense), dict(lexical)
        if mode == "dense":
            ranked = dense
        elif mode == "lexical":
            ranked = lexical
        else:
            ranked = rrf([[i for i, _ in dense], [i for i, _ in lexical]],
                         [self.fusion.dense_weight, self.fusion.lexical_weight], self.fusion.rrf_k)
        out = []
        for rank, (i, score) in enumerate(ranked[:k], start=1):
            c = self.chunks[i]
            out.append(Passage(c.text, round(score, 6), rank, c.chunk_id, c.paragraph, c.start, c.end, c.section,
                               self.chunk_articles[i], round(dense_map.get(i, 0.0), 6),
                               round(lexical_map.get(i, 0.0), 6)))
        return out

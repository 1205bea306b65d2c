"""Search: the bundled model and its embedders, the lexical (BM25) and FAISS indexes on disk,
the article cache, and hybrid retrieval returning `Passage`s with verbatim offsets."""

from assistant.search.embeddings import DEFAULT_MODEL, EmbedderInfo, HashingEmbeddings, SentenceTransformerEmbeddings
from assistant.search.resolve import resolve_embedder
from assistant.search.retrieval import FusionConfig, HybridSearcher, Passage

__all__ = ["DEFAULT_MODEL", "EmbedderInfo", "FusionConfig", "HashingEmbeddings", "HybridSearcher", "Passage",
           "SentenceTransformerEmbeddings", "resolve_embedder"]

"""Build an index: articles -> chunks -> vectors -> FAISS + BM25, saved atomically under a lock.

The only stage that writes. Embedding runs in batches behind a progress bar (shown on a
terminal, or when asked) and each batch goes straight into the FAISS index, whose type
fits the number of passages (`store.new_faiss`), so a million passages never exist as one
more copy of their vectors. The BM25 index is built here too (`lexical.build_bm25`) and
saved with the rest. Chunks are sized with the embedder's own token counter and never
exceed its maximum sequence length.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from assistant.ingest.article import Article
from assistant.ingest.chunking import Chunk, ChunkingConfig, chunk_article, search_text
from assistant.search.embeddings import Embedder
from assistant.search.lexical import build_bm25
from assistant.search.store import FLAT_MAX, new_faiss, save_index, train_sample

BATCH = 256  # texts per embedder call (one progress step)
ADD_BATCH = 8192  # vectors per FAISS add (HNSW inserts a batch in parallel)


def effective_chunking(chunking: ChunkingConfig, embedder: Embedder) -> ChunkingConfig:
    """Cap the chunk budget at the model's maximum sequence length (it truncates beyond)."""
    limit = embedder.info.max_seq_length
    return replace(chunking, max_tokens=min(chunking.max_tokens, limit)) if chunking.max_tokens > limit else chunking


def build_index(
    articles: list[Article], embedder: Embedder, directory: Path, chunking: ChunkingConfig | None = None,
    progress: bool | None = None, locked: bool = False, flat_max: int = FLAT_MAX,
) -> dict[str, Any]:
    """Chunk, embed and save; returns the manifest. Takes `directory`'s lock to write
    (pass `locked=True` when the caller already holds it). Above `flat_max` passages the
    vectors go into an HNSW index instead of an exact one."""
    from contextlib import nullcontext

    from filelock import FileLock

    chunking = effective_chunking(chunking or ChunkingConfig(), embedder)
    chunks: list[Chunk] = []
    owners: list[int] = []
    for number, article in enumerate(articles):
        for chunk in chunk_article(article, chunking, embedder.count_tokens):
            chunk_id = chunk.chunk_id if len(articles) == 1 else f"a{number}-{chunk.chunk_id}"
            chunks.append(replace(chunk, chunk_id=chunk_id))
            owners.append(number)
    texts = _LazyTexts(chunks, chunking)  # (search texts are made batch by batch, never all at once)
    bm25 = build_bm25(texts)  # first: its working arrays are freed before the vectors exist
    vectors = embed_into_faiss(embedder, texts, progress, flat_max)
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    with nullcontext() if locked else FileLock(str(lock_path(directory))):
        return save_index(directory, articles, chunks, owners, vectors, asdict_info(embedder), chunking, bm25)


def lock_path(directory: Path) -> Path:
    return Path(directory).parent / f".{Path(directory).name}.lock"


def asdict_info(embedder: Embedder) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(embedder.info)


class _LazyTexts(Sequence[str]):
    """The chunks' search texts, made on access."""

    def __init__(self, chunks: list[Chunk], chunking: ChunkingConfig):
        self.chunks, self.chunking = chunks, chunking

    def __len__(self) -> int:
        return len(self.chunks)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [search_text(c, self.chunking) for c in self.chunks[i]]
        return search_text(self.chunks[i], self.chunking)


def _embedded(embedder: Embedder, texts: Sequence[str], progress: bool | None) -> Iterator[np.ndarray]:
    """float32 vectors of `texts`, in order, ADD_BATCH rows at a time."""
    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    with tqdm(total=len(texts), desc="Embedding passages", unit="passage", disable=not show, leave=False) as bar:
        for start in range(0, len(texts), ADD_BATCH):
            part = list(texts[start : start + ADD_BATCH])
            out = np.empty((len(part), embedder.info.dim), dtype=np.float32)
            for i in range(0, len(part), BATCH):
                out[i : i + BATCH] = embedder.embed_array(part[i : i + BATCH])
                bar.update(min(BATCH, len(part) - i))
            yield out


def embed_into_faiss(embedder: Embedder, texts: Sequence[str], progress: bool | None = None,
                     flat_max: int = FLAT_MAX) -> Any:
    """A FAISS index (`store.new_faiss`) of the passages' vectors, filled batch by batch."""
    index = new_faiss(len(texts), embedder.info.dim, flat_max)
    if not index.is_trained:  # (a quantiser that needs training learns from a sample first)
        index.train(embedder.embed_array([texts[i] for i in train_sample(len(texts))]))
    for vectors in _embedded(embedder, texts, progress):
        index.add(vectors)
    return index


def embed_passages(embedder: Embedder, texts: list[str], progress: bool | None = None) -> np.ndarray:
    """All the passages' vectors as one (n, dim) float32 array."""
    parts = list(_embedded(embedder, texts, progress))
    return np.vstack(parts) if parts else np.zeros((0, embedder.info.dim), dtype=np.float32)

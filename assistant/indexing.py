"""Build an index: articles -> chunks -> vectors -> FAISS, saved atomically under a lock.

The only stage that writes. Embedding runs in batches behind a progress bar (shown on a
terminal, or when asked). Chunks are sized with the embedder's own token counter and
never exceed its maximum sequence length.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .article import Article
from .chunking import Chunk, ChunkingConfig, chunk_article, search_text
from .embeddings import Embedder
from .store import build_faiss, save_index

BATCH = 64


def effective_chunking(chunking: ChunkingConfig, embedder: Embedder) -> ChunkingConfig:
    """Cap the chunk budget at the model's maximum sequence length (it truncates beyond)."""
    limit = embedder.info.max_seq_length
    return replace(chunking, max_tokens=min(chunking.max_tokens, limit)) if chunking.max_tokens > limit else chunking


def build_index(
    articles: list[Article], embedder: Embedder, directory: Path, chunking: ChunkingConfig | None = None,
    progress: bool | None = None, locked: bool = False,
) -> dict[str, Any]:
    """Chunk, embed and save; returns the manifest. Takes `directory`'s lock to write
    (pass `locked=True` when the caller already holds it)."""
    from contextlib import nullcontext

    from filelock import FileLock

    chunking = effective_chunking(chunking or ChunkingConfig(), embedder)
    chunks: list[Chunk] = []
    owners: list[int] = []
    for number, article in enumerate(articles):
        for chunk in chunk_article(article, chunking, embedder.count_tokens):
            chunks.append(replace(chunk, chunk_id=chunk.chunk_id if len(articles) == 1 else f"a{number}-{chunk.chunk_id}"))
            owners.append(number)
    vectors = embed_passages(embedder, [search_text(c, chunking) for c in chunks], progress)
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    with nullcontext() if locked else FileLock(str(lock_path(directory))):
        return save_index(directory, articles, chunks, owners, build_faiss(vectors), asdict_info(embedder), chunking)


def lock_path(directory: Path) -> Path:
    return Path(directory).parent / f".{Path(directory).name}.lock"


def asdict_info(embedder: Embedder) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(embedder.info)


def embed_passages(embedder: Embedder, texts: list[str], progress: bool | None = None) -> np.ndarray:
    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    parts = []
    with tqdm(total=len(texts), desc="Embedding passages", unit="passage", disable=not show, leave=False) as bar:
        for i in range(0, len(texts), BATCH):
            batch = texts[i : i + BATCH]
            parts.append(embedder.embed_array(batch))
            bar.update(len(batch))
    if not parts:
        return np.zeros((0, embedder.info.dim), dtype=np.float32)
    return np.vstack(parts).astype(np.float32)

"""The index on disk: FAISS vectors + chunk records + articles + a checked manifest.

```
index/<name>/
  manifest.json   format version, embedder, chunking, article sha256, file sha256s, versions
  vectors.faiss   faiss.write_index output (inner product over L2-normalised vectors)
  chunks.jsonl    one chunk record per line
  articles.jsonl  the normalised article texts and their parts (offsets point into them)
```

Writes go to a temporary sibling directory that is renamed into place under a file lock,
so a killed build leaves the previous index intact and two builds never interleave.
Loading verifies every file's sha256 against the manifest *before* parsing it (a vector
file from elsewhere is refused unless its checksum matches) and names the bad file in
the error. Nothing is ever pickled. Staleness (another article, model or chunking) is
the caller's decision: `manifest_mismatch()` says what differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .article import Article, Paragraph
from .chunking import Chunk, ChunkingConfig
from .errors import IndexCorruptError
from .text import split_sentences

FORMAT = "vi-article-assistant/index"
FORMAT_VERSION = 1
FILES = ("vectors.faiss", "chunks.jsonl", "articles.jsonl")


@dataclass
class StoredIndex:
    """Everything a retriever needs, as plain data."""

    articles: list[Article]
    chunks: list[Chunk]
    chunk_articles: list[int]  # article number of each chunk
    vectors: Any  # a faiss.Index
    manifest: dict[str, Any]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def corpus_sha256(articles: list[Article]) -> str:
    return hashlib.sha256("\x1e".join(a.sha256 for a in articles).encode()).hexdigest()


def build_faiss(vectors: np.ndarray) -> Any:
    import faiss

    index = faiss.IndexFlatIP(int(vectors.shape[1]))
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def save_index(
    directory: Path, articles: list[Article], chunks: list[Chunk], chunk_articles: list[int],
    vectors: Any, embedder: dict[str, Any], chunking: ChunkingConfig,
) -> dict[str, Any]:
    """Write the index atomically into `directory` (replacing any previous one)."""
    import faiss

    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.parent / f".{directory.name}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    tmp.mkdir()
    try:
        faiss.write_index(vectors, str(tmp / "vectors.faiss"))
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as fh:
            for chunk, art in zip(chunks, chunk_articles):
                fh.write(json.dumps({**chunk.to_record(), "article": art}, ensure_ascii=False) + "\n")
        with (tmp / "articles.jsonl").open("w", encoding="utf-8") as fh:
            for art in articles:
                fh.write(json.dumps(_article_record(art), ensure_ascii=False) + "\n")
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "embedder": embedder,
            "chunking": asdict(chunking),
            "faiss": {"index_type": "IndexFlatIP", "ntotal": int(vectors.ntotal), "dim": int(vectors.d)},
            "articles": [{"source": a.source, "sha256": a.sha256, "title": a.title, "date": a.date,
                          "author": a.author, "chars": len(a.text)} for a in articles],
            "corpus_sha256": corpus_sha256(articles),
            "files": {name: sha256_file(tmp / name) for name in FILES},
            "versions": _versions(),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        _swap_into_place(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def _swap_into_place(tmp: Path, directory: Path) -> None:
    old = directory.parent / f".{directory.name}.old-{os.getpid()}-{time.monotonic_ns()}"
    if directory.exists():
        os.replace(directory, old)
    os.replace(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(directory: Path) -> dict[str, Any]:
    path = Path(directory) / "manifest.json"
    if not path.is_file():
        raise IndexCorruptError(path, "missing")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IndexCorruptError(path, f"not valid JSON ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexCorruptError(path, "not a manifest of this tool's index format")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexCorruptError(
            path, f"format version {manifest.get('format_version')!r}, this version reads {FORMAT_VERSION}"
        )
    return manifest


def load_index(directory: Path) -> StoredIndex:
    """Load and verify an index; `IndexCorruptError` names the first bad file."""
    import faiss

    directory = Path(directory)
    manifest = read_manifest(directory)
    expected = manifest.get("files") or {}
    for name in FILES:
        path = directory / name
        if not path.is_file():
            raise IndexCorruptError(path, "missing")
        if sha256_file(path) != expected.get(name):
            raise IndexCorruptError(path, "checksum does not match the manifest (damaged or edited)")
    try:
        vectors = faiss.read_index(str(directory / "vectors.faiss"))
    except RuntimeError as err:
        raise IndexCorruptError(directory / "vectors.faiss", f"unreadable by faiss ({str(err)[:120]})") from None
    articles = [_article_from_record(r) for r in _read_jsonl(directory / "articles.jsonl")]
    records = _read_jsonl(directory / "chunks.jsonl")
    try:
        chunks = [Chunk.from_record(r) for r in records]
        chunk_articles = [int(r.get("article", 0)) for r in records]
        bad = next((c for c, a in zip(chunks, chunk_articles) if articles[a].text[c.start : c.end] != c.text), None)
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise IndexCorruptError(directory / "chunks.jsonl", f"malformed chunk record ({err})") from None
    if bad is not None:
        raise IndexCorruptError(directory / "chunks.jsonl", f"chunk {bad.chunk_id} does not match the article text")
    if vectors.ntotal != len(chunks) or vectors.d != manifest.get("embedder", {}).get("dim"):
        raise IndexCorruptError(directory / "vectors.faiss", f"{vectors.ntotal} vectors of dim {vectors.d} "
                                f"do not match {len(chunks)} chunks and the manifest's dimension")
    return StoredIndex(articles, chunks, chunk_articles, vectors, manifest)


def manifest_mismatch(manifest: dict[str, Any], *, embedder: dict[str, Any] | None = None,
                      chunking: ChunkingConfig | None = None, corpus: str | None = None) -> str | None:
    """Why a manifest does not fit what is asked for, or None when it does."""
    if corpus is not None and manifest.get("corpus_sha256") != corpus:
        return "the article text changed"
    if chunking is not None and manifest.get("chunking") != asdict(chunking):
        return f"chunking changed ({manifest.get('chunking')} -> {asdict(chunking)})"
    if embedder is not None:
        built = {k: manifest.get("embedder", {}).get(k) for k in embedder}
        if built != embedder:
            return f"embedder changed ({built.get('model')} -> {embedder.get('model')})"
    return None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IndexCorruptError(path, f"not valid JSON lines ({err})") from None


def _article_record(article: Article) -> dict[str, Any]:
    return {
        "source": article.source, "title": article.title, "date": article.date, "author": article.author,
        "text": article.text, "paragraphs": [[p.kind, p.start, p.end] for p in article.paragraphs],
    }


def _article_from_record(rec: dict[str, Any]) -> Article:
    """Rebuild an Article from its record (sentences are re-split deterministically)."""
    from .article import Sentence

    text = rec["text"]
    paragraphs = tuple(Paragraph(i, kind, s, e, text[s:e]) for i, (kind, s, e) in enumerate(rec["paragraphs"]))
    sentences: list[Sentence] = []
    for p in paragraphs:
        spans = split_sentences(p.text, offset=p.start) if p.kind in {"lead", "body"} else [(p.start, p.end, p.text)]
        sentences.extend(Sentence(f"s{len(sentences):03d}", p.index, s, e, t) for s, e, t in spans)
    return Article(text, paragraphs, tuple(sentences), rec.get("title"), rec.get("date"), rec.get("author"),
                   rec.get("source", "<index>"))


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("vi-article-assistant", "faiss-cpu", "numpy", "bm25s", "sentence-transformers"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out

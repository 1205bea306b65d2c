"""The index on disk: FAISS vectors + chunk records + articles + a checked manifest.

```
index/<name>/
  manifest.json   format version, embedder, chunking, faiss index type, file sha256s, versions
  vectors.faiss   faiss.write_index output (inner product over L2-normalised vectors):
                  IndexFlatIP up to FLAT_MAX vectors (exact), IndexHNSWSQ above (HNSW graph
                  over float16 vectors: half the memory of float32; efSearch 2048 keeps
                  recall@10 above 0.9 at 1M passages, bench/hnsw_compare.py)
  chunks.jsonl    one chunk record per line
  articles.jsonl  the normalised article texts, their paragraphs and sentence spans
  *.index.npy, vocab.index.json, params.index.json
                  the BM25 index, saved by bm25s (JSON + .npy, see `lexical.BM25_FILES`)
```

Writes go to a temporary sibling directory that is renamed into place under a file lock,
so a killed build leaves the previous index intact and two builds never interleave.
Loading verifies every file's sha256 against the manifest *before* parsing it (a vector
file from elsewhere is refused unless its checksum matches) and names the bad file in
the error. Nothing is ever pickled (.npy files are read with allow_pickle=False). Large
BM25 arrays are memory-mapped. Format 1 indexes (no BM25 files) still load; their BM25
index is built in memory. Staleness (another article, model or chunking) is
the caller's decision: `manifest_mismatch()` says what differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import IndexCorruptError
from assistant.ingest.article import Article, Paragraph
from assistant.ingest.chunking import Chunk, ChunkingConfig
from assistant.ingest.text import split_sentences
from assistant.search.lexical import BM25_FILES, load_bm25, save_bm25

FORMAT = "vi-article-assistant/index"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
FILES_V1 = ("vectors.faiss", "chunks.jsonl", "articles.jsonl")
FILES = (*FILES_V1, *BM25_FILES)
FLAT_MAX = 200_000  # exact search up to here; HNSW above
TRAIN_SAMPLE = 20_000  # vectors a quantiser that needs training learns from (float16 needs none)
# efSearch: the smallest power of two with recall@10 >= 0.9 against exact float32 search at 1M
# passages of the scale benchmark's corpus with float16 vectors (`bench/hnsw_compare.py --corpus
# bench`: 0.878 at 1024, 0.919 at 2048, ~17 ms a search)
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 40, 2048
MMAP_MIN_DOCS = 100_000  # memory-map the BM25 arrays of indexes at least this large


@dataclass
class StoredIndex:
    """Everything a retriever needs, as plain data."""

    articles: list[Article]
    chunks: list[Chunk]
    chunk_articles: list[int]  # article number of each chunk
    vectors: Any  # a faiss.Index
    manifest: dict[str, Any]
    bm25: Any = None  # a bm25s.BM25 (None for a format 1 index: built in memory by the searcher)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def corpus_sha256(articles: list[Article]) -> str:
    return hashlib.sha256("\x1e".join(a.sha256 for a in articles).encode()).hexdigest()


def new_faiss(n: int, dim: int, flat_max: int = FLAT_MAX, ef_search: int = HNSW_EF_SEARCH) -> Any:
    """An empty index for `n` vectors: exact IndexFlatIP up to `flat_max`, else IndexHNSWSQ
    (inner product, M=32, float16 vectors). Train it when `index.is_trained` is false (see
    `build_faiss`), then add vectors in batches of a few thousand."""
    import faiss

    if n <= flat_max:
        return faiss.IndexFlatIP(dim)
    index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_fp16, HNSW_M,  # type: ignore[arg-type]
                              faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = ef_search
    return index


def train_sample(n: int, size: int = TRAIN_SAMPLE, seed: int = 0) -> list[int]:
    """Positions of the (seeded, sorted) sample an untrained index learns from."""
    import random

    return sorted(random.Random(seed).sample(range(n), min(n, size)))


def build_faiss(vectors: np.ndarray, flat_max: int = FLAT_MAX, ef_search: int = HNSW_EF_SEARCH) -> Any:
    """A searchable index of `vectors`, of the type that fits their number (see `new_faiss`)."""
    index = new_faiss(len(vectors), int(vectors.shape[1]), flat_max, ef_search)
    if not index.is_trained:
        index.train(np.ascontiguousarray(vectors[train_sample(len(vectors))], dtype=np.float32))
    for i in range(0, len(vectors), 16384):
        index.add(np.ascontiguousarray(vectors[i : i + 16384], dtype=np.float32))
    return index


def faiss_entry(index: Any) -> dict[str, Any]:
    """The manifest's "faiss" entry: type, size and (for HNSW) the graph parameters."""
    entry: dict[str, Any] = {"index_type": type(index).__name__, "metric": "inner_product",
                             "ntotal": int(index.ntotal), "dim": int(index.d)}
    if hasattr(index, "hnsw"):
        entry.update(M=HNSW_M, ef_construction=int(index.hnsw.efConstruction), ef_search=int(index.hnsw.efSearch))
    if type(index).__name__ == "IndexHNSWSQ":
        entry["quantizer"] = "QT_fp16"
    return entry


def save_index(
    directory: Path, articles: list[Article], chunks: list[Chunk], chunk_articles: list[int],
    vectors: Any, embedder: dict[str, Any], chunking: ChunkingConfig, bm25: Any = None,
) -> dict[str, Any]:
    """Write the index atomically into `directory` (replacing any previous one). `bm25` is
    the lexical index of the chunks' search texts (`lexical.build_bm25`); built here if None."""
    import faiss

    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(directory)  # the caller holds the directory's lock
    tmp = directory.parent / f".{directory.name}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    tmp.mkdir()
    try:
        if bm25 is None:
            from assistant.ingest.chunking import search_text
            from assistant.search.lexical import build_bm25

            bm25 = build_bm25(search_text(c, chunking) for c in chunks)
        save_bm25(bm25, tmp)
        faiss.write_index(vectors, str(tmp / "vectors.faiss"))
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as fh:
            for chunk, owner in zip(chunks, chunk_articles):
                fh.write(json.dumps({**chunk.to_record(), "article": owner}, ensure_ascii=False) + "\n")
        with (tmp / "articles.jsonl").open("w", encoding="utf-8") as fh:
            for art in articles:
                fh.write(json.dumps(article_record(art), ensure_ascii=False) + "\n")
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "embedder": embedder,
            "chunking": asdict(chunking),
            "faiss": faiss_entry(vectors),
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


def _leftovers(directory: Path, kind: str) -> list[Path]:
    """Siblings `.NAME.tmp-PID-NS` / `.NAME.old-PID-NS` that builds leave while they swap."""
    return sorted(directory.parent.glob(f".{directory.name}.{kind}-*"), key=lambda p: p.name)


def _owner_dead(path: Path) -> bool:
    try:
        pid = int(path.name.rsplit(".", 1)[1].split("-")[1])
        os.kill(pid, 0)
    except (IndexError, ValueError):
        return False
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False  # alive: a build in progress owns it


def recover(directory: Path) -> bool:
    """A build killed between its two renames leaves the previous index as `.NAME.old-*`:
    put it back when nothing stands at `directory`. Only leftovers of dead processes count."""
    directory = Path(directory)
    if (directory / "manifest.json").exists():
        return False
    for old in reversed(_leftovers(directory, "old")):
        if _owner_dead(old) and (old / "manifest.json").is_file():
            try:
                if directory.is_dir() and not any(directory.iterdir()):
                    directory.rmdir()
                os.replace(old, directory)
                return True
            except OSError:
                return False
    return False


def clean_leftovers(directory: Path) -> None:
    """Remove what killed builds left beside `directory` (call with its lock held)."""
    recover(directory)
    for path in _leftovers(directory, "tmp") + _leftovers(directory, "old"):
        if _owner_dead(path):
            shutil.rmtree(path, ignore_errors=True)


def read_manifest(directory: Path) -> dict[str, Any]:
    recover(Path(directory))
    path = Path(directory) / "manifest.json"
    if not path.is_file():
        raise IndexCorruptError(path, "missing")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IndexCorruptError(path, f"not valid JSON ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexCorruptError(path, "not a manifest of this tool's index format")
    if manifest.get("format_version") not in READABLE_VERSIONS:
        raise IndexCorruptError(
            path, f"format version {manifest.get('format_version')!r}, this version reads {FORMAT_VERSION}"
        )
    return manifest


def load_index(directory: Path, mmap: bool | None = None) -> StoredIndex:
    """Load and verify an index; `IndexCorruptError` names the first bad file. `mmap`: map the
    BM25 arrays instead of reading them (default: for MMAP_MIN_DOCS passages and more)."""
    import faiss

    directory = Path(directory)
    manifest = read_manifest(directory)
    expected = manifest.get("files") or {}
    version = manifest["format_version"]
    for name in FILES if version >= 2 else FILES_V1:
        path = directory / name
        if not path.is_file():
            raise IndexCorruptError(path, "missing")
        if sha256_file(path) != expected.get(name):
            raise IndexCorruptError(path, "checksum does not match the manifest (damaged or edited)")
    try:
        vectors = faiss.read_index(str(directory / "vectors.faiss"))
    except RuntimeError as err:
        raise IndexCorruptError(directory / "vectors.faiss", f"unreadable by faiss ({str(err)[:120]})") from None
    entry = manifest.get("faiss") or {}
    if type(vectors).__name__ != entry.get("index_type", "IndexFlatIP"):
        raise IndexCorruptError(directory / "vectors.faiss", f"a {type(vectors).__name__}, the manifest says "
                                f"{entry.get('index_type')}")
    try:
        articles = [article_from_record(r) for r in _read_jsonl(directory / "articles.jsonl")]
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise IndexCorruptError(directory / "articles.jsonl", f"malformed article record ({err})") from None
    chunks: list[Chunk] = []
    chunk_articles: list[int] = []
    try:
        for r in _read_jsonl(directory / "chunks.jsonl"):
            r["section"] = _shared(r.get("section", "body"))
            r["sentences"] = [_shared(s) for s in r.get("sentences", ())]
            owner = int(r.get("article", 0))
            chunks.append(Chunk.from_record(r, doc=articles[owner].text))
            chunk_articles.append(owner)
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise IndexCorruptError(directory / "chunks.jsonl", f"malformed chunk record ({err})") from None
    if vectors.ntotal != len(chunks) or vectors.d != manifest.get("embedder", {}).get("dim"):
        raise IndexCorruptError(directory / "vectors.faiss", f"{vectors.ntotal} vectors of dim {vectors.d} "
                                f"do not match {len(chunks)} chunks and the manifest's dimension")
    bm25 = None
    if version >= 2:
        try:
            bm25 = load_bm25(directory, mmap=len(chunks) >= MMAP_MIN_DOCS if mmap is None else mmap)
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise IndexCorruptError(directory / BM25_FILES[0], f"unreadable BM25 index ({str(err)[:120]})") from None
        if bm25.scores.get("num_docs") != len(chunks):
            raise IndexCorruptError(directory / "params.index.json", f"the BM25 index has "
                                    f"{bm25.scores.get('num_docs')} documents, not {len(chunks)}")
    return StoredIndex(articles, chunks, chunk_articles, vectors, manifest, bm25)


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


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a JSON-lines file, one at a time (a large index is never held as text)."""
    try:
        with path.open("rb") as fh:  # (json decodes UTF-8 bytes faster than a text-mode file does)
            for line in fh:
                if line.strip():
                    yield json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IndexCorruptError(path, f"not valid JSON lines ({err})") from None


def _shared(label: str) -> str:
    """One string object per distinct label ("body", "s012"): a million passages repeat them."""
    return sys.intern(label) if isinstance(label, str) else label


def article_record(article: Article) -> dict[str, Any]:
    return {
        "source": article.source, "title": article.title, "date": article.date, "author": article.author,
        "text": article.text, "paragraphs": [[p.kind, p.start, p.end] for p in article.paragraphs],
        "sentences": [[s.paragraph, s.start, s.end] for s in article.sentences],
    }


def article_from_record(rec: dict[str, Any]) -> Article:
    """Rebuild an Article from its record (format 1 records have no sentence spans: they are
    re-split, deterministically)."""
    from assistant.ingest.article import Sentence, sentence_id

    text = rec["text"]
    paragraphs = tuple(Paragraph(i, _shared(kind), s, e, text) for i, (kind, s, e) in enumerate(rec["paragraphs"]))
    sentences: list[Sentence] = []
    if "sentences" in rec:
        sentences = [Sentence(sentence_id(i), p, s, e, text) for i, (p, s, e) in enumerate(rec["sentences"])]
    for p in paragraphs if "sentences" not in rec else ():
        spans = split_sentences(p.text, offset=p.start) if p.kind in {"lead", "body"} else [(p.start, p.end, p.text)]
        sentences.extend(Sentence(sentence_id(len(sentences)), p.index, s, e, text) for s, e, _t in spans)
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

"""Articles that users bring, each indexed once: a content-addressed cache of indexes.

An article's id is the sha256 of its normalised text (`Article.sha256`), and its index
lives in ``$ASSISTANT_HOME/articles/<id>/``, so the same article pasted, uploaded or linked
by any number of people is built once. Two caps keep the cache bounded, least recently
used first out:

* on disk, at most ``$ASSISTANT_MAX_ARTICLES`` indexes (default 200); an index held in
  memory or being built is never removed;
* in memory, at most ``$ASSISTANT_MAX_LOADED_ARTICLES`` loaded assistants (default 8).
  They share the caller's embedder and span reader, so a loaded article costs its
  vectors and passages, not another copy of a model.

Building takes the index directory's file lock (`indexing.lock_path`, the same lock
`Assistant.load` takes) and re-checks after getting it, so two people - or two
processes - adding the same article at once build it once; `store.save_index` renames a
finished index into place, so a half-built one is never loaded.

>>> cache = ArticleCache(model="offline")                         # doctest: +SKIP
>>> stored, directory = cache.open_index(cache.add(article).article_id)   # doctest: +SKIP

What an article is made from (text, files, links) is `assistant.ingest.sources`' business.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import IndexCorruptError, SourceError
from assistant.ingest.article import Article
from assistant.ingest.chunking import ChunkingConfig
from assistant.paths import state_dir
from assistant.search.indexing import build_index, effective_chunking, lock_path
from assistant.search.store import StoredIndex, corpus_sha256, load_index, manifest_mismatch, read_manifest

log = logging.getLogger(__name__)
MAX_ARTICLES_ENV = "ASSISTANT_MAX_ARTICLES"
MAX_LOADED_ENV = "ASSISTANT_MAX_LOADED_ARTICLES"
DEFAULT_MAX_ARTICLES = 200
DEFAULT_MAX_LOADED = 8
_ID = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ArticleEntry:
    """One cached article: its id (sha256 of the normalised text) and what the page shows."""

    article_id: str
    title: str | None
    date: str | None
    author: str | None
    chars: int
    passages: int
    source: str

    def to_dict(self) -> dict[str, Any]:
        """The ``/add_article`` reply: article_id, title, date, chars, passages (and author)."""
        return {"article_id": self.article_id, "title": self.title, "date": self.date, "chars": self.chars,
                "passages": self.passages, "author": self.author}


def env_cap(name: str, default: int) -> int:
    """A positive whole number from the environment (`default` when unset)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {raw!r}")
    return int(raw)


class ArticleCache:
    """The cache of user-brought articles' indexes (see the module docstring); `ArticleLibrary`
    (`assistant.library`) adds the assistants loaded over them.

    `embedder` / `reader` / `llm` are shared with every assistant it loads (default: the
    embedder for `model`, resolved on first use, and each assistant's own reader).
    """

    def __init__(self, root: str | Path | None = None, *, model: str | None = None, embedder: Any = None,
                 reader: Any = None, llm: Any = None, max_articles: int | None = None,
                 max_loaded: int | None = None, chunking: ChunkingConfig | None = None,
                 announce: Callable[[str], None] | None = None):
        self.root = Path(root) if root is not None else state_dir() / "articles"
        self.max_articles = max_articles if max_articles is not None else env_cap(MAX_ARTICLES_ENV,
                                                                                  DEFAULT_MAX_ARTICLES)
        self.max_loaded = max_loaded if max_loaded is not None else env_cap(MAX_LOADED_ENV, DEFAULT_MAX_LOADED)
        for name, value in (("max_articles", self.max_articles), ("max_loaded", self.max_loaded)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.model = model
        self.reader = reader
        self.llm = llm
        self.chunking = chunking or ChunkingConfig()
        self.announce = announce or log.info
        self._embedder = embedder
        self._loaded: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()  # guards _loaded, _key_locks and the embedder
        self._key_locks: dict[str, threading.Lock] = {}

    # --- the embedder and paths ---------------------------------------------------------------

    @property
    def embedder(self) -> Any:
        with self._lock:
            if self._embedder is None:
                from assistant.search.resolve import resolve_embedder

                self._embedder = resolve_embedder(self.model, announce=self.announce)
            return self._embedder

    def directory(self, article_id: str) -> Path:
        if not isinstance(article_id, str) or not _ID.match(article_id):
            raise SourceError("unknown_article", f"not an article id: {str(article_id)[:80]!r} "
                              "(64 hexadecimal characters)", article_id=str(article_id)[:80])
        return self.root / article_id

    def _key_lock(self, article_id: str) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(article_id, threading.Lock())

    # --- adding and opening ---------------------------------------------------------------------

    def add(self, article: Article) -> ArticleEntry:
        """Index `article` unless its index is already here (and fits the embedder); its entry."""
        key = article.sha256
        directory = self.directory(key)
        with self._key_lock(key):
            if self._stale(directory, article):
                from filelock import FileLock

                directory.parent.mkdir(parents=True, exist_ok=True)
                with FileLock(str(lock_path(directory))):
                    why = self._stale(directory, article)
                    if why:  # (another process may have built it while this one waited)
                        self.announce(f"Indexing article {key[:12]} ({len(article.text):,} characters): {why}.")
                        build_index([article], self.embedder, directory, self.chunking, progress=False,
                                    locked=True)
                        with self._lock:
                            self._loaded.pop(key, None)
            _touch(directory)
        self.evict(keep=key)
        return self.entry(key)

    def open_index(self, article_id: str) -> tuple[StoredIndex, Path]:
        """The stored index of a cached article and its directory, rebuilt first when the
        embedder changed; refused (`SourceError` "unknown_article") when missing or damaged."""
        from filelock import FileLock

        directory = self.directory(article_id)
        if not (directory / "manifest.json").is_file():
            raise SourceError("unknown_article", f"article {article_id[:12]} is not in the cache {self.root} "
                              "(never added, or removed to make room); add it again", article_id=article_id)
        embedder = self.embedder
        with FileLock(str(lock_path(directory))):
            try:
                stored = load_index(directory)
            except IndexCorruptError as err:
                shutil.rmtree(directory, ignore_errors=True)
                raise SourceError("unknown_article", f"the index of article {article_id[:12]} was damaged and is "
                                  f"removed ({err.reason}); add the article again", article_id=article_id) from None
            why = manifest_mismatch(stored.manifest, embedder=embedder.info.fingerprint(),
                                    chunking=effective_chunking(self.chunking, embedder))
            if why:
                self.announce(f"Re-indexing article {article_id[:12]}: {why}.")
                build_index(stored.articles, embedder, directory, self.chunking, progress=False, locked=True)
                stored = load_index(directory)
        _touch(directory)
        return stored, directory

    def entry(self, article_id: str) -> ArticleEntry:
        """What the cache knows about an article, from its index manifest."""
        directory = self.directory(article_id)
        try:
            manifest = read_manifest(directory)
            art = manifest["articles"][0]
            passages = int(manifest["faiss"]["ntotal"])
        except (IndexCorruptError, KeyError, IndexError, TypeError, ValueError):
            raise SourceError("unknown_article", f"article {article_id[:12]} is not in the cache; add it again",
                              article_id=article_id) from None
        return ArticleEntry(article_id, art.get("title"), art.get("date"), art.get("author"), int(art.get("chars", 0)),
                            passages, str(art.get("source", "")))

    def __contains__(self, article_id: object) -> bool:
        return isinstance(article_id, str) and bool(_ID.match(article_id)) and \
            (self.root / article_id / "manifest.json").is_file()

    # --- the caps ---------------------------------------------------------------------------

    def evict(self, keep: str | None = None) -> list[str]:
        """Remove the least recently used indexes beyond `max_articles` (skipping `keep`, those
        held in memory and those locked by a build elsewhere); the ids removed."""
        from filelock import FileLock, Timeout

        if not self.root.is_dir():
            return []
        cached = [d for d in self.root.iterdir() if d.is_dir() and _ID.match(d.name)]
        excess = len(cached) - self.max_articles
        removed: list[str] = []
        if excess <= 0:
            return removed
        with self._lock:
            held = {*self._loaded, keep}
        for directory in sorted(cached, key=_last_used):
            if len(removed) >= excess:
                break
            if directory.name in held:
                continue
            try:
                with FileLock(str(lock_path(directory)), timeout=0):
                    shutil.rmtree(directory, ignore_errors=True)
            except Timeout:
                continue
            with self._lock:
                self._key_locks.pop(directory.name, None)
            removed.append(directory.name)
        if removed:
            log.info("article cache: removed %d least recently used index(es)", len(removed))
        return removed

    def _stale(self, directory: Path, article: Article) -> str | None:
        """Why the cached index of `article` cannot be used as is (None: it can)."""
        try:
            manifest = read_manifest(directory)
        except IndexCorruptError:
            return "not indexed yet" if not directory.exists() else "its index is unreadable"
        embedder = self.embedder
        return manifest_mismatch(manifest, embedder=embedder.info.fingerprint(), corpus=corpus_sha256([article]),
                                 chunking=effective_chunking(self.chunking, embedder))


def _touch(directory: Path) -> None:
    """Mark an index as just used (its directory's modification time orders the evictions)."""
    try:
        os.utime(directory)
    except OSError:
        pass


def _last_used(directory: Path) -> float:
    try:
        return directory.stat().st_mtime
    except OSError:
        return 0.0

"""The article library: user-brought articles, each indexed once, with their assistants.

`ArticleCache` (`assistant.search.cache`) keeps the indexes on disk, content-addressed and
capped; this class adds the assistants loaded over them, at most
``$ASSISTANT_MAX_LOADED_ARTICLES`` (default 8) in memory, least recently used first out.
They share the caller's embedder and span reader, so a loaded article costs its vectors and
passages, not another copy of a model.

>>> from assistant import ArticleLibrary
>>> library = ArticleLibrary(model="offline")                     # doctest: +SKIP
>>> entry = library.add(article)                                  # doctest: +SKIP
>>> library.get(entry.article_id).ask("Ai là tác giả?")           # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from assistant.core import Assistant
from assistant.errors import SourceError
from assistant.search.cache import _ID, ArticleCache, ArticleEntry, _touch

__all__ = ["ArticleEntry", "ArticleLibrary", "MilvusLibrary"]


class ArticleLibrary(ArticleCache):
    """The cache of user-brought articles and the assistants loaded over them."""

    def get(self, article_id: str) -> Any:
        """The loaded `Assistant` of a cached article (kept among the `max_loaded` most recent)."""
        directory = self.directory(article_id)
        with self._lock:
            if article_id in self._loaded:
                self._loaded.move_to_end(article_id)
                _touch(directory)
                return self._loaded[article_id]
        with self._key_lock(article_id):
            with self._lock:
                bot = self._loaded.get(article_id)
            if bot is None:
                bot = self.load(article_id)
                with self._lock:
                    self._loaded[article_id] = bot
                    while len(self._loaded) > self.max_loaded:
                        self._loaded.popitem(last=False)
        _touch(directory)
        return bot

    def load(self, article_id: str) -> Any:
        """A new `Assistant` over a cached article, not kept in memory here; rebuilt first when
        the embedder changed, refused (`SourceError` "unknown_article") when missing or damaged."""
        stored, directory = self.open_index(article_id)
        bot = Assistant(stored, self.embedder, directory)
        if self.reader is not None:
            bot.reader = self.reader
        bot.llm = self.llm
        return bot

    def loaded(self) -> list[str]:
        """Ids of the assistants held in memory, least recently used first."""
        with self._lock:
            return list(self._loaded)


class MilvusLibrary:
    """A library of articles in Milvus (`--store milvus:lib.db` or a server's URI): the same
    `add` / `get` / `entry` / `in` as `ArticleLibrary`, plus `delete`, `ids` and `load_all`.
    Adding writes only the article's rows; the assistants share one embedder and reader."""

    def __init__(self, uri: str, *, model: str | None = None, embedder: Any = None, reader: Any = None,
                 llm: Any = None, chunking: Any = None, max_loaded: int | None = None,
                 announce: Any = None):
        from assistant.search.cache import DEFAULT_MAX_LOADED, MAX_LOADED_ENV, env_cap
        from assistant.search.milvus import MilvusStore
        from assistant.search.resolve import resolve_embedder

        self.embedder = embedder or resolve_embedder(model, announce=announce)
        self.store = MilvusStore(uri, self.embedder.info, chunking)
        self.uri, self.reader, self.llm = uri, reader, llm
        self.max_loaded = max_loaded or env_cap(MAX_LOADED_ENV, DEFAULT_MAX_LOADED)
        self._loaded: OrderedDict[str, Assistant] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, article: Any, replace: bool = False) -> ArticleEntry:
        """Index `article` unless it is already in the library (by content hash); its entry."""
        self.store.add(article, self.embedder, replace=replace)
        with self._lock:
            self._loaded.pop(article.sha256, None)
        return self.entry(article.sha256)

    def delete(self, article_id: str) -> bool:
        with self._lock:
            self._loaded.pop(article_id, None)
        return self.store.delete(article_id)

    def ids(self) -> list[str]:
        return self.store.ids()

    def __contains__(self, article_id: object) -> bool:
        return isinstance(article_id, str) and _ID.match(article_id) is not None and self.store.contains(article_id)

    def entry(self, article_id: str) -> ArticleEntry:
        rec = self.store.record(_checked(article_id))
        if rec is None:
            raise SourceError("unknown_article", f"article {article_id[:12]} is not in the library {self.uri}",
                              article_id=article_id)
        return ArticleEntry(article_id, rec.get("title"), rec.get("date"), rec.get("author"), len(rec["text"]),
                            int(rec.get("passages", 0)), str(rec.get("source", "")))

    def get(self, article_id: str) -> Assistant:
        """The `Assistant` of one article (searches filtered to it), the most recent kept loaded."""
        with self._lock:
            if article_id in self._loaded:
                self._loaded.move_to_end(article_id)
                return self._loaded[article_id]
        bot = self._assistant([_checked(article_id)], scoped=True)
        with self._lock:
            self._loaded[article_id] = bot
            while len(self._loaded) > self.max_loaded:
                self._loaded.popitem(last=False)
        return bot

    def load_all(self) -> Assistant:
        """One `Assistant` over every article of the library (unfiltered search)."""
        ids = self.ids()
        if not ids:
            raise SourceError("unknown_article", f"the library {self.uri} holds no article yet; add some with "
                              "`assistant build --store ...`")
        return self._assistant(ids, scoped=False) if len(ids) > 1 else self.get(ids[0])

    def _assistant(self, ids: list[str], scoped: bool) -> Assistant:
        from dataclasses import asdict

        from assistant.search.milvus import MilvusSearcher
        from assistant.search.store import StoredIndex

        articles, chunks, owners, stored_ids = [], [], [], []
        for number, article_id in enumerate(ids):
            loaded = self.store.load(article_id)
            if loaded is None:
                raise SourceError("unknown_article", f"article {article_id[:12]} is not in the library {self.uri}",
                                  article_id=article_id)
            article, own = loaded
            articles.append(article)
            for chunk in own:
                stored_ids.append(chunk.chunk_id)
                chunks.append(chunk if len(ids) == 1 else replace(chunk, chunk_id=f"a{number}-{chunk.chunk_id}"))
                owners.append(number)
        manifest = {"chunking": asdict(self.store.chunking), "store": self.uri,
                    "embedder": asdict(self.embedder.info),
                    "articles": [{"article_id": i, "title": a.title, "date": a.date, "author": a.author,
                                  "chars": len(a.text), "source": a.source} for i, a in zip(ids, articles)]}
        stored = StoredIndex(articles, chunks, owners, None, manifest)
        searcher = MilvusSearcher(self.store, chunks, owners, ids, stored_ids, self.embedder, scoped=scoped)
        bot = Assistant(stored, self.embedder, self.uri, searcher=searcher)
        if self.reader is not None:
            bot.reader = self.reader
        bot.llm = self.llm
        return bot


def _checked(article_id: str) -> str:
    if not isinstance(article_id, str) or not _ID.match(article_id):
        raise SourceError("unknown_article", f"not an article id: {str(article_id)[:80]!r} (64 hexadecimal "
                          "characters)", article_id=str(article_id)[:80])
    return article_id


STORE_ENV = "ASSISTANT_STORE"


def store_uri(value: str | None) -> str | None:
    """The Milvus URI of `--store` (or `$ASSISTANT_STORE`), None for the default `faiss` files."""
    from assistant.search.milvus import is_milvus

    uri = (value or os.environ.get(STORE_ENV) or "faiss").strip()
    if uri == "faiss":
        return None
    if not is_milvus(uri):
        raise ValueError(f"--store must be 'faiss', 'milvus:PATH.db' or http(s)://HOST:PORT, got {uri[:80]!r}")
    return uri


def open_assistant(index_dir: str | None = None, model: str | None = None, *, store: str | None = None,
                   article_id: str | None = None, llm: Any = None, announce: Any = None) -> Assistant:
    """What the CLI and the server answer from: `Assistant.load` on the FAISS path, or one
    article (`article_id`) or the whole of a Milvus library."""
    uri = store_uri(store)
    if uri is None:
        if article_id:
            raise ValueError("--article-id needs --store (a FAISS index directory holds its own articles)")
        return Assistant.load(index_dir, model, llm=llm, announce=announce)
    library = MilvusLibrary(uri, model=model, announce=announce)
    bot = library.get(article_id) if article_id else library.load_all()
    bot.set_llm(llm or os.environ.get("ASSISTANT_LLM") or None)
    return bot

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

from typing import Any

from assistant.core import Assistant
from assistant.search.cache import ArticleCache, ArticleEntry, _touch

__all__ = ["ArticleEntry", "ArticleLibrary"]


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

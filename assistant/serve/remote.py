"""A client of `assistant serve`: the answers come from the Ray Serve replicas over HTTP.

`RemoteAssistant` has the shape of `Assistant` that the web chat uses (``article``,
``ask``, ``stream``, ``info``), so ``assistant chat --backend http://HOST:P`` puts the same
page in front of the replicas; `RemoteLibrary` adds a user's article to the replicas'
library (`POST /articles`) and opens it. The article's text comes from the backend
(`GET /article`), so highlighted citations point into the text the replicas answered from.

>>> from assistant.serve.remote import RemoteAssistant
>>> bot = RemoteAssistant("http://127.0.0.1:8000")                    # doctest: +SKIP
>>> bot.ask("Ai là tác giả bài viết?").citations[0].text             # doctest: +SKIP

Errors become the assistant's own: a refused question is a `QuestionError`, an unknown
article a `SourceError` ("unknown_article"), a backend that does not answer (or answers
5xx) a `ModelUnavailableError` naming the address.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from assistant.answer.contract import Answer, Citation
from assistant.errors import AssistantError, ModelUnavailableError, QuestionError, SourceError
from assistant.search.cache import ArticleEntry
from assistant.search.retrieval import Passage
from assistant.search.store import article_from_record, article_record

__all__ = ["RemoteAssistant", "RemoteLibrary", "answer_from_dict"]
TIMEOUT_S = 120.0


def answer_from_dict(data: dict[str, Any]) -> Answer:
    """The `Answer` of an `Answer.to_dict()` (as `/ask` and `ask --json` return it)."""
    def pick(cls: Any, item: dict[str, Any]) -> Any:
        return cls(**{k: v for k, v in item.items() if k in cls.__dataclass_fields__})

    return Answer(text=data["answer"], answered=bool(data["answered"]),
                  citations=[pick(Citation, c) for c in data.get("citations", [])],
                  passages=[pick(Passage, p) for p in data.get("passages", [])],
                  timings_ms=dict(data.get("timings_ms") or {}), short_answer=data.get("short_answer"),
                  confidence=float(data.get("confidence") or 0.0), answerer=data.get("answerer", "extractive"),
                  notice=data.get("notice"), supported=bool(data.get("supported", True)))


class Backend:
    """The HTTP calls, one pooled `httpx.Client`; every failure is an `AssistantError`."""

    def __init__(self, url: str, timeout: float = TIMEOUT_S, transport: httpx.BaseTransport | None = None):
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ModelUnavailableError(f"--backend must be an http(s) address such as http://127.0.0.1:8000, "
                                        f"not {url!r}")
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, **kwargs)
            body = response.json()
        except httpx.HTTPError as err:
            raise ModelUnavailableError(f"the answer service at {self.url} does not answer "
                                        f"({type(err).__name__}: {str(err)[:120]})") from None
        except ValueError:
            raise ModelUnavailableError(f"the answer service at {self.url} answered something that is not JSON "
                                        f"(HTTP {response.status_code})") from None
        if response.status_code == 200 and isinstance(body, dict):
            return body
        message = str(body.get("error") if isinstance(body, dict) else body)[:300]
        if isinstance(body, dict) and isinstance(body.get("reason"), str):
            raise SourceError(body["reason"], message)
        if response.status_code in {400, 413, 422}:
            raise QuestionError(message)
        if response.status_code >= 500:
            raise ModelUnavailableError(f"the answer service at {self.url} failed (HTTP {response.status_code}): "
                                        f"{message}")
        raise AssistantError(f"the answer service refused the request (HTTP {response.status_code}): {message}")


class RemoteAssistant:
    """One article (the backend's default, or `article_id`) answered by the replicas."""

    llm = None
    embedder = None
    reader = None

    def __init__(self, url: str | Backend, article_id: str | None = None, *, timeout: float = TIMEOUT_S):
        self.backend = url if isinstance(url, Backend) else Backend(url, timeout)
        self.article_id = article_id
        reply = self.backend.call("GET", "/article", params={"article_id": article_id} if article_id else None)
        self.article = article_from_record(reply["article"])
        self._info = {**reply.get("info", {}), "backend": self.backend.url}

    def info(self) -> dict[str, Any]:
        return dict(self._info)

    def ask(self, question: str, history: list[dict[str, str]] | None = None, k: int = 4, mode: str = "hybrid",
            answerer: str | None = None) -> Answer:
        body: dict[str, Any] = {"question": question, "k": k, "mode": mode, "article_id": self.article_id,
                                "answerer": answerer, "history": history or None}
        return answer_from_dict(self.backend.call("POST", "/ask", json={k: v for k, v in body.items() if v}))

    def stream(self, question: str, history: list[dict[str, str]] | None = None, **options: Any) -> Iterator[Any]:
        """As `Assistant.stream`: the answer's text, then the `Answer` (the replica answers at once)."""
        answer = self.ask(question, history, **options)
        yield answer.text
        yield answer


class RemoteLibrary:
    """User-brought articles, kept in the replicas' library (`POST /articles`)."""

    def __init__(self, url: str | Backend, *, max_loaded: int = 8):
        self.backend = url if isinstance(url, Backend) else Backend(url)
        self.max_loaded = max_loaded
        self._loaded: OrderedDict[str, RemoteAssistant] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, article: Any, replace: bool = False) -> ArticleEntry:
        reply = self.backend.call("POST", "/articles", json={"article": article_record(article), "replace": replace})
        return ArticleEntry(article_id=str(reply["article_id"]), title=reply.get("title"), date=reply.get("date"),
                            author=reply.get("author"), chars=int(reply.get("chars") or 0),
                            passages=int(reply.get("passages") or 0), source=article.source)

    def get(self, article_id: str) -> RemoteAssistant:
        with self._lock:
            bot = self._loaded.get(article_id)
            if bot is not None:
                self._loaded.move_to_end(article_id)
                return bot
        bot = RemoteAssistant(self.backend, article_id)
        with self._lock:
            self._loaded[article_id] = bot
            while len(self._loaded) > self.max_loaded:
                self._loaded.popitem(last=False)
        return bot

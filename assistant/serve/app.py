"""Answer replicas on Ray Serve: `POST /ask`, `GET /healthz`.

Each replica is a Ray actor holding one `Assistant` (model, reader, the default article or a
Milvus library) and the library of other articles (`MilvusLibrary` on a Milvus store, the
content-addressed `ArticleLibrary` on the FAISS path). Serve routes requests to replicas
and restarts a replica that dies; autoscaling settings pass through. Requests:

    POST /ask  {"question": str, "article_id": str?, "k": int?, "mode": str?, "answerer": str?}
      200 {"question", **Answer.to_dict(), "replica"}     (the answer contract, as `ask --json`)
      400 body is not a JSON object; 404 unknown article; 413 question too long;
      422 a field is missing or of the wrong kind; 503 the model or store is unavailable
    GET /healthz  {"status": "ok", "replica", "pid", "articles", "embedder"}
    GET /article?article_id=ID   {"article": its record (text, title, paragraphs, sentences), "info"}
    POST /articles {"article": a record, "replace": bool?}   the library entry (article_id, title, ...)

`/article` and `/articles` are what `assistant chat --backend` (`assistant.serve.remote`) uses: the
page shows the text the replicas answer from, and a user's own article goes to the library.

Nothing raises to Serve (which would answer 500): every `AssistantError` is a 4xx/503 with
its one-line message.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse

from assistant.errors import AssistantError, ModelUnavailableError, QuestionError, SourceError
from assistant.library import ArticleLibrary, MilvusLibrary, open_assistant, store_uri
from assistant.search.store import article_from_record, article_record

MAX_BODY = 256 * 1024
MAX_ARTICLE_BODY = 8 * 1024 * 1024
MAX_K = 20
FIELDS = {"question": str, "article_id": str, "k": int, "mode": str, "answerer": str, "history": list}
KINDS = {str: "a string", int: "a whole number", list: "a list of {role, content} messages"}


def error(status: int, message: str, replica: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, "replica": replica, **extra}, status_code=status)


def json_object(raw: bytes, limit: int, fields: Any) -> dict[str, Any]:
    if len(raw) > limit:
        raise QuestionError(f"the request has {len(raw):,} bytes; the limit is {limit:,}")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"the body is not JSON ({str(err)[:80]})") from None
    if not isinstance(body, dict):
        raise ValueError(f"the body must be a JSON object with {', '.join(fields)}")
    return body


def parse(raw: bytes) -> dict[str, Any]:
    """The request's fields, checked; `ValueError` (400) or `TypeError` (422) with the reason."""
    body = json_object(raw, MAX_BODY, FIELDS)
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise TypeError(f"unknown fields {unknown}: /ask takes {', '.join(FIELDS)}")
    if "question" not in body:
        raise TypeError("the body has no 'question'")
    for name, kind in FIELDS.items():
        value = body.get(name)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise TypeError(f"'{name}' must be {KINDS[kind]}")
    for turn in body.get("history") or []:
        if not (isinstance(turn, dict) and isinstance(turn.get("role"), str) and isinstance(turn.get("content"), str)):
            raise TypeError(f"'history' must be {KINDS[list]}")
    if body.get("k") is not None and not 1 <= body["k"] <= MAX_K:
        raise TypeError(f"'k' must be between 1 and {MAX_K}")
    return {k: v for k, v in body.items() if v is not None}


def checked_record(record: dict[str, Any]) -> dict[str, Any]:
    """`record` if its paragraph and sentence spans lie inside its text (`ValueError` otherwise):
    a record from the network is not trusted to point where citations may be cut."""
    size = len(record["text"])
    paragraphs = record["paragraphs"]
    for kind, start, end in paragraphs:
        if not (isinstance(kind, str) and isinstance(start, int) and isinstance(end, int)
                and 0 <= start <= end <= size):
            raise ValueError(f"paragraph span {start!r}-{end!r} is outside the text")
    for paragraph, start, end in record.get("sentences", []):
        if not (isinstance(paragraph, int) and 0 <= paragraph < len(paragraphs) and isinstance(start, int)
                and isinstance(end, int) and 0 <= start <= end <= size):
            raise ValueError(f"sentence span {start!r}-{end!r} is outside the text")
    for key in ("title", "date", "author", "source"):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise ValueError(f"'{key}' must be a string")
    return record


@serve.deployment(name="assistant")
class AnswerReplica:
    """One answering replica (see the module docstring); `config`: index_dir, model, store."""

    def __init__(self, config: dict[str, Any]):
        self.replica = serve.get_replica_context().replica_id.unique_id
        threads = config.get("threads")
        if threads:
            import torch

            torch.set_num_threads(int(threads))
        self.bot = open_assistant(config.get("index_dir"), config.get("model"), store=config.get("store"))
        uri = store_uri(config.get("store"))
        self.library: Any = (MilvusLibrary(uri, embedder=self.bot.embedder, reader=self.bot.reader) if uri else
                             ArticleLibrary(embedder=self.bot.embedder, reader=self.bot.reader))
        self.chain = self.bot.as_chain(library=self.library)
        self.bot.ask("Bài viết nói về điều gì?")  # the reader loads now, not on the first request

    async def __call__(self, request: Request) -> JSONResponse:
        path = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        route = {("healthz", "GET"): self.health, ("ask", "POST"): self.answer, ("article", "GET"): self.article,
                 ("articles", "POST"): self.add_article}.get((path, request.method))
        if route is None:
            if path in {"ask", "article", "articles", "healthz"}:
                return error(405, f"{request.method} is not allowed on /{path}", self.replica)
            return error(404, "not found: POST /ask, POST /articles, GET /article or GET /healthz", self.replica)
        try:
            return await route(request)
        except ValueError as err:
            return error(400, str(err), self.replica)
        except TypeError as err:
            return error(422, str(err), self.replica)
        except QuestionError as err:
            return error(413 if "limit" in str(err) else 422, str(err), self.replica)
        except SourceError as err:
            return error(404 if err.reason == "unknown_article" else 422, str(err), self.replica, reason=err.reason)
        except ModelUnavailableError as err:
            return error(503, str(err), self.replica)
        except AssistantError as err:
            return error(422, str(err), self.replica)

    async def health(self, _request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "replica": self.replica, "pid": os.getpid(),
                             "articles": len(self.bot.articles), "embedder": self.bot.embedder.info.describe()})

    async def answer(self, request: Request) -> JSONResponse:
        fields = parse(await request.body())
        result = await asyncio.to_thread(self.chain.invoke, fields)
        return JSONResponse({**result, "replica": self.replica})

    async def article(self, request: Request) -> JSONResponse:
        article_id = request.query_params.get("article_id") or None
        bot = self.bot if article_id is None else await asyncio.to_thread(self.library.get, article_id)
        info = bot.info()
        return JSONResponse({"article": article_record(bot.article), "article_id": article_id, "replica": self.replica,
                             "info": {"chunks": info.get("chunks", 0), "embedder": info.get("embedder")}})

    async def add_article(self, request: Request) -> JSONResponse:
        body = json_object(await request.body(), MAX_ARTICLE_BODY, ("article", "replace"))
        record = body.get("article")
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise TypeError("'article' must be an article record with its 'text'")
        try:
            article = article_from_record(checked_record(record))
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise TypeError(f"'article' is not a valid article record ({type(err).__name__}: {err})") from None
        add = self.library.add
        entry = await asyncio.to_thread(add, article, bool(body.get("replace"))) if isinstance(
            self.library, MilvusLibrary) else await asyncio.to_thread(add, article)
        return JSONResponse({**entry.to_dict(), "replica": self.replica})


def app_builder(args: dict[str, Any]) -> Any:
    """The Serve application for a config file (`deploy/serve_config.yaml`, `serve deploy`):
    `args` as `AnswerReplica`'s config (index_dir, model, store, threads); replicas, autoscaling
    and CPUs come from the file's `deployments` section."""
    unknown = sorted(set(args) - {"index_dir", "model", "store", "threads"})
    if unknown:
        raise ValueError(f"unknown args {unknown}: the assistant takes index_dir, model, store, threads")
    return AnswerReplica.bind(dict(args))  # type: ignore[attr-defined]

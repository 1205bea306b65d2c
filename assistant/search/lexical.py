"""The BM25 side of the index: built in batches, saved with bm25s, searched with a cheap top-k.

`build_bm25(texts)` tokenises like `text.lexical_tokens` (syllables and syllable pairs,
exact and accent-folded) and computes the same BM25 ("lucene", k1 1.5, b 0.75) matrix
as `bm25s.BM25().index(tokens)`, score for score, but without holding a million token
lists in memory: tokens become ids as they are read, each batch keeps only its (term,
tf) pairs, and the column-sorted matrix is filled by a counting sort. `save_bm25` /
`load_bm25` use bm25s's own files (JSON + .npy, never pickled; loading memory-maps the
arrays of a large index).

`LexicalIndex.top(tokens, n)` ranks `bm25.get_scores` without sorting a million scores.
(A MaxScore-style pruning was tried and dropped: over this syllable vocabulary most
query terms are common, the bounds prune little, and it ran 10x slower than scoring all
postings with numpy.)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from assistant.ingest.text import canonical_tones
from assistant.search.hashing import fast_fold

BM25_FILES = ("data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy", "vocab.index.json",
              "params.index.json")
K1, B = 1.5, 0.75
BATCH = 8192
_TOKEN = re.compile(r"\w+")


class _Tokeniser:
    """`lexical_tokens` as term ids, a batch of texts at a time.

    Each distinct syllable is folded and looked up once; its pairs are numbered in numpy
    (one dictionary lookup per distinct pair of the batch). A pair's id is the id of its
    string ("a_b", "~a_b"), so ids mean exactly what `lexical_tokens`' strings mean.
    """

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.numbers: dict[str, int] = {}  # syllable -> syllable number
        self.names: list[str] = []  # syllable number -> syllable
        self.folded: dict[str, int] = {}  # folded syllable -> folded number
        self.folded_names: list[str] = []
        self.table = np.zeros((0, 3), dtype=np.int64)  # per syllable number: exact id, folded id, folded number
        self.rows: list[tuple[int, int, int]] = []
        self.pairs: dict[int, int] = {}  # (a << 32 | b) over syllable numbers -> id of "a_b"
        self.folded_pairs: dict[int, int] = {}  # the same over folded numbers -> id of "~a_b"

    def _id(self, token: str) -> int:
        return self.vocab.setdefault(token, len(self.vocab))

    def _number(self, syllable: str) -> int:
        folded = fast_fold(syllable)
        fnum = self.folded.setdefault(folded, len(self.folded))
        if fnum == len(self.folded_names):
            self.folded_names.append(folded)
        self.rows.append((self._id(syllable), self._id("~" + folded), fnum))
        self.names.append(syllable)
        return self.numbers.setdefault(syllable, len(self.numbers))

    def batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(document row, term id) of every token of `texts`, and each text's token count."""
        nums: list[int] = []
        lens: list[int] = []
        get, numbers = self.numbers.get, self.numbers
        for text in texts:
            sylls = _TOKEN.findall(canonical_tones(text).lower())
            ns = [get(s) for s in sylls]
            if None in ns:
                ns = [numbers[s] if s in numbers else self._number(s) for s in sylls]
            nums.extend(ns)  # type: ignore[arg-type]
            lens.append(len(ns))
        if len(self.rows) > len(self.table):
            self.table = np.array(self.rows, dtype=np.int64).reshape(-1, 3)
        n = np.asarray(nums, dtype=np.int64)
        length = np.asarray(lens, dtype=np.int64)
        exact, folded, fnum = self.table[n].T if len(n) else (n, n, n)
        rows = np.repeat(np.arange(len(length), dtype=np.int64), length)
        first = np.flatnonzero(rows[1:] == rows[:-1])  # positions whose next syllable is in the same text
        pairs = self._pair_ids((n[first] << 32) | n[first + 1], self.pairs, self.names, "")
        folded_pairs = self._pair_ids((fnum[first] << 32) | fnum[first + 1], self.folded_pairs,
                                      self.folded_names, "~")
        sizes = 2 * length + 2 * np.maximum(length - 1, 0)
        return (np.concatenate([rows, rows, rows[first], rows[first]]),
                np.concatenate([exact, folded, pairs, folded_pairs]), sizes)

    def _pair_ids(self, keys: np.ndarray, known: dict[int, int], names: list[str], prefix: str) -> np.ndarray:
        uniq, inverse = np.unique(keys, return_inverse=True)
        ids = np.empty(len(uniq), dtype=np.int64)
        for j, key in enumerate(uniq.tolist()):
            got = known.get(key)
            if got is None:
                got = known[key] = self._id(f"{prefix}{names[key >> 32]}_{names[key & 0xFFFFFFFF]}")
            ids[j] = got
        return ids[inverse]


def build_bm25(texts: Iterable[str]) -> Any:
    """A `bm25s.BM25` over `texts` equal to `bm25s.BM25().index([lexical_tokens(t) ...])`."""
    import bm25s

    tok = _Tokeniser()
    terms: list[np.ndarray] = []  # per batch: term ids of the (doc, term) pairs, doc-major
    tfs: list[np.ndarray] = []
    pairs_per_doc: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == BATCH:
            _add_batch(tok, batch, terms, tfs, pairs_per_doc, lengths)
            batch = []
    _add_batch(tok, batch, terms, tfs, pairs_per_doc, lengths)
    doc_len = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
    n_docs, n_vocab = len(doc_len), len(tok.vocab)
    df = np.zeros(n_vocab, dtype=np.int64)
    for t in terms:
        df += np.bincount(t, minlength=n_vocab)
    idf = np.zeros(n_vocab, dtype=np.float32)  # math.log, as bm25s computes it
    idf[:] = [math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) if d else 0.0 for d in df.tolist()]
    avg_len = doc_len.mean() if n_docs else np.float64(0.0)
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    data = np.empty(int(indptr[-1]), dtype=np.float32)
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    heads = indptr[:-1].copy()
    first_doc = 0
    for t, tf, per_doc in zip(terms, tfs, pairs_per_doc):
        docs = np.repeat(np.arange(first_doc, first_doc + len(per_doc), dtype=np.int32), per_doc)
        k = K1 * ((1 - B) + B * doc_len[docs] / avg_len)  # float64, as bm25s's tfc
        tf64 = tf.astype(np.float32).astype(np.float64)
        scores = (idf[t].astype(np.float64) * (tf64 / (k + tf64))).astype(np.float32)
        order = np.argsort(t, kind="stable")  # by term, documents ascending within a term
        sorted_t = t[order]
        uniq, first, count = np.unique(sorted_t, return_index=True, return_counts=True)
        pos = heads[sorted_t] + (np.arange(len(order)) - np.repeat(first, count))
        data[pos] = scores[order]
        indices[pos] = docs[order]
        heads[uniq] += count
        first_doc += len(per_doc)
    bm25 = bm25s.BM25(k1=K1, b=B)
    bm25.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}
    bm25.vocab_dict = tok.vocab
    bm25.unique_token_ids_set = set(tok.vocab.values())
    bm25.nonoccurrence_array = None
    return bm25


def _add_batch(tok: _Tokeniser, batch: list[str], terms: list, tfs: list, pairs_per_doc: list,
               lengths: list) -> None:
    """Keep a batch's (term, tf) pairs, document by document, and its documents' lengths."""
    if not batch:
        return
    rows, flat, sizes = tok.batch(batch)
    keys, tf = np.unique((rows << 32) | flat, return_counts=True)
    terms.append((keys & 0xFFFFFFFF).astype(np.int32))
    tfs.append(tf.astype(np.uint16) if tf.max(initial=0) < 1 << 16 else tf)
    pairs_per_doc.append(np.bincount(keys >> 32, minlength=len(batch)))
    lengths.append(sizes)


def save_bm25(bm25: Any, directory: Path) -> None:
    """bm25s's own files (see `BM25_FILES`), arrays written with allow_pickle=False."""
    bm25.save(str(directory), allow_pickle=False, show_progress=False)
    extra = set(p.name for p in Path(directory).iterdir()) & {"corpus.jsonl", "nonoccurrence_array.index.npy"}
    if extra:
        raise RuntimeError(f"bm25s wrote unexpected files: {sorted(extra)}")


def load_bm25(directory: Path, mmap: bool = False) -> Any:
    import bm25s

    return bm25s.BM25.load(str(directory), mmap=mmap, allow_pickle=False, load_corpus=False, show_progress=False)


class LexicalIndex:
    """Top-n BM25 search over a `bm25s.BM25`: ranked by (-score, document), scores > 0 only.

    Scores are bm25s's `get_scores_from_ids`, bit for bit. A small index (the bundled
    article: a dozen passages) also keeps its scores as a dense term x passage matrix and
    adds the query's rows in query order (`add.accumulate` is sequential, like bm25s's
    `add.at`): one numpy call instead of one per query term. Its cost on a large index
    grows with the postings of the query's terms (~15 ms for a million passages here).
    Selecting the top n avoids a full `argpartition`: the n-th best score of every 64th
    document is a threshold that at least n documents reach, so only those are sorted.
    """

    SAMPLE = 64
    DENSE_MAX = 1 << 21  # terms x passages for the dense matrix (8 MiB of float32)

    def __init__(self, bm25: Any):
        self.bm25 = bm25
        self.n_docs = int(bm25.scores["num_docs"])
        self.dense: np.ndarray | None = None
        indptr = np.asarray(bm25.scores["indptr"])
        if 0 < (len(indptr) - 1) * self.n_docs <= self.DENSE_MAX:
            self.dense = np.zeros((len(indptr) - 1, self.n_docs), dtype=np.float32)
            terms = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
            self.dense[terms, np.asarray(bm25.scores["indices"])] = np.asarray(bm25.scores["data"])

    def top(self, tokens: list[str], n: int) -> list[tuple[int, float]]:
        vocab = self.bm25.vocab_dict
        ids = [vocab[t] for t in tokens if t in vocab]  # query order, repeats kept (they count twice)
        if not ids or n < 1 or not self.n_docs:
            return []
        return top_n(self.scores(ids), n)

    def scores(self, ids: list[int]) -> np.ndarray:
        """BM25 score of every passage for these term ids (as `bm25.get_scores_from_ids`)."""
        if self.dense is not None:
            return np.add.accumulate(self.dense[ids], axis=0)[-1]
        return np.asarray(self.bm25.get_scores_from_ids(ids))


_FOLDED: dict[str, str] = {}


def query_terms(question: str) -> list[str]:
    """`text.query_tokens(question)`, the same list, with syllables folded through a cache."""
    folded_only = fast_fold(question) == question.lower()  # (no diacritics: `text.has_diacritics`)
    sylls = _TOKEN.findall(canonical_tones(question).lower())
    if len(_FOLDED) > 100_000:
        _FOLDED.clear()
    folded = [_FOLDED[s] if s in _FOLDED else _FOLDED.setdefault(s, fast_fold(s)) for s in sylls]
    out: list[str] = [] if folded_only else [*sylls, *(f"{a}_{b}" for a, b in zip(sylls, sylls[1:]))]
    out.extend("~" + f for f in folded)
    out.extend(f"~{a}_{b}" for a, b in zip(folded, folded[1:]))
    return out


def top_n(scores: np.ndarray, n: int, sample: int = LexicalIndex.SAMPLE) -> list[tuple[int, float]]:
    """The n best (index, score) with score > 0, best first, ties by index."""
    candidates = None
    if len(scores) > 8 * sample * n:
        strided = scores[::sample]
        theta = np.partition(strided, len(strided) - n)[len(strided) - n]
        if theta > 0:
            candidates = np.flatnonzero(scores >= theta)
    if candidates is None:
        candidates = np.flatnonzero(scores > 0)
    if len(candidates) > 8 * n:  # keep the n best and everything tied with the n-th
        values = scores[candidates]
        candidates = candidates[values >= np.partition(values, len(values) - n)[len(values) - n]]
    values = scores[candidates]
    order = np.lexsort((candidates, -values))[:n]
    return [(int(candidates[i]), float(values[i])) for i in order]

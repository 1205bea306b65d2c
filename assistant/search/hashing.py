"""Batch featurisation for `HashingEmbeddings`: the same vectors as the per-text code, much faster.

The reference (`HashingEmbeddings._vector`) hashes every feature string of every text
with crc32: words ("w:đảng" folded), word pairs ("b:a_b") and the character 3-5-grams of
each padded word. Here each distinct word is hashed once and remembered as its row of
bins (words repeat: a corpus of a million passages has a vocabulary of thousands), a
word pair's crc32 continues from the first word's saved crc32 state, and the counts of a
whole batch are one `bincount`. Accent folding uses a per-character table (dropping
combining marks character by character equals dropping them after NFD of the whole
text, because canonical reordering only moves combining marks).

Results are bit-identical to the reference: the same counts, the same float32
`log1p`, and each row's norm from the same float32 dot product that `np.linalg.norm`
uses (tests/test_scale.py compares the two).
"""

from __future__ import annotations

import re
import threading
import unicodedata
import zlib
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+")
MAX_WORDS = 500_000  # the word cache is cleared beyond this many distinct words


class _FoldTable(dict):  # type: ignore[type-arg]
    """str.translate table: a character -> its NFD form without combining marks (built lazily)."""

    def __missing__(self, code: int) -> int | str | None:
        ch = chr(code)
        bare = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        value: int | str | None = None if not bare else (code if bare == ch else bare)
        self[code] = value
        return value


_FOLD = _FoldTable()


def fast_fold(text: str) -> str:
    """Equal to `assistant.ingest.text.fold(text)` for every input, several times faster."""
    return unicodedata.normalize("NFC", text.lower().replace("đ", "d").translate(_FOLD))


def word_features(word: str, ngram: tuple[int, int]) -> list[str]:
    """The features one folded word contributes (as in `HashingEmbeddings._features`)."""
    feats = [f"w:{word}"]
    padded = f" {word} "
    lo, hi = ngram
    for n in range(lo, hi + 1):
        feats.extend(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
    return feats


class HashedFeatures:
    """Word cache + batch counting for one (dim, ngram) setting. Thread-safe."""

    def __init__(self, dim: int, ngram: tuple[int, int]):
        self.dim = dim
        self.ngram = ngram
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.ids: dict[str, int] = {}
        self.raw: list[bytes] = []  # the word's UTF-8 bytes (second half of a pair)
        self.pair_state: list[int] = []  # crc32 state after "b:{word}_" (first half of a pair)
        self.starts = np.zeros(1024, dtype=np.int64)
        self.lengths = np.zeros(1024, dtype=np.int64)
        self.flat = np.zeros(16384, dtype=np.int32)
        self.used = 0
        self.bins: list[list[int]] = []  # the same bins as Python lists (one text: fewer numpy calls)

    def _add(self, word: str) -> int:
        bins = [zlib.crc32(f.encode()) % self.dim for f in word_features(word, self.ngram)]
        wid = len(self.raw)
        if wid == len(self.starts):
            self.starts = np.resize(self.starts, 2 * wid)
            self.lengths = np.resize(self.lengths, 2 * wid)
        if self.used + len(bins) > len(self.flat):
            self.flat = np.resize(self.flat, 2 * (self.used + len(bins)))
        self.flat[self.used : self.used + len(bins)] = bins
        self.starts[wid], self.lengths[wid] = self.used, len(bins)
        self.used += len(bins)
        self.bins.append(bins)
        self.raw.append(word.encode())
        self.pair_state.append(zlib.crc32(f"b:{word}_".encode()))
        self.ids[word] = wid
        return wid

    def counts(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) int64 feature counts per bin, as the reference counts them."""
        dim = self.dim
        with self._lock:
            if len(self.ids) > MAX_WORDS:
                self._reset()
            ids, get, add = self.ids, self.ids.get, self._add  # (_reset rebinds self.ids)
            raw, state, crc = self.raw, self.pair_state, zlib.crc32
            word_ids: list[int] = []
            text_rows: list[int] = []  # rows with at least one word
            text_lens: list[int] = []  # and their number of words
            pair_keys: list[int] = []
            for row, text in enumerate(texts):
                words = _WORD.findall(fast_fold(text))
                wids = [get(w, -1) for w in words]
                if -1 in wids:
                    wids = [ids[w] if w in ids else add(w) for w in words]
                if not wids:
                    continue
                base = row * dim
                word_ids.extend(wids)
                text_rows.append(row)
                text_lens.append(len(wids))
                pair_keys.extend([base + crc(raw[b], state[a]) % dim for a, b in zip(wids, wids[1:])])
            starts, lengths, flat = self.starts, self.lengths, self.flat
            if len(texts) == 1:  # a query: a list of bins, one bincount
                keys = [b for w in word_ids for b in self.bins[w]] + pair_keys
                return np.bincount(np.asarray(keys, dtype=np.int64), minlength=dim).reshape(1, dim)
        if not word_ids:
            return np.zeros((len(texts), dim), dtype=np.int64)
        wid_arr = np.asarray(word_ids, dtype=np.int64)
        rows_of_words = np.repeat(np.asarray(text_rows, dtype=np.int64), text_lens)
        lens = lengths[wid_arr]
        ends = np.cumsum(lens)
        positions = np.arange(int(ends[-1]), dtype=np.int64) + np.repeat(starts[wid_arr] - (ends - lens), lens)
        keys = np.repeat(rows_of_words * dim, lens) + flat[positions]
        all_keys = np.concatenate([keys, np.asarray(pair_keys, dtype=np.int64)])
        return np.bincount(all_keys, minlength=len(texts) * dim).reshape(len(texts), dim)


def normalise_counts(counts: np.ndarray) -> np.ndarray:
    """float32 log1p(counts) rows scaled to unit norm, exactly as `HashingEmbeddings._vector` does."""
    vecs = np.log1p(counts).astype(np.float32)
    if len(vecs) == 1:
        norm = vecs[0].dot(vecs[0])
        if norm > 0:
            vecs /= np.sqrt(norm)
        return vecs
    norms = np.sqrt(np.fromiter((row.dot(row) for row in vecs), dtype=np.float32, count=len(vecs)))
    np.divide(vecs, norms[:, None], out=vecs, where=norms[:, None] > 0)
    return vecs

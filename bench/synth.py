"""Seeded synthetic Vietnamese news articles, passages and queries for the benchmarks.

Everything is generated from the bundled article: a word-level Markov chain over its
lead and body sentences (so the vocabulary, the syllable statistics and the sentence
shapes are the article's), with the numbers drawn afresh so that figures differ between
articles. Generated files go to a temporary directory and are never committed.

>>> model = ArticleModel.from_article(_bundled())
>>> text = model.article(__import__("random").Random(0), paragraphs=3)
>>> text.splitlines()[0].startswith("Thứ")
True
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from assistant.ingest.article import Article
from assistant.ingest.text import fold
from assistant.paths import bundled_article

WEEKDAYS = ["Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật"]
QUESTION_TAILS = ["là gì?", "bao nhiêu?", "như thế nào?", "ở đâu?", "khi nào?", ""]
_NUMBER = re.compile(r"^(\d+)([^\d]*)$")


def _bundled() -> Article:
    return Article.read(bundled_article())


@dataclass
class ArticleModel:
    """A word-level Markov chain (order 1) over the article's sentences."""

    starts: list[str]
    follows: dict[str, list[str]]
    lengths: list[int]
    names: list[str]

    @classmethod
    def from_article(cls, article: Article) -> ArticleModel:
        follows: dict[str, list[str]] = defaultdict(list)
        starts, lengths = [], []
        for s in article.sentences:
            if article.paragraphs[s.paragraph].kind not in {"lead", "body"}:
                continue
            words = s.text.replace("LSO-", "").split()
            if len(words) < 4:
                continue
            starts.append(words[0])
            lengths.append(len(words))
            for a, b in zip(words, words[1:]):
                follows[a].append(b)
        names = sorted({m.group(0) for m in re.finditer(r"(?:[A-ZĐ][\wÀ-ỹ]+ ){2,3}[A-ZĐ][\wÀ-ỹ]+", article.text)})
        return cls(starts, dict(follows), lengths, names or ["Nguyễn Văn An"])

    def sentence(self, rng: random.Random, max_words: int | None = None) -> str:
        """One sentence: a chain walk of about the length of an article sentence, ended by a period."""
        target = min(rng.choice(self.lengths), max_words or 10**9)
        words = [rng.choice(self.starts)]
        while len(words) < target:
            nxt = self.follows.get(words[-1])
            words.append(rng.choice(nxt) if nxt else rng.choice(self.starts).lower())
        out = [self._renumber(rng, w).rstrip(".") for w in words]
        text = " ".join(out).rstrip(",;:–-“”\" ")
        text = text[0].upper() + text[1:]
        return text if text.endswith((".", "!", "?")) else text + "."

    @staticmethod
    def _renumber(rng: random.Random, word: str) -> str:
        m = _NUMBER.match(word)
        if not m or len(m.group(1)) >= 4:  # keep years as they are
            return word
        return f"{rng.randint(2, 999)}{m.group(2)}"

    def paragraph(self, rng: random.Random, words: int = 60) -> str:
        """Whole sentences up to about `words` words (one chunk of the default chunking)."""
        out: list[str] = []
        total = 0
        while total < words:
            s = self.sentence(rng, max_words=max(8, words - total + 6))
            out.append(s)
            total += len(s.split())
        return " ".join(out)

    def article(self, rng: random.Random, paragraphs: int = 10, words: int = 60) -> str:
        """A whole article in the bundled article's layout: date, title, lead, body, byline."""
        date = f"{rng.choice(WEEKDAYS)}, {rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(2015, 2024)}"
        title = self.sentence(rng, max_words=12).rstrip(".").replace(";", ",")
        lead = "LSO- " + self.paragraph(rng, words)
        body = [self.paragraph(rng, words) for _ in range(paragraphs)]
        byline = "Bài, ảnh: " + rng.choice(self.names).upper()
        return "\n\n".join([date, title, lead, *body, byline]) + "\n"


def write_articles(directory: Path, n_articles: int, seed: int = 0, paragraphs: int = 10,
                   words: int = 60) -> list[Path]:
    """`n_articles` article files in `directory` (created); the same seed gives the same files."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = ArticleModel.from_article(_bundled())
    rng = random.Random(seed)
    paths = []
    for i in range(n_articles):
        path = directory / f"article-{i:06d}.txt"
        path.write_text(model.article(rng, paragraphs, words), encoding="utf-8")
        paths.append(path)
    return paths


def articles_for_passages(passages: int, per_article: int = 50) -> tuple[int, int]:
    """(articles, body paragraphs per article) giving about `passages` chunks: each paragraph
    is one chunk, plus date, title, lead and byline chunks."""
    body = per_article - 4
    return max(1, round(passages / per_article)), body


def queries(texts: list[str], n: int = 200, seed: int = 1, folded_share: float = 0.3) -> list[str]:
    """Question-like queries: a window of 4-10 words from a random passage plus a question
    tail; about `folded_share` of them typed without diacritics (as the test set has)."""
    rng = random.Random(seed)
    out = []
    bodies = [t for t in texts if len(t.split()) >= 12]
    for _ in range(n):
        words = rng.choice(bodies).split()
        size = rng.randint(4, 10)
        at = rng.randrange(0, len(words) - size)
        q = " ".join(w.strip(".,;:“”\"()") for w in words[at : at + size])
        q = f"{q} {rng.choice(QUESTION_TAILS)}".strip()
        out.append(fold(q) if rng.random() < folded_share else q)
    return out

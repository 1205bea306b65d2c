"""Article-side evidence for the extractive answerer: clauses, tokens, IDF, number mentions.

Built once per article (a few milliseconds) and read-only afterwards. Clauses are
sentences cut at ";" (long Vietnamese news sentences chain facts with it), so an answer
can quote the one clause that holds the asked-for figure. Every clause is a verbatim
span of `article.text`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from assistant.ingest.article import Article
from assistant.ingest.text import canonical_tones, fold

_SYLL = re.compile(r"\w+")
# a number (1.000, 3,5, 95%) and up to 6 following syllables, stopping at punctuation
_MENTION = re.compile(r"(?<![\w/.,])(\d+(?:[.,]\d+)*%?)(?![\w/])((?:[ \t]+[^\W\d]\w*){0,6})")
_PERSON_NOUNS = frozenset(
    [
        "dang vien",
        "dong chi",
        "quan chung",
        "can bo",
        "chien sy",
        "chien si",
        "nguoi",
        "doan vien",
        "hoi vien",
        "thanh vien",
    ]
)
_TRAILING_STOP = frozenset(
    ["ve", "cho", "cua", "va", "voi", "trong", "tai", "o", "la", "de", "thi", "ma", "cac", "nhung", "da", "duoc"]
)


@dataclass(frozen=True)
class Clause:
    start: int
    end: int
    sentence: int  # index into article.sentences
    paragraph: int
    text: str


@dataclass(frozen=True)
class Mention:
    """A number in the text with the syllables that follow it ("261" + "đảng viên mới")."""

    start: int
    end: int  # end of the number
    number: str
    after: tuple[str, ...]  # folded syllables following the number
    tail: str = ""  # the text of those syllables, verbatim


_CACHE_MAX = 4096  # entries per cache below; cleared when full (bounded memory, thread-safe enough:
# a lost entry is recomputed, never wrong)


class ArticleEvidence:
    def __init__(self, article: Article):
        self.article = article
        self.clauses: list[Clause] = []
        for si, s in enumerate(article.sentences):
            for start, end in _split_clauses(article.text, s.start, s.end):
                self.clauses.append(Clause(start, end, si, s.paragraph, article.text[start:end]))
        text = article.text
        self.sentence_tokens = [_token_forms(s.text) for s in article.sentences]
        self.paragraph_tokens = {p.index: _token_forms(p.text) for p in article.paragraphs}
        self.clause_tokens = [_token_forms(c.text) for c in self.clauses]
        df: Counter[str] = Counter()
        for forms in self.sentence_tokens:
            df.update(forms["exact"] | forms["folded"] | forms["exact_bi"] | forms["folded_bi"])
        n = max(1, len(self.sentence_tokens))
        self._idf = {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}
        self._idf_missing = math.log((n + 1) / 0.5)
        self.all_folded = fold(text)
        self.sentence_folded = [fold(s.text) for s in article.sentences]
        self.mentions = [_mention(m) for m in _MENTION.finditer(text)]
        self._forms: dict[tuple[int, int], dict[str, set[str]]] = {}
        self._weights: dict[tuple[str, ...], tuple[tuple[tuple[str, float], ...], float]] = {}

    def idf(self, token: str) -> float:
        return self._idf.get(token, self._idf_missing)

    def weights(self, tokens: tuple[str, ...]) -> tuple[tuple[tuple[str, float], ...], float]:
        """The distinct tokens with their IDF, and the IDF total (cached: a question's tokens
        are weighed against every candidate clause)."""
        got = self._weights.get(tokens)
        if got is None:
            pairs = tuple((t, self.idf(t)) for t in dict.fromkeys(tokens))
            got = (pairs, math.fsum(w for _, w in pairs))
            if len(self._weights) >= _CACHE_MAX:
                self._weights.clear()
            self._weights[tokens] = got
        return got

    def forms(self, start: int, end: int) -> dict[str, set[str]]:
        """`_token_forms` of `article.text[start:end]` (cached: windows around figures recur)."""
        got = self._forms.get((start, end))
        if got is None:
            got = _token_forms(self.article.text[start:end])
            if len(self._forms) >= _CACHE_MAX:
                self._forms.clear()
            self._forms[(start, end)] = got
        return got

    def in_article(self, token: str, folded: bool) -> bool:
        return token in self._idf

    def mentions_in(self, start: int, end: int) -> list[Mention]:
        return [m for m in self.mentions if start <= m.start and m.end <= end]


def _split_clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    piece = start
    for m in re.finditer(r";\s+", text[start:end]):
        spans.append((piece, start + m.start()))
        piece = start + m.end()
    spans.append((piece, end))
    return [(a, b) for a, b in spans if b > a]


def _token_forms(text: str) -> dict[str, set[str]]:
    exact = _SYLL.findall(canonical_tones(text).lower())
    folded = [fold(s) for s in exact]
    return {
        "exact": set(exact),
        "folded": set(folded),
        "exact_bi": {f"{a}_{b}" for a, b in zip(exact, exact[1:])},
        "folded_bi": {f"{a}_{b}" for a, b in zip(folded, folded[1:])},
    }


def _mention(m: re.Match[str]) -> Mention:
    words = m.group(2).split()
    folded = tuple(fold(w) for w in words)
    return Mention(m.start(1), m.end(1), m.group(1), folded, m.group(2))


# Words that still belong to a counted noun phrase after its unit ("đảng viên mới trở lên").
_MODIFIERS = frozenset(
    [
        "moi",
        "cu",
        "tro",
        "len",
        "uu",
        "tu",
        "chinh",
        "thuc",
        "du",
        "bi",
        "nu",
        "nam",
        "tre",
        "gia",
        "tuoi",
        "dang",
        "vien",
        "dong",
        "chi",
    ]
)


def short_span(mention: Mention, unit_len: int, extra: int = 3) -> tuple[int, int]:
    """The number and its unit words; after a matched unit only modifiers follow ("261 đảng
    viên mới"), without one up to `extra` words, stopping at a function word."""
    keep = min(unit_len, len(mention.after))
    while keep < len(mention.after) and keep < max(unit_len, 2) + extra and mention.after[keep] not in _TRAILING_STOP:
        if unit_len and mention.after[keep] not in _MODIFIERS:
            break
        keep += 1
    pos = 0
    for w in mention.tail.split()[:keep]:
        pos = mention.tail.index(w, pos) + len(w)
    return mention.start, mention.end + pos


def unit_matches(mention: Mention, unit: tuple[str, ...]) -> int:
    """How many words after the number match the question's unit (0: no match)."""
    folded_unit = tuple(fold(u) for u in unit)
    if folded_unit == ("%",):
        return 1 if mention.number.endswith("%") else 0
    if folded_unit[:1] == ("nguoi",):  # "bao nhiêu người": any noun for people
        head = " ".join(mention.after[:2])
        return 2 if head in _PERSON_NOUNS else 1 if mention.after[:1] == ("nguoi",) else 0
    prefix = 0
    while prefix < len(folded_unit) and prefix < len(mention.after) and mention.after[prefix] == folded_unit[prefix]:
        prefix += 1
    if prefix == len(folded_unit):
        return prefix
    # the head noun right after the number and the rest of the unit a few words on: "mấy lớp
    # nhận thức" for "5 lớp bồi dưỡng nhận thức" (the matched head's length: a weaker match)
    if prefix and all(u in mention.after[prefix:6] for u in folded_unit[prefix:]):
        return prefix
    return 0


def phrase_after(text: str, m: Mention, limit: int, max_chars: int = 80) -> tuple[int, int]:
    """The figure and the words after it up to the next punctuation mark ("95% tổ chức cơ sở
    đảng hoàn thành tốt nhiệm vụ"), cut at a word boundary within `max_chars`."""
    stop = re.compile(r"[,;.:!?()“”\"]")
    end = min(limit, m.start + max_chars)
    found = stop.search(text, m.end, end)
    if found:
        return m.start, found.start()
    cut = text.rfind(" ", m.end, end) if end < limit else end
    return m.start, (cut if cut > m.end else end)


def known_name(name: str, folded_text: str) -> bool:
    """A name is known when two adjacent syllables of it (one for a one-word name) occur."""
    parts = name.split()
    pairs = [" ".join(parts[i : i + 2]) for i in range(max(1, len(parts) - 1))]
    return any(re.search(rf"\b{re.escape(p)}\b", folded_text) for p in pairs)


def around(text: str, clause: Clause, span: tuple[int, int]) -> tuple[int, int]:
    """The comma-separated part of a long clause that holds a figure, with the part before
    it when that one is short ("5 năm qua, chi bộ đã kết nạp được 108 đảng viên mới")."""
    cuts = [clause.start] + [clause.start + m.end() for m in re.finditer(r",\s+", clause.text)] + [clause.end + 2]
    at = max(i for i, c in enumerate(cuts[:-1]) if c <= span[0])
    start = cuts[at - 1] if at > 0 and cuts[at] - cuts[at - 1] < 40 else cuts[at]
    end = max(span[1], min(clause.end, cuts[at + 1] - 2))
    return start, end


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop leading/trailing spaces and a trailing comma or semicolon from a quoted span."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;"):
        end -= 1
    return start, end

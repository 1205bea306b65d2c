"""The quote behind an answer: the smallest verbatim piece of the article that proves it.

Every answerer proposes citations (the rules a clause or a sentence, the reader the sentence
that holds its span, the metadata questions a line of the article); `shorten` then cuts
them so that together they run to at most `QUOTE_SYLLABLES` syllables, the length a chat
answer can be read at a glance. A quote is cut at clause ends (",", ";", ":", dashes), never
inside a word, and always keeps the answer's span:

- a citation that holds the short answer (`answer_start`/`answer_end`) keeps the run of
  clauses around it that fits and holds most of the question's syllables (`clauses_around`);
- one without (a rule's quote for "what/how" questions) keeps the run of clauses that holds
  most of the question's syllables (`best_window`);
- a single clause longer than the budget is cut to the syllables around the span.

Offsets stay article offsets, so every cut quote is still `article.text[start:end]`.
"""

from __future__ import annotations

import re
from dataclasses import replace

from assistant.answer.contract import Answer, Citation
from assistant.answer.evidence import trim_span
from assistant.ingest.article import Article
from assistant.ingest.text import fold, syllables

# The bar for an answer's quotes together: what the evaluation counts as a short answer
# ("Quotes ≤ 60 syllables", `assistant/evaluate/run.py`).
QUOTE_SYLLABLES = 60
_CLAUSE_END = re.compile(r"[,;:–—]\s|\s[-–—]\s")
_WORD = re.compile(r"\w+")


def count(text: str) -> int:
    """Syllables (runs of letters and digits) in `text`."""
    return len(_WORD.findall(text))


def sentence_around(article: Article, start: int, end: int) -> tuple[int, int]:
    """The sentence (or the run of sentences) that holds [start, end)."""
    lo, hi = start, end
    for sent in article.sentences:
        if sent.start <= start < sent.end or (sent.start < end <= sent.end):
            lo, hi = min(lo, sent.start), max(hi, sent.end)
    return lo, hi


def quote_around(article: Article, start: int, end: int, budget: int) -> tuple[int, int]:
    """The sentence holding [start, end) if it fits in `budget` syllables, else the clauses
    around the span that do."""
    lo, hi = sentence_around(article, start, end)
    if count(article.text[lo:hi]) > budget:
        lo, hi = clauses_around(article.text, lo, hi, start, end, budget)
    return trim_span(article.text, min(lo, start), max(hi, end))


def _cuts(text: str, lo: int, hi: int) -> list[int]:
    return [lo] + [m.end() for m in _CLAUSE_END.finditer(text, lo, hi) if lo < m.end() < hi] + [hi]


def clauses_around(text: str, lo: int, hi: int, start: int, end: int, budget: int,
                   question: str = "") -> tuple[int, int]:
    """Within [lo, hi): the run of clauses around the span that fits in `budget` and holds most
    of the question's syllables (the longest of equals: more context, same length bar); the
    syllables around the span when its own clause is longer than `budget`."""
    cuts = _cuts(text, lo, hi)
    a = max(c for c in cuts if c <= max(start, lo))
    b = min(c for c in cuts if c >= min(end, hi))
    if count(text[a:b]) > budget:
        return _words_around(text, a, b, start, end, budget)
    return _best_run(text, [c for c in cuts if c <= a], [c for c in cuts if c >= b], question, budget)


def _words_around(text: str, lo: int, hi: int, start: int, end: int, budget: int) -> tuple[int, int]:
    """The span and the words either side of it, alternately, within [lo, hi) and `budget`
    (the span itself is kept whole, whatever its length)."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, lo, hi)]
    left = [w for w in words if w[1] <= start][::-1]
    right = [w for w in words if w[0] >= end]
    a, b = start, end
    n = count(text[a:b])
    while n < budget and (left or right):
        if right:
            b, n = right.pop(0)[1], n + 1
        if left and n < budget:
            a, n = left.pop(0)[0], n + 1
    return a, b


def best_window(text: str, lo: int, hi: int, question: str, budget: int) -> tuple[int, int]:
    """The run of clauses of [lo, hi) within `budget` syllables that holds most of the
    question's (accent-folded) syllables; the words from the start when no clause fits."""
    cuts = _cuts(text, lo, hi)
    if all(count(text[x:y]) > budget for x, y in zip(cuts, cuts[1:])):
        return _words_around(text, lo, hi, lo, lo, budget)
    return _best_run(text, cuts, cuts, question, budget)


def _best_run(text: str, starts: list[int], ends: list[int], question: str, budget: int) -> tuple[int, int]:
    """The [start, end) from `starts` x `ends` within `budget` syllables holding most distinct
    question syllables, then the earliest (a Vietnamese sentence names who acts first), then
    the most syllables."""
    wanted = set(fold(" ".join(syllables(question))).split())
    best: tuple[int, int, int, int, int] | None = None
    for a in starts:
        for b in ends:
            if b <= a:
                continue
            n = count(text[a:b])
            if n > budget:
                break
            have = len(wanted & set(fold(" ".join(syllables(text[a:b]))).split()))
            if best is None or (have, -a, n) > best[:3]:
                best = (have, -a, n, a, b)
    assert best is not None, "the caller checks that one run fits"
    return best[3], best[4]


def shorten(answer: Answer, article: Article, question: str, budget: int = QUOTE_SYLLABLES) -> Answer:
    """`answer` with its citations cut so that together they hold at most `budget` syllables
    (the longest is cut first, to what the others leave); the reply quotes the cut pieces."""
    cites = list(answer.citations)
    if not answer.answered or sum(count(c.text) for c in cites) <= budget:
        return answer
    text = article.text
    for _ in range(len(cites)):
        total = sum(count(c.text) for c in cites)
        if total <= budget:
            break
        i = max(range(len(cites)), key=lambda k: count(cites[k].text))
        cites[i] = _cut(cites[i], text, question, max(budget - (total - count(cites[i].text)), budget // 3))
    reply = answer.text
    for old, new in zip(answer.citations, cites):
        if new.text != old.text:
            reply = reply.replace(f"“{old.text}”", f"“{new.text}”", 1)
    return replace(answer, text=reply, citations=cites)


def _cut(cite: Citation, text: str, question: str, budget: int) -> Citation:
    if text[cite.start : cite.end] != cite.text:  # not this article's text: leave it alone
        return cite
    if cite.answer_start is not None and cite.answer_end is not None:
        lo, hi = clauses_around(text, cite.start, cite.end, cite.answer_start, cite.answer_end, budget, question)
        lo, hi = trim_span(text, min(lo, cite.answer_start), max(hi, cite.answer_end))
    else:
        lo, hi = trim_span(text, *best_window(text, cite.start, cite.end, question, budget))
    if hi <= lo or (lo, hi) == (cite.start, cite.end):
        return cite
    return replace(cite, text=text[lo:hi], start=lo, end=hi)


"""The answer contract: `Answer` and its `Citation`s (ARCHITECTURE.md), and the helpers
every answerer shares to fill them: where the short answer lies inside a citation, which
chunk a cited span belongs to, and fitting a long quote to the clauses that answer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .retrieval import Passage
from .text import fold, syllables

QUOTE_SYLLABLES = 60  # a quote longer than this is cut to whole clauses (`fit_quote`)
_CLAUSE_END = re.compile(r"[,;:]\s+|[.!?…]\s+")


@dataclass(frozen=True)
class Citation:
    """A cited span: `article.text[start:end] == text`, marked [n] in the answer.
    `answer_start`/`answer_end`, when set, locate the short answer inside it (article offsets)."""

    n: int
    chunk_id: str
    text: str
    start: int
    end: int
    article: int = 0
    answer_start: int | None = None
    answer_end: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Answer:
    """An answer: its text with [n] markers, whether the article answers, and the evidence."""

    text: str
    answered: bool
    citations: list[Citation]
    passages: list[Passage]
    timings_ms: dict[str, float] = field(default_factory=dict)
    short_answer: str | None = None
    confidence: float = 0.0
    answerer: str = "extractive"
    notice: str | None = None
    supported: bool = True

    def to_dict(self) -> dict[str, object]:
        return {
            "answer": self.text,
            "answered": self.answered,
            "short_answer": self.short_answer,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "timings_ms": self.timings_ms,
            "confidence": self.confidence,
            "answerer": self.answerer,
            "notice": self.notice,
            "supported": self.supported,
        }



def locate_short_answer(answer: Answer) -> Answer:
    """Point the first citation that holds the short answer at it (`answer_start`/`answer_end`),
    so the web chat can highlight the answer inside the quoted sentence; the reader sets them itself."""
    short = answer.short_answer
    if not short or any(c.answer_start is not None for c in answer.citations):
        return answer
    cites = list(answer.citations)
    for i, c in enumerate(cites):
        at = c.text.find(short)
        if at >= 0:
            cites[i] = replace(c, answer_start=c.start + at, answer_end=c.start + at + len(short))
            return replace(answer, citations=cites)
    return answer


def chunk_of_span(chunk_of: dict[tuple[int, int], str], start: int, end: int) -> str:
    """The id of the chunk that holds most of [start, end)."""
    best, best_overlap = "", -1
    for (c_start, c_end), cid in chunk_of.items():
        overlap = min(end, c_end) - max(start, c_start)
        if overlap > best_overlap:
            best, best_overlap = cid, overlap
    return best


def fit_quote(answer: Answer, text: str, question: str, limit: int = QUOTE_SYLLABLES) -> Answer:
    """An answer whose one citation is longer than `limit` syllables quotes fewer whole
    clauses of it (cut after , ; : and sentence ends), still verbatim at its offsets in `text`.

    Kept: the clauses that hold the short answer (`answer_start`/`answer_end`), then
    neighbours while the quote fits, the one sharing more syllables with the question
    first; a last clause ending in ":" goes (it introduces what was cut). Left whole: a
    quote without a short answer, or whose short answer only repeats the question's words
    (there is nothing trustworthy to cut to), and a quote that is one long clause."""
    cite = answer.citations[0] if answer.answered and len(answer.citations) == 1 else None
    if (cite is None or cite.answer_start is None or cite.answer_end is None
            or len(syllables(cite.text)) <= limit or text[cite.start : cite.end] != cite.text):
        return answer
    asked = {fold(s) for s in syllables(question)}
    lo_at, hi_at = cite.answer_start - cite.start, cite.answer_end - cite.start
    if {fold(s) for s in syllables(cite.text[lo_at:hi_at])} <= asked:
        return answer
    bounds = [0] + [m.end() for m in _CLAUSE_END.finditer(cite.text)] + [len(cite.text)]
    clauses = [(a, b) for a, b in zip(bounds, bounds[1:]) if cite.text[a:b].strip()]
    held = [i for i, (a, b) in enumerate(clauses) if a < hi_at and b > lo_at]
    if len(clauses) < 2 or not held:
        return answer
    shared = [len(asked & {fold(s) for s in syllables(cite.text[a:b])}) for a, b in clauses]
    sizes = [len(syllables(cite.text[a:b])) for a, b in clauses]
    first, last = held[0], held[-1]
    size = sum(sizes[first : last + 1])
    while sides := [i for i in (first - 1, last + 1) if 0 <= i < len(clauses) and size + sizes[i] <= limit]:
        pick = max(sides, key=lambda i: (shared[i], -i))
        first, last, size = min(first, pick), max(last, pick), size + sizes[pick]
    while last > held[-1] and cite.text[clauses[last][0] : clauses[last][1]].rstrip().endswith(":"):
        last -= 1
    start, end = clauses[first][0], clauses[last][1]
    while start < end and cite.text[start].isspace():
        start += 1
    while end > start and (cite.text[end - 1].isspace() or cite.text[end - 1] in ",;:"):
        end -= 1
    quoted = f"“{cite.text}” [{cite.n}]"
    if (start, end) == (0, len(cite.text)) or quoted not in answer.text:
        return answer
    fitted = replace(cite, text=cite.text[start:end], start=cite.start + start, end=cite.start + end)
    return replace(answer, text=answer.text.replace(quoted, f"“{fitted.text}” [{cite.n}]", 1), citations=[fitted])

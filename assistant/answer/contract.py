"""The answer contract: `Answer` and its `Citation`s (ARCHITECTURE.md), and the two helpers
every answerer shares to fill them: where the short answer lies inside a citation, and
which chunk a cited span belongs to."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from assistant.search.retrieval import Passage


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

"""The reader's answer: the short span, then the sentence that holds it, quoted and cited.

`ReaderAnswerer` turns the span reader's best span (`reader.py`) over the retrieved
passages into an `Answer`: it leads with the span (`Answer.short_answer`), then quotes the
sentence holding it verbatim with its offsets (cut down to the clauses around the span
when the sentence runs past `MAX_QUOTE_SYLLABLES`), or says the article does not say when
the span's margin over the no-answer score is below the calibrated `threshold`.
The citation also carries where the span lies (`answer_start`, `answer_end`), so the web
chat can highlight it inside the quoted sentence.

When the rules answer (the `auto` policy), `refine` lets the reader overrule them when its
margin is far below the no-answer score, and leads an answer with no short answer of its
own with the reader's span when that lies inside the rules' quote.

It leaves out questions about the article itself (title, author, date): those are read
from the article's metadata lines by the rules in `extractive.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from assistant.answer.contract import Answer, Citation, chunk_of_span
from assistant.answer.evidence import trim_span
from assistant.answer.messages import MESSAGES
from assistant.answer.quote import quote_around
from assistant.answer.reader import Reader, Span
from assistant.ingest.article import Article
from assistant.search.retrieval import Passage

# Chosen with the answer policy on the dev splits by `bench/answer_policy.py` (README,
# "Answering"): the smallest margin (best span score minus its window's no-answer score)
# that answers; the one number the policy searches.
READER_THRESHOLD = 2.0
# The rules' answer stands only when the reader's best margin is at least this: not searched
# but read off the reader, the margin that all but 5 % of the answerable dev questions clear
# (`answer_policy.derived_check`).
RULES_CHECK = -7.21
MAX_QUOTE_SYLLABLES = 45


class ReaderAnswerer:
    """Answers one article's questions with the span reader.

    >>> answerer = ReaderAnswerer(article, Reader())                     # doctest: +SKIP
    >>> answerer.answer("Ai là tác giả?", passages, chunk_of).short_answer  # doctest: +SKIP
    """

    def __init__(self, article: Article, reader: Reader, threshold: float | None = None,
                 check: float | None = None):
        self.article = article
        self.reader = reader
        self.threshold = READER_THRESHOLD if threshold is None else threshold
        self.check = RULES_CHECK if check is None else check

    def best(self, question: str | Sequence[str], passages: list[Passage]) -> tuple[Span, Passage] | None:
        """The reader's best span over `passages` (article offsets), or None when none is readable.
        Several forms of one question (an English question and its glossary form): the best
        span of any."""
        spans = self.reader.read(question, [p.text for p in passages])
        if not spans:
            return None
        span = spans[0]
        passage = passages[span.passage]
        a, b = trim_span(passage.text, span.start, span.end)
        return replace(span, start=passage.start + a, end=passage.start + b), passage

    def answer(self, question: str | Sequence[str], passages: list[Passage], chunk_of: dict[tuple[int, int], str],
               lang: str = "vi") -> Answer:
        found = self.best(question, passages) if passages else None
        if found is None or found[0].margin < self.threshold or found[0].end <= found[0].start:
            confidence = found[0].margin if found else 0.0
            return Answer(MESSAGES[lang]["silent"], False, [], passages, confidence=round(confidence, 4),
                          answerer="reader")
        span, _passage = found
        text = self.article.text
        start, end = self.quote_span(span.start, span.end)
        cite = Citation(1, chunk_of_span(chunk_of, start, end), text[start:end], start, end,
                        answer_start=span.start, answer_end=span.end)
        short = text[span.start : span.end]
        reply = MESSAGES[lang]["short"].format(short=short) + f"“{cite.text}” [1]"
        return Answer(reply, True, [cite], passages, short_answer=short, confidence=round(span.margin, 4),
                      answerer="reader")

    def refine(self, question: str | Sequence[str], answer: Answer, passages: list[Passage],
               lang: str = "vi") -> Answer:
        """The reader's say on the rules' `answer` (the `auto` policy, chosen on dev by
        `bench/answer_policy.py`): when its best span's margin is below `check` the article
        does not say after all; otherwise, when the rules give no short answer, the span leads
        their answer if it lies inside one of their quotes, which stay as they are."""
        found = self.best(question, passages) if passages else None
        if found is None:
            return answer
        span = found[0]
        if span.margin < self.check:
            return Answer(MESSAGES[lang]["silent"], False, [], passages, confidence=round(span.margin, 4),
                          answerer="extractive+reader")
        cites = list(answer.citations)
        at = next((i for i, c in enumerate(cites) if c.start <= span.start and span.end <= c.end), None)
        if answer.short_answer or at is None or span.end <= span.start:
            return answer
        cites[at] = replace(cites[at], answer_start=span.start, answer_end=span.end)
        short = self.article.text[span.start : span.end]
        reply = MESSAGES[lang]["short"].format(short=short) + " … ".join(f"“{c.text}” [{c.n}]" for c in cites)
        return replace(answer, text=reply, citations=cites, short_answer=short, answerer="extractive+reader")

    def quote_span(self, start: int, end: int) -> tuple[int, int]:
        """The sentence holding [start, end), or the clauses around it in a long sentence."""
        return quote_around(self.article, start, end, MAX_QUOTE_SYLLABLES)

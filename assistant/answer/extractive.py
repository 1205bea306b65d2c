"""The extractive answerer: quote the clause that answers, cite it, or say the article is silent.

For each question it scores the clauses of the sentences inside the retrieved passages:
IDF-weighted coverage of the question's content syllables and word pairs by the
clause, its sentence and its paragraph, plus what the question asks for (a number with
the asked-for unit for "bao nhiêu", a name for "ai", a time for "khi nào").
Questions about the article itself are answered from its metadata lines.

It abstains (`answered=False`) when the best clause does not cover the question well
enough, when a number the question asks about has no matching figure, or when the
question names a number or a name that the article never mentions. The thresholds are
calibrated on the dev split of the test set (README, "Abstention").

Every quoted span is `article.text[start:end]`, so nothing in an answer asserts a fact
that is not in the cited text. It leaves out generation on purpose: see `llm.py`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from assistant.answer.contract import Answer, Citation, chunk_of_span, locate_short_answer  # noqa: F401 (the contract)
from assistant.answer.evidence import (
    ArticleEvidence,
    Clause,
    Mention,
    around,
    known_name,
    phrase_after,
    short_span,
    trim_span,
    unit_matches,
)
from assistant.answer.messages import MESSAGES
from assistant.answer.question import QuestionAnalysis, analyse
from assistant.answer.question import strip_honorific as _strip
from assistant.ingest.article import Article
from assistant.ingest.text import fold
from assistant.search.retrieval import Passage


@dataclass(frozen=True)
class AbstentionConfig:
    """Thresholds of the abstention decision, chosen by `bench/calibrate_abstention.py`
    on the dev split (README, "Abstention"): the support a clause needs, a lower bar when a
    "bao nhiêu" question found its figure with the asked-for unit, and the largest share
    of the question's content the article may never mention."""

    min_support: float = 0.45
    min_support_figure: float = 0.40
    max_missing: float = 0.50


@dataclass(frozen=True)
class Candidate:
    clause: Clause
    score: float
    support: float
    slot_ok: bool
    short: tuple[int, int] | None = None


_PERSON = re.compile(r"(?:[A-ZĐ][\wÀ-ỹ]*\s+){2,3}[A-ZĐ][\wÀ-ỹ]*")
_IDENTITY = re.compile(r"^(ai|nguoi nao|can bo nao|dong chi nao|who)\b|\b(la ai|la nguoi nao|who is|who was)\b")
# A time expression, not just a word that can be part of one ("qua", "sau", "khi" alone)
_TIME = re.compile(
    r"\b(19|20)\d\d\b|\d{1,2}/\d{1,2}|\b(ngày|tháng|năm|quý) \d|\b(nhiệm kỳ|kỳ hạn|thời gian (tới|qua|đầu))\b"
    r"|\b(năm|tháng|tuần|ngày|quý|nhiệm kỳ) (qua|tới|liền|sau|trước|này|nay)\b|\b(hằng|mỗi) (năm|tháng|tuần|ngày|quý)\b"
    r"|\b(sau|trước) (khi|đó)\b|\b(khi|lúc) (được|đã|mới|còn)\b|\b(hiện nay|hiện tại|trước đây|sắp tới)\b",
    re.IGNORECASE,
)
_RANK = re.compile(r"\b(?:Đại|Thượng|Trung|Thiếu) (?:tướng|tá|úy|uý)\b", re.IGNORECASE)
_RANK_ASKED = re.compile(r"\b(cap bac|quan ham|ham (gi|nao)|(mang|giu|deo|co) ham|rank)\b")
_WINDOW = 60  # characters around a figure that describe it
_SAID = re.compile(r"\b(cho biet|noi|phat bieu|chia se|said|says|told)\b")
_DURATION = re.compile(
    r"\d+\s+(năm|tháng|ngày|tuần|giờ|buổi)|\b(nhiều|mấy|vài) (năm|tháng|ngày|tuần)|\bhằng (năm|tháng|tuần|ngày)"
    r"|\b(năm|tháng) liền\b|\bmỗi (năm|tháng|tuần)",
    re.IGNORECASE,
)
_PLACE = re.compile(r"\b(tại|ở|huyện|xã|tỉnh|thành phố|TP\.?|thị xã|thị trấn|phường|quận|nước)\s+[A-ZĐ]")


class ExtractiveAnswerer:
    """Answers from one article's text. Thread-safe: after init only the evidence's bounded caches
    change, and a lost race between threads only recomputes an entry."""

    def __init__(self, article: Article, abstention: AbstentionConfig | None = None):
        self.article = article
        self.evidence = ArticleEvidence(article)
        self.abstention = abstention or AbstentionConfig()

    def answer(
        self,
        question: str,
        passages: list[Passage],
        chunk_of: dict[tuple[int, int], str],
        lang: str | None = None,
        focus: Sequence[tuple[int, int]] = (),
    ) -> Answer:
        """Answer `question` from `passages`; `lang` ("vi"/"en") sets the reply's language."""
        q = analyse(question)
        lang = lang or ("en" if q.english else "vi")
        meta = self.meta_answer(question, passages, chunk_of, lang)
        if meta is not None:
            return meta
        best = self.best_candidate(q, passages, focus)
        if best is None or not self.decide(q, best):
            return Answer(MESSAGES[lang]["silent"], False, [], passages, confidence=best.support if best else 0.0)
        return self._compose(q, best, lang, passages, chunk_of)

    def meta_answer(self, question: str, passages: list[Passage], chunk_of: dict[tuple[int, int], str],
                    lang: str | None = None) -> Answer | None:
        """The answer to a question about the article itself (title, author, date), else None."""
        q = analyse(question)
        if not q.is_meta:
            return None
        meta = self._meta(q, lang or ("en" if q.english else "vi"), chunk_of)
        if meta is None:
            return None
        return Answer(meta[0], True, meta[1], passages, short_answer=meta[2], confidence=1.0, answerer="metadata")

    # --- scoring --------------------------------------------------------------------------

    def best_candidate(
        self, q: QuestionAnalysis, passages: list[Passage], focus: Sequence[tuple[int, int]] = ()
    ) -> Candidate | None:
        """The best-scoring clause of the retrieved passages; `focus` spans (what the previous
        answer quoted) pull a follow-up question towards the same sentences."""
        ev = self.evidence
        ranks = {}
        for p in passages:
            for i, c in enumerate(ev.clauses):
                if c.start < p.end and p.start < c.end and i not in ranks:
                    ranks[i] = p.rank
        sentences = {i for i, s in enumerate(self.article.sentences) for a, b in focus if s.start < b and a < s.end}
        memo: dict[tuple[str, int], tuple[float, float]] = {}  # sentence / paragraph coverage
        cands = [self._score(q, i, rank, memo) for i, rank in ranks.items()]
        cands = [replace(c, score=c.score + 0.6) if c.clause.sentence in sentences else c for c in cands]
        return max(cands, key=lambda c: (c.slot_ok, c.score), default=None)

    def _score(self, q: QuestionAnalysis, i: int, rank: int,
               memo: dict[tuple[str, int], tuple[float, float]] | None = None) -> Candidate:
        ev = self.evidence
        clause = ev.clauses[i]
        form = "folded" if q.folded else "exact"
        memo = {} if memo is None else memo

        def cover(key: tuple[str, int], forms: dict[str, set[str]]) -> tuple[float, float]:
            got = memo.get(key)
            if got is None:
                uni = self._cover(q.content, forms[form])
                got = memo[key] = (uni, self._cover(q.bigrams, forms[form + "_bi"]) if q.bigrams else uni)
            return got

        uni_s, bi_s = cover(("s", clause.sentence), ev.sentence_tokens[clause.sentence])
        uni_p, bi_p = cover(("p", clause.paragraph), ev.paragraph_tokens[clause.paragraph])
        uni_c = self._cover(q.content, ev.clause_tokens[i][form])
        sentence = self.article.sentences[clause.sentence].text
        paragraph = self.article.paragraphs[clause.paragraph].text
        support = 0.35 * uni_s + 0.15 * uni_c + 0.2 * uni_p + 0.15 * bi_s + 0.15 * bi_p
        slot_ok, figure = self._slot(q, clause, sentence)
        short = None
        focus = uni_c
        if figure is not None:  # a figure: rank clauses by how well the words around it match
            short, focus = figure
        # numbers the question names ("2010 – 2015", "năm 2022") must stand near the answer
        slot_ok = slot_ok and all(n in paragraph for n in q.numbers)
        if q.names:  # the sentence names the people or places the question names
            support += 0.15 * sum(n in ev.sentence_folded[clause.sentence] for n in q.names) / len(q.names)
        return Candidate(clause, support + 0.3 * focus + 0.05 / rank, support, slot_ok, short)

    def _slot(
        self, q: QuestionAnalysis, clause: Clause, sentence: str
    ) -> tuple[bool, tuple[tuple[int, int], float] | None]:
        """Is what the question asks for (a figure, a new name, a time, a place) there?"""
        folded_q = q.folded_text
        if q.kind == "number":
            found = self._number_slot(q, clause)
            return found is not None, found
        if q.kind == "figure_ref":  # the figure the question quotes, and what follows it
            m = next((m for m in self.evidence.mentions_in(clause.start, clause.end) if m.number in q.numbers), None)
            return m is not None, ((phrase_after(self.article.text, m, clause.end), 1.0) if m else None)
        if q.kind == "person" and _RANK_ASKED.search(folded_q):  # "mang hàm gì": a police or army rank
            return bool(_RANK.search(sentence)), None
        if q.kind == "person" and _IDENTITY.search(folded_q):
            # "who said ...": the speaker opens the paragraph the quoted figure sits in
            scope = self.article.paragraphs[clause.paragraph].text if _SAID.search(folded_q) else sentence
            return any(_strip(fold(m.group(0))) not in q.names for m in _PERSON.finditer(scope)), None
        if q.kind == "place":
            return bool(_PLACE.search(clause.text)), None
        if q.kind == "date":
            if re.search(r"\b(nam nao|what year|which year)\b", folded_q):
                return any(y not in q.numbers for y in re.findall(r"\b(?:19|20)\d\d\b", sentence)), None
            if re.search(r"\b(ngay nao|what date|which day)\b", folded_q):
                return bool(re.search(r"\d{1,2}/\d{1,2}|ngày \d", sentence)), None
            if re.search(r"\b(bao lau|how long|trong bao lau)\b", folded_q):
                return bool(_DURATION.search(sentence)), None
            return bool(_TIME.search(sentence)), None
        return True, None

    def _cover(self, tokens: tuple[str, ...], have: set[str]) -> float:
        """IDF-weighted share of `tokens` found in `have`."""
        weights, total = self.evidence.weights(tokens)
        return sum(w for t, w in weights if t in have) / total if total else 0.0

    def _number_slot(self, q: QuestionAnalysis, clause: Clause) -> tuple[tuple[int, int], float] | None:
        """The figure that answers a "bao nhiêu" question in this clause, if any: its span and
        how well the words around it match the question."""
        asked = set(q.numbers)  # (digits: folding changes nothing)
        folded_q = q.folded_text
        options = [m for m in self.evidence.mentions_in(clause.start, clause.end) if m.number not in asked]
        if not re.search(r"\b(ty le|phan tram|percent|percentage)\b", folded_q):
            options = [m for m in options if not m.number.endswith("%")]  # a count is not a share
        units = [unit_matches(m, q.unit) for m in options] if q.unit else [0] * len(options)
        if q.unit:
            options, units = [m for m, n in zip(options, units) if n], [n for n in units if n]
        elif re.search(r"\b(ty le|phan tram|percent|percentage)\b", folded_q):
            options = [m for m in options if m.number.endswith("%")]
        elif re.search(r"\bnam (bao nhieu|may)\b|\bwhat year\b", folded_q):
            options = [m for m in options if re.fullmatch(r"(19|20)\d\d", m.number)]
        if not options:
            return None
        # several figures in one clause ("5 lớp … cho 413 …"): the one whose surroundings
        # share most words with the question
        form = "folded" if q.folded else "exact"
        text = self.article.text

        def near(m: Mention) -> float:
            window = self.evidence.forms(max(clause.start, m.start - _WINDOW), min(clause.end, m.end + _WINDOW))
            score = self._cover(q.content, window[form])
            if not q.unit:
                score += float(_adjacent(q, m, text, clause))
            return score + 0.5 * _named_before(q, m, text, clause)

        best = max(range(len(options)), key=lambda i: (near(options[i]), -i))
        if not q.unit and q.content and not _adjacent(q, options[best], text, clause):
            return None  # "Kinh phí … là bao nhiêu?" with no figure next to "kinh phí"
        return short_span(options[best], units[best] if q.unit else 0), near(options[best])

    def missing_mass(self, q: QuestionAnalysis) -> float:
        """IDF share of the question's content that the article never mentions."""
        uniq = set(q.content)
        total = sum(self.evidence.idf(t) for t in uniq)
        missing = sum(self.evidence.idf(t) for t in uniq if not self.evidence.in_article(t, q.folded))
        return missing / total if total else 1.0

    def features(self, q: QuestionAnalysis, best: Candidate) -> dict[str, float]:
        """The signals the abstention decision reads (also used to calibrate it)."""
        return {
            "support": best.support,
            "slot_ok": float(best.slot_ok),
            "figure": float(q.kind == "number" and best.short is not None and bool(q.unit)),
            "unknown_numbers": float(len(self._unknown_numbers(q))),
            "unknown_names": float(len(self._unknown_names(q))),
            "missing": self.missing_mass(q),
            "figure_ref": float(q.kind == "figure_ref"),
        }

    def unsupported(self, question: str) -> str | None:
        """Why the article cannot answer `question` whatever its passages say, or None: it
        names a number or a person the article never mentions. The reader's answers pass this
        check too (README, "Answering"); missing content words do not veto them, since
        paraphrases miss words (measured with `bench/answer_policy.py`)."""
        q = analyse(question)
        if q.is_meta:
            return None
        if self._unknown_numbers(q):
            return "unknown number"
        if self._unknown_names(q):
            return "unknown name"
        return None

    def _unknown_numbers(self, q: QuestionAnalysis) -> list[str]:
        return [n for n in q.numbers if n not in self.evidence.article.text]

    def _unknown_names(self, q: QuestionAnalysis) -> list[str]:
        """Names whose last two syllables (the given name) never occur in the article."""
        return [name for name in q.names if not known_name(name, self.evidence.all_folded)]

    def decide(self, q: QuestionAnalysis, best: Candidate, config: AbstentionConfig | None = None) -> bool:
        """Answer only with a filled slot, known numbers and names, and enough support."""
        return decide(self.features(q, best), config or self.abstention)

    # --- composing -------------------------------------------------------------------------

    def _compose(
        self,
        q: QuestionAnalysis,
        best: Candidate,
        lang: str,
        passages: list[Passage],
        chunk_of: dict[tuple[int, int], str],
    ) -> Answer:
        clause = best.clause
        if q.kind == "list" or (len(clause.text) < 40 and best.short is None):
            sent = self.article.sentences[clause.sentence]
            start, end = sent.start, sent.end
        elif best.short is not None and len(clause.text) > 150:
            start, end = around(self.article.text, clause, best.short)
        else:
            start, end = clause.start, clause.end
        start, end = trim_span(self.article.text, start, end)
        spans = [(start, end)]
        speaker = self._speaker(q, clause, start, end)
        if speaker is not None:  # "who said …": the quoted words, and the line naming who said them
            spans.insert(0, speaker)
        cites = [Citation(n, chunk_of_span(chunk_of, a, b), self.article.text[a:b], a, b)
                 for n, (a, b) in enumerate(spans, start=1)]
        short = self.article.text[best.short[0] : best.short[1]] if best.short else None
        lead = MESSAGES[lang]["short"].format(short=short) if short else MESSAGES[lang]["lead"]
        text = lead + " … ".join(f"“{c.text}” [{c.n}]" for c in cites)
        return Answer(text, True, cites, passages, short_answer=short, confidence=round(best.support, 4))

    def _speaker(self, q: QuestionAnalysis, clause: Clause, start: int, end: int) -> tuple[int, int] | None:
        """For "who said/shared …" questions whose quoted span names nobody new: the start of
        the paragraph's sentence that introduces the speaker, up to "cho biết:" (or whole)."""
        if q.kind != "person" or not (_IDENTITY.search(q.folded_text) and _SAID.search(q.folded_text)):
            return None
        text = self.article.text
        if any(_strip(fold(m.group(0))) not in q.names for m in _PERSON.finditer(text, start, end)):
            return None
        for sent in self.article.sentences:
            if sent.paragraph != clause.paragraph or sent.start >= start:
                continue
            if any(_strip(fold(m.group(0))) not in q.names for m in _PERSON.finditer(text, sent.start, sent.end)):
                colon = text.find(":", sent.start, sent.end)
                return trim_span(text, sent.start, colon if colon > 0 else sent.end)
        return None

    def _meta(self, q: QuestionAnalysis, lang: str, chunk_of: dict[tuple[int, int], str]):  # type: ignore[no-untyped-def]
        art = self.article
        part = {"meta_author": "byline", "meta_date": "date", "meta_title": "title", "meta_topic": "title"}[q.kind]
        par = art.part(part)
        if par is None:
            return None
        short = {"meta_author": art.author, "meta_date": art.date}.get(q.kind)
        cites = [Citation(1, chunk_of_span(chunk_of, par.start, par.end), par.text, par.start, par.end)]
        lead_par = art.part("lead")
        if q.kind == "meta_topic" and lead_par is not None:
            first = next(s for s in art.sentences if s.paragraph == lead_par.index)
            cites.append(
                Citation(2, chunk_of_span(chunk_of, first.start, first.end), first.text, first.start, first.end)
            )
        lead = MESSAGES[lang][q.kind].format(short=short)
        text = lead + " ".join(f"“{c.text}” [{c.n}]" for c in cites)
        return text, cites, short or par.text


def _adjacent(q: QuestionAnalysis, m: Mention, text: str, clause: Clause) -> bool:
    """Does the question's head noun stand right before ("tổng kinh phí 450") or right after
    ("95% tổ chức") the figure?"""
    head = {fold(w) for w in q.content[:2]}
    before = [fold(w) for w in re.findall(r"\w+", text[max(clause.start, m.start - 40) : m.start])][-3:]
    # "... vượt chỉ tiêu là bao nhiêu?" and "(vượt chỉ tiêu 161 đồng chí)": the words the
    # question puts before "bao nhiêu" stand, in order, right before the figure
    subject = bool(q.subject) and tuple(before[-len(q.subject) :]) == q.subject
    return subject or bool(head & (set(before) | set(m.after[:3])))


def _named_before(q: QuestionAnalysis, m: Mention, text: str, clause: Clause) -> bool:
    """Is the word right before the figure one the question asks about? It names what the
    figure measures: "dài 450 mét, rộng 20 mét" for "rộng bao nhiêu mét", "trong 3 tháng
    với tổng kinh phí 450 triệu đồng" for "tổng kinh phí là bao nhiêu"."""
    before = re.findall(r"\w+", text[max(clause.start, m.start - 20) : m.start])
    return bool(before) and fold(before[-1]) in {fold(w) for w in q.content}


def decide(f: dict[str, float], config: AbstentionConfig) -> bool:
    if f.get("figure_ref"):  # "what does 413 stand for": the figure itself is the evidence
        return bool(f["slot_ok"]) and not f["unknown_numbers"]
    if not f["slot_ok"] or f["unknown_numbers"] or f["unknown_names"] or f["missing"] > config.max_missing:
        return False
    return f["support"] >= (config.min_support_figure if f["figure"] else config.min_support)

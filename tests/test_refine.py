"""The reader's say on the rules' answers in the `auto` policy (`ReaderAnswerer.refine`): it
overrules them when its margin is below the check, and when the rules quote a clause with no
short answer its best span leads the answer if it lies inside their quote, which is left as
the rules made it. A stand-in reader pins where the span is and its margin, so these tests
say what the flow does with them, not what the trained weights find."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from assistant.answer.extractive import Answer, Citation
from assistant.answer.reader import Span
from assistant.answer.reading import ReaderAnswerer
from assistant.errors import ModelUnavailableError
from tests.conftest import SMALL_ARTICLE

SENTENCE = "Thư viện được xây dựng trong 3 tháng với tổng kinh phí 450 triệu đồng"


@dataclass
class PinnedReader:
    """Finds `phrase` in the passages it is given; records the questions it was asked."""

    phrase: str
    margin: float = 1.0
    asked: list[str] = field(default_factory=list)

    def read(self, question: str, passages: list[str], top: int = 1) -> list[Span]:
        self.asked.append(question)
        for i, text in enumerate(passages):
            at = text.find(self.phrase)
            if at >= 0:
                return [Span(i, at, at + len(self.phrase), self.margin + 2.0, self.margin)]
        return []


class BrokenReader:
    def read(self, question: str, passages: list[str], top: int = 1) -> list[Span]:
        raise ModelUnavailableError("reader weights failed their sha256 check")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from assistant import Assistant

    base = tmp_path_factory.mktemp("refine")
    (base / "thu-vien.txt").write_text(SMALL_ARTICLE, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("ASSISTANT_LLM", raising=False)
        mp.delenv("ASSISTANT_MODEL", raising=False)
        return Assistant.build([base / "thu-vien.txt"], index_dir=base / "index", model="offline",
                               announce=lambda _m: None)


def rules_answer(bot, passages) -> Answer:  # type: ignore[no-untyped-def]
    """A rules-style answer quoting SENTENCE, with no short answer."""
    text = bot.article.text
    start = text.index(SENTENCE)
    cite = Citation(1, "c000", SENTENCE, start, start + len(SENTENCE))
    return Answer(f"Theo bài viết: “{SENTENCE}” [1]", True, [cite], passages)


def test_a_span_inside_the_quote_leads_the_answer(small) -> None:  # type: ignore[no-untyped-def]
    passages = small.retrieve("Thư viện xây dựng hết bao nhiêu tiền?")
    before = rules_answer(small, passages)
    after = ReaderAnswerer(small.article, PinnedReader("450 triệu đồng")).refine("kinh phí?", before, passages)
    assert after.short_answer == "450 triệu đồng"
    assert after.text.startswith("450 triệu đồng. Bài viết nêu: ") and after.text.endswith(f"“{SENTENCE}” [1]")
    assert after.answerer == "extractive+reader"
    (cite,) = after.citations
    assert (cite.text, cite.start, cite.end) == (before.citations[0].text, before.citations[0].start,
                                                 before.citations[0].end)  # the quote is untouched
    assert small.article.text[cite.answer_start : cite.answer_end] == "450 triệu đồng"
    english = ReaderAnswerer(small.article, PinnedReader("450 triệu đồng")).refine("cost?", before, passages, "en")
    assert english.text.startswith("450 triệu đồng. The article says: ")


@pytest.mark.parametrize("phrase", ["2.000 đầu sách", "không có ở đâu"])
def test_a_span_outside_the_quote_or_none_leaves_the_rules_answer(small, phrase: str) -> None:  # type: ignore[no-untyped-def]
    passages = small.retrieve("Thư viện có bao nhiêu đầu sách và kinh phí bao nhiêu?", k=4)
    assert any(phrase in p.text for p in passages) or phrase == "không có ở đâu"
    before = rules_answer(small, passages)
    after = ReaderAnswerer(small.article, PinnedReader(phrase)).refine("?", before, passages)
    assert after == before


@pytest.mark.parametrize("margin", [-2.5, 0.5])
def test_a_margin_below_the_check_overrules_the_rules(small, margin: float) -> None:  # type: ignore[no-untyped-def]
    passages = small.retrieve("Thư viện xây dựng hết bao nhiêu tiền?")
    before = rules_answer(small, passages)
    after = ReaderAnswerer(small.article, PinnedReader("450 triệu đồng", margin), check=-1.0).refine("?", before,
                                                                                                       passages)
    if margin < -1.0:
        assert not after.answered and not after.citations and after.passages == passages
        assert after.text.startswith("Bài viết không đề cập") and after.confidence == margin
    else:
        assert after.answered and after.short_answer == "450 triệu đồng"


def test_auto_keeps_the_rules_short_answer_and_adds_the_readers_where_they_have_none(  # type: ignore[no-untyped-def]
        small, monkeypatch: pytest.MonkeyPatch) -> None:
    pinned = PinnedReader("phụ huynh và các nhà hảo tâm")
    monkeypatch.setattr(small, "reader", pinned)
    monkeypatch.setattr(small, "_readers", {})
    question = "Kinh phí xây dựng thư viện do ai đóng góp?"
    rules = small.ask(question, answerer="extractive")
    assert rules.answered and not rules.short_answer, rules.text  # the case this flow is for
    auto = small.ask(question, answerer="auto")
    assert auto.short_answer == "phụ huynh và các nhà hảo tâm" and pinned.asked == [question]
    assert [c.text for c in auto.citations] == [c.text for c in rules.citations]
    counted = "Mỗi tuần học sinh được đọc sách mấy tiết?"
    shorted = small.ask(counted, answerer="extractive")
    assert shorted.short_answer == "2 tiết"  # the rules' own short answer is kept; the reader only checks it
    assert small.ask(counted, answerer="auto").short_answer == "2 tiết" and pinned.asked == [question, counted]


def test_an_unavailable_reader_keeps_the_rules_answer_with_a_notice(  # type: ignore[no-untyped-def]
        small, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(small, "reader", BrokenReader())
    monkeypatch.setattr(small, "_readers", {})
    question = "Kinh phí xây dựng thư viện do ai đóng góp?"
    rules = small.ask(question, answerer="extractive")
    auto = small.ask(question, answerer="auto")
    assert auto.answered and [c.text for c in auto.citations] == [c.text for c in rules.citations]
    assert auto.notice and "sha256" in auto.notice


@dataclass
class FormReader:
    """Finds `phrase` with a margin that depends on which form of the question it reads."""

    phrase: str
    margins: dict[str, float]
    asked: list[str] = field(default_factory=list)

    def read(self, question: str | Sequence[str], passages: list[str], top: int = 1) -> list[Span]:
        forms = [question] if isinstance(question, str) else list(question)
        self.asked.extend(forms)  # like the real reader: every form in one call, the best span first
        margin = max(self.margins["en" if "library" in form else "vi"] for form in forms)
        at = next((i, p.find(self.phrase)) for i, p in enumerate(passages) if self.phrase in p)
        return [Span(at[0], at[1], at[1] + len(self.phrase), margin + 2.0, margin)]


@pytest.mark.parametrize(("reading", "forms", "answered"), [
    ("glossary", 1, False),  # the glossary form alone: its margin (0.5) is under the threshold
    ("raw", 1, True),
    ("both", 2, True),  # the better of the two forms' spans
])
def test_how_the_reader_reads_an_english_question(small, monkeypatch: pytest.MonkeyPatch, reading: str,  # type: ignore[no-untyped-def]
                                                  forms: int, answered: bool) -> None:
    reader = FormReader("450 triệu đồng", {"en": 4.0, "vi": 0.5})
    monkeypatch.setattr(small, "reader", reader)
    monkeypatch.setattr(small, "_readers", {})
    monkeypatch.setattr(small, "english_reading", reading)
    question = "How much did the library cost to build?"
    answer = small.ask(question, answerer="reader")
    assert len(reader.asked) == forms and (question in reader.asked) == (reading != "glossary")
    assert answer.answered is answered
    if answered:
        assert answer.short_answer == "450 triệu đồng" and answer.text.startswith("450 triệu đồng. The article says")


def test_an_unknown_english_reading_is_refused_with_the_ones_that_work() -> None:
    from assistant.answer.translate import reader_forms

    assert reader_forms("Who?", "ai?", "both") == ("ai?", "Who?")
    with pytest.raises(ValueError, match=r"glossary, raw, both.*'deepl'"):
        reader_forms("Who?", "ai?", "deepl")

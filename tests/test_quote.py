"""Quotes cut to the smallest verbatim piece that proves the answer (`assistant/answer/quote.py`):
at most 60 syllables together, cut at clause ends, always holding the short answer's span,
offsets still the article's."""

from __future__ import annotations

import pytest

from assistant.answer.contract import Answer, Citation
from assistant.answer.quote import QUOTE_SYLLABLES, count, quote_around, shorten
from assistant.ingest.article import Article

LONG = ("Trong năm qua, Ban Giám đốc Công an tỉnh đã chỉ đạo các phòng nghiệp vụ rà soát toàn bộ hồ sơ tồn đọng, "
        "phân loại theo từng lĩnh vực và mức độ phức tạp, giao cho từng đơn vị chịu trách nhiệm giải quyết dứt điểm, "
        "đồng thời tổ chức 12 đợt kiểm tra đột xuất tại các huyện biên giới, phát hiện và xử lý 37 vụ vi phạm về "
        "trật tự an toàn giao thông, thu giữ nhiều tang vật có giá trị, góp phần giữ vững an ninh chính trị trên "
        "địa bàn toàn tỉnh.")
RUN_ON = ("Lực lượng chức năng đã phối hợp chặt chẽ với chính quyền địa phương và các tổ chức đoàn thể để vận động "
          "nhân dân tham gia phong trào toàn dân bảo vệ an ninh Tổ quốc và tố giác tội phạm trên địa bàn các xã "
          "vùng sâu vùng xa thuộc ba huyện biên giới phía bắc của tỉnh trong suốt năm 2022 vừa qua")
TEXT = f"Công an tỉnh tổng kết năm 2022\n\n{LONG}\n\nNgắn gọn: có 5 đơn vị được khen thưởng.\n\n{RUN_ON}.\n"


@pytest.fixture(scope="module")
def article() -> Article:
    return Article.from_text(TEXT)


def _answer(article: Article, quotes: list[str], short: str | None = None) -> Answer:
    cites = []
    for n, quote in enumerate(quotes, start=1):
        at = article.text.index(quote)
        span = article.text.find(short, at, at + len(quote)) if short else -1
        cites.append(Citation(n, "c0", quote, at, at + len(quote),
                              answer_start=span if span >= 0 else None,
                              answer_end=span + len(short) if short and span >= 0 else None))
    lead = f"{short}. Bài viết nêu: " if short else "Theo bài viết: "
    text = lead + " … ".join(f"“{c.text}” [{c.n}]" for c in cites)
    return Answer(text, True, cites, [], short_answer=short)


def _check_verbatim(article: Article, answer: Answer) -> None:
    for c in answer.citations:
        assert article.text[c.start : c.end] == c.text
        assert f"“{c.text}” [{c.n}]" in answer.text


def test_a_short_quote_is_left_as_it_is(article):
    answer = _answer(article, ["Ngắn gọn: có 5 đơn vị được khen thưởng."], short="5 đơn vị")
    assert shorten(answer, article, "Có bao nhiêu đơn vị được khen thưởng?") == answer


def test_a_long_sentence_is_cut_to_the_clauses_around_the_span(article):
    assert count(LONG) > QUOTE_SYLLABLES
    answer = _answer(article, [LONG], short="37 vụ")
    cut = shorten(answer, article, "Công an tỉnh phát hiện và xử lý bao nhiêu vụ vi phạm?")
    quote = cut.citations[0]
    assert count(quote.text) <= QUOTE_SYLLABLES
    assert "phát hiện và xử lý 37 vụ vi phạm" in quote.text
    assert quote.start <= quote.answer_start < quote.answer_end <= quote.end  # the span is still inside
    assert LONG not in cut.text and cut.short_answer == "37 vụ"
    _check_verbatim(article, cut)


def test_without_a_span_the_clauses_that_hold_the_question_are_kept(article):
    answer = _answer(article, [LONG])
    cut = shorten(answer, article, "Công an tỉnh đã tổ chức kiểm tra đột xuất ở đâu?")
    quote = cut.citations[0].text
    assert count(quote) <= QUOTE_SYLLABLES
    assert "kiểm tra đột xuất tại các huyện biên giới" in quote
    _check_verbatim(article, cut)


def test_a_clause_longer_than_the_bar_keeps_the_words_around_the_span(article):
    assert count(RUN_ON) > QUOTE_SYLLABLES and "," not in RUN_ON
    answer = _answer(article, [RUN_ON], short="ba huyện biên giới")
    quote = shorten(answer, article, "Phong trào diễn ra ở những huyện nào?").citations[0]
    assert count(quote.text) <= QUOTE_SYLLABLES and "ba huyện biên giới" in quote.text
    assert article.text[quote.start : quote.end] == quote.text


def test_several_quotes_fit_the_bar_together(article):
    answer = _answer(article, ["Ngắn gọn: có 5 đơn vị được khen thưởng.", LONG], short="12 đợt")
    cut = shorten(answer, article, "Có bao nhiêu đợt kiểm tra đột xuất?")
    assert sum(count(c.text) for c in cut.citations) <= QUOTE_SYLLABLES
    assert "12 đợt kiểm tra đột xuất" in cut.citations[1].text
    _check_verbatim(article, cut)


def test_the_reader_quotes_the_sentence_when_it_is_short_and_clauses_when_not(article):
    text = article.text
    at = text.index("5 đơn vị")
    lo, hi = quote_around(article, at, at + len("5 đơn vị"), 45)
    assert text[lo:hi] == "Ngắn gọn: có 5 đơn vị được khen thưởng."
    at = text.index("37 vụ")
    lo, hi = quote_around(article, at, at + len("37 vụ"), 45)
    assert count(text[lo:hi]) <= 45 and lo <= at and "37 vụ" in text[lo:hi]


def test_an_abstention_is_not_touched(article):
    silent = Answer("Bài viết không nêu thông tin này.", False, [], [])
    assert shorten(silent, article, "Ai là Giám đốc?") is silent

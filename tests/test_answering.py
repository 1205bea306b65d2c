"""The extractive answerer: clause choice, question types, metadata, abstention, citations."""

from __future__ import annotations

import pytest

from assistant import Assistant, QuestionError
from assistant.answer.question import analyse
from assistant.paths import bundled_article


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return Assistant.build(
        [bundled_article()], tmp_path_factory.mktemp("ans") / "idx", "offline", announce=lambda m: None
    )


def verbatim(bot: Assistant, answer) -> bool:  # type: ignore[no-untyped-def]
    return all(bot.article.text[c.start : c.end] == c.text for c in answer.citations)


@pytest.mark.parametrize(
    ("question", "figure"),
    [
        ("Trong nhiệm kỳ 2010 – 2015, Đảng bộ Công an tỉnh đã kết nạp được bao nhiêu đảng viên mới?", "261"),
        ("Nhiệm kỳ 2010 – 2015 có bao nhiêu quần chúng ưu tú được bồi dưỡng nhận thức về Đảng?", "413"),
        ("Bao nhiêu đảng viên mới được học lý luận chính trị trong nhiệm kỳ 2010 – 2015?", "319"),
        ("Nhiệm kỳ 2010 – 2015 phát bao nhiêu thẻ đảng viên?", "221"),
        ("chi bo da ket nap duoc bao nhieu dang vien moi trong 5 nam qua", "108"),
    ],
)
def test_figure_questions_quote_the_matching_clause(bot: Assistant, question: str, figure: str) -> None:
    answer = bot.ask(question)
    assert answer.answered
    assert figure in (answer.short_answer or "")
    assert figure in answer.citations[0].text
    # the clause, not the whole six-figure sentence
    assert len(answer.citations[0].text) < 150
    assert "[1]" in answer.text and verbatim(bot, answer)


def test_person_and_title(bot: Assistant) -> None:
    answer = bot.ask("Đại tá Lương Văn Khình giữ chức vụ gì?")
    assert answer.answered
    assert "Trưởng Phòng Công tác đảng" in answer.citations[0].text


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Ai là tác giả bài viết?", "NÔNG ĐÌNH QUANG"),
        ("Bai bao duoc dang ngay nao?", "02/12/2022"),
        ("Tiêu đề bài viết là gì?", "Đảng bộ Công an tỉnh chú trọng phát triển Đảng"),
    ],
)
def test_questions_about_the_article_use_its_metadata(bot: Assistant, question: str, expected: str) -> None:
    answer = bot.ask(question)
    assert answer.answered and expected in answer.text
    assert expected in answer.citations[0].text and verbatim(bot, answer)


SILENT = [
    "Dân số tỉnh Lạng Sơn là bao nhiêu?",
    "Công an tỉnh Cao Bằng kết nạp bao nhiêu đảng viên?",
    "Trong nhiệm kỳ 2015 – 2020 kết nạp được bao nhiêu đảng viên mới?",
    "Thiếu tướng Nông Văn Định sinh năm bao nhiêu?",
]


@pytest.mark.parametrize(
    ("question", "answerer"),
    [(q, None) for q in SILENT]
    # a near miss on a qualifier the article never gives: the rules abstain, the span reader
    # (tried when the rules abstain) reads "108 đảng viên mới" - a known failure (README, Answering)
    + [(q, "extractive") for q in [*SILENT, "Có bao nhiêu đảng viên nữ được kết nạp?"]],
)
def test_silent_article_abstains_with_related_passages(bot: Assistant, question: str, answerer: str | None) -> None:
    answer = bot.ask(question, answerer=answerer)
    assert not answer.answered
    assert answer.citations == []
    assert "không đề cập" in answer.text
    assert answer.passages, "related passages are offered as reading"


def test_english_question_is_answered_in_english_with_vietnamese_quote(bot: Assistant) -> None:
    answer = bot.ask("Who is the director of the Lạng Sơn provincial police?")
    assert answer.answered
    assert answer.text.startswith("According to the article")
    assert "Nông Văn Định" in answer.citations[0].text


def test_follow_up_carries_the_previous_topic(bot: Assistant) -> None:
    history = [
        (
            "Chi bộ của Đại tá Bùi Xuân Sang kết nạp được bao nhiêu đảng viên mới?",
            "108 đảng viên mới. Bài viết nêu: “chi bộ đã kết nạp được 108 đảng viên mới” [1]",
        )
    ]
    answer = bot.ask("Trong bao lâu?", history=history)
    assert answer.answered
    assert "5 năm qua" in answer.citations[0].text


def test_stream_yields_text_then_the_answer(bot: Assistant) -> None:
    items = list(bot.stream("Ai là tác giả bài viết?"))
    *pieces, final = items
    assert all(isinstance(p, str) for p in pieces) and "".join(pieces) == final.text
    assert final.timings_ms["total"] >= final.timings_ms["retrieve"] >= 0


def test_bad_questions_raise_clear_errors(bot: Assistant) -> None:
    with pytest.raises(QuestionError, match="empty"):
        bot.ask("   \u200b ")
    with pytest.raises(QuestionError, match="limit"):
        bot.ask("đảng viên " * 20_000)


def test_question_analysis_is_accent_insensitive() -> None:
    with_marks = analyse("Chi bộ đã kết nạp được bao nhiêu đảng viên mới?")
    without = analyse("Chi bo da ket nap duoc bao nhieu dang vien moi?")
    assert with_marks.kind == without.kind == "number"
    assert [u.lower() for u in without.unit] == ["dang", "vien"]
    assert analyse("Tỷ lệ tổ chức hoàn thành tốt nhiệm vụ là bao nhiêu phần trăm?").unit == ("%",)
    assert analyse("Ai là tác giả?").kind == "meta_author"


@pytest.mark.parametrize(
    ("question", "english"),
    [
        ("Who said that his Party cell had admitted 108 new members?", True),  # one question word only
        ("How many Party badges were handed out?", True),
        ("Who said the Party cell admitted 108 new members?", True),  # one English word it knows
        ("Which emulation movements are mentioned?", True),
        ("Facebook va Google co bao nhieu nguoi dung?", False),  # two foreign names, not half the words
        ("Ai nói rằng chi bộ của ông đã kết nạp 108 đảng viên mới?", False),
        ("Ai noi rang chi bo cua ong da ket nap 108 dang vien moi that?", False),  # "thật" folds to "that"
        ("Do dau ma Dang bo co the ket nap duoc nhieu dang vien?", False),
        ("Dai duong nao lon nhat the gioi theo the tich?", False),  # "the" is "thế" / "thể" folded
        ("Website cua truong la gi?", False),
    ],
)
def test_english_questions_are_told_apart(question: str, english: bool) -> None:
    assert analyse(question).english is english


def test_the_test_sets_english_questions_and_only_those_are_taken_for_english() -> None:
    import json

    from tests.conftest import TESTSET_PATH

    rows = [json.loads(line) for line in TESTSET_PATH.read_text(encoding="utf-8").splitlines()]
    wrong = [r["question"] for r in rows if analyse(r["question"]).english != (r["variant"] == "en")]
    assert sum(r["variant"] == "en" for r in rows) >= 30 and wrong == []


def test_no_question_of_the_qa_sets_is_taken_for_english() -> None:
    """3,654 Vietnamese questions written by others, as typed and with their accents stripped."""
    import unicodedata

    from assistant.evaluate.squad import bundled_sets, load_squad

    taken = []
    for name, path in bundled_sets().items():
        for ctx in load_squad(path, name):
            for q in ctx.questions:
                bare = "".join(c for c in unicodedata.normalize("NFD", q.question) if unicodedata.category(c) != "Mn")
                taken.extend(t for t in (q.question, bare.replace("đ", "d").replace("Đ", "D")) if analyse(t).english)
    assert taken == []


@pytest.mark.parametrize(
    ("question", "short"),
    [
        ("Thư viện có bao nhiêu đầu sách?", "2.000 đầu sách"),
        ("Kinh phí xây thư viện là bao nhiêu?", "450 triệu đồng"),
        ("Mỗi tuần học sinh đọc sách mấy tiết?", "2 tiết"),
    ],
)
def test_another_article_gets_the_figure_next_to_its_noun(tmp_path, question: str, short: str) -> None:  # type: ignore[no-untyped-def]
    from .conftest import SMALL_ARTICLE

    path = tmp_path / "thu-vien.txt"
    path.write_text(SMALL_ARTICLE, encoding="utf-8")
    other = Assistant.build([path], tmp_path / "idx", "offline", announce=lambda m: None)
    answer = other.ask(question)
    assert answer.answered and answer.short_answer == short
    assert other.article.text[answer.citations[0].start : answer.citations[0].end] == answer.citations[0].text


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    from .conftest import SMALL_ARTICLE

    directory = tmp_path_factory.mktemp("small")
    path = directory / "thu-vien.txt"
    path.write_text(SMALL_ARTICLE, encoding="utf-8")
    return Assistant.build([path], directory / "idx", "offline", announce=lambda m: None)


@pytest.mark.parametrize(
    ("question", "short"),
    [
        ("Con số 450 trong bài chỉ gì?", "450 triệu đồng"),
        ("2.000 la so luong cua cai gi?", "2.000 đầu sách dành cho học sinh"),
        ("What does the number 450 refer to?", "450 triệu đồng"),
    ],
)
def test_what_a_figure_stands_for(small: Assistant, question: str, short: str) -> None:
    """The question quotes a figure: the answer is the figure with the words after it."""
    answer = small.ask(question)
    assert answer.answered and answer.short_answer == short
    assert short in answer.citations[0].text and verbatim(small, answer)


def test_a_figure_the_article_does_not_have_is_not_explained(small: Assistant) -> None:
    assert not small.ask("Con số 999 trong bài chỉ gì?").answered


def test_a_unit_is_found_by_its_head_noun(small: Assistant) -> None:
    """"bao nhiêu đầu sách học sinh" finds "2.000 đầu sách dành cho học sinh": the head noun
    follows the number, the rest of the unit a few words on."""
    answer = small.ask("Thư viện có bao nhiêu đầu sách học sinh?")
    assert answer.answered and answer.short_answer == "2.000 đầu sách"


def test_who_said_cites_the_line_that_names_the_speaker(bot: Assistant) -> None:
    answer = bot.ask("Người cho biết Đảng bộ phấn đấu mỗi năm kết nạp từ 50 đảng viên mới trở lên là ai?")
    assert answer.answered and len(answer.citations) == 2
    assert "Lương Văn Khình" in answer.citations[0].text and "50 đảng viên mới" in answer.citations[1].text
    assert "[1]" in answer.text and "[2]" in answer.text and verbatim(bot, answer)


def test_a_when_question_needs_a_time_expression(small: Assistant) -> None:
    """A sentence with "sau", "khi" or "qua" in it is not a time; the article gives none here."""
    assert not small.ask("Cô Hoà được bổ nhiệm làm Hiệu trưởng từ khi nào?").answered


def test_the_copula_typed_without_accents_is_not_content() -> None:
    assert "la" not in analyse("So the dang vien phat ra la bao nhieu?").content
    assert "the" in analyse("So the dang vien phat ra la bao nhieu?").content  # "thẻ", not "thế"
    assert analyse("Ket nap duoc 261 nguoi thi da vuot chi tieu la bao nhieu?").subject == ("chi", "tieu")


@pytest.mark.parametrize(
    "question", ["Số đầu sách của thư viện là bao nhiêu?", "so dau sach cua thu vien la bao nhieu"]
)
def test_a_leading_so_is_the_number_asked_for_not_a_word_to_find(small: Assistant, question: str) -> None:
    """"Số X là bao nhiêu" asks for the number of X: "số" itself need not be in the article."""
    assert "số" not in analyse(question).content and "so" not in analyse(question).content
    answer = small.ask(question)
    assert answer.answered and answer.short_answer == "2.000 đầu sách"


@pytest.mark.parametrize(
    ("question", "short"),
    [
        ("Tổng kinh phí xây dựng thư viện là bao nhiêu?", "450 triệu đồng"),  # not "3 tháng", first in the clause
        ("Cây cầu rộng bao nhiêu mét?", "20 mét"),  # not the length, the first figure in mét
        ("Cây cầu dài bao nhiêu mét?", "450 mét"),
    ],
)
def test_the_word_before_a_figure_says_what_it_measures(tmp_path_factory: pytest.TempPathFactory, question: str,
                                                         short: str) -> None:
    from .conftest import SMALL_ARTICLE

    directory = tmp_path_factory.mktemp("bridge")
    path = directory / "cau.txt"
    path.write_text(SMALL_ARTICLE + "\nCây cầu mới dài 450 mét, rộng 20 mét, được khởi công năm 2021.\n", "utf-8")
    bot = Assistant.build([path], directory / "idx", "offline", announce=lambda m: None)
    assert bot.ask(question, answerer="extractive").short_answer == short

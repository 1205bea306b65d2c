"""bench/reader_signal.py: training rows made from the QA sets' training contexts."""

from __future__ import annotations

from assistant.evaluate.squad import SquadContext, SquadQuestion
from bench.reader_signal import extra_rows, negatives, templates


def context(name: str, text: str, *qa: tuple[str, str], split: str = "train") -> SquadContext:
    questions = tuple(SquadQuestion(f"{name}-{i}", q, (a,), (text.find(a),), True) for i, (q, a) in enumerate(qa))
    return SquadContext("uit_train_wiki", name, text, questions, split)


def test_a_negative_is_the_best_other_context_without_the_answer() -> None:
    dalat = context("dalat", "Thành phố Đà Lạt nằm trên cao nguyên Lâm Viên, ở độ cao 1.500 mét.",
                    ("Đà Lạt nằm ở độ cao bao nhiêu?", "1.500 mét"))
    hue = context("hue", "Thành phố Huế nằm bên sông Hương, từng là kinh đô của triều Nguyễn.")
    sapa = context("sapa", "Sa Pa nằm ở độ cao 1.500 mét, trên dãy Hoàng Liên Sơn.")  # holds the same answer
    rows = negatives([dalat, hue, sapa])
    assert len(rows) == 1
    row = rows[0]
    assert row["question"] == "Đà Lạt nằm ở độ cao bao nhiêu?"
    assert row["context"] == hue.context  # Sa Pa ranks first but states "1.500 mét": not a negative
    assert row["start"] == -1 and row["answer"] == ""


def test_templates_ask_for_the_figure_year_and_date_and_point_at_them() -> None:
    text = ("Năm học 2020, trường tuyển được 1.200 sinh viên mới cho các ngành kỹ thuật. "
            "Trường được thành lập vào năm 1998 tại thành phố Hồ Chí Minh theo quyết định của Bộ. "
            "Lễ khai giảng được tổ chức vào ngày 5/9/2020 tại hội trường lớn của trường.")
    rows = templates([context("school", text)], per_context=5)
    asked = {r["question"]: r["answer"] for r in rows}
    assert asked == {
        "Trường tuyển được bao nhiêu sinh viên mới cho các ngành kỹ thuật?": "1.200",
        "Trường được thành lập vào năm nào tại thành phố Hồ Chí Minh theo quyết định của Bộ?": "1998",
        "Lễ khai giảng được tổ chức vào ngày nào tại hội trường lớn của trường?": "5/9/2020",
    }
    for r in rows:  # every answer is where its start says, so the span labels are right
        assert r["context"][r["start"] : r["start"] + len(r["answer"])] == r["answer"]


def test_templates_skip_short_clauses_dates_written_out_and_decimals() -> None:
    text = ("Có 3 người. Ông sinh ngày 27 tháng 6 năm 1951 tại một làng nhỏ ở tỉnh Nghệ An. "
            "Điểm trung bình tích lũy của sinh viên phải đạt từ 6,5 điểm trở lên mới được xét.")
    asked = {r["question"]: r["answer"] for r in templates([context("x", text)], per_context=9)}
    assert "Có bao nhiêu người?" not in asked  # a clause of 3 words
    assert not any(a in {"27", "6", "6,5 điểm"} for a in asked.values())  # day and month are not quantities
    assert asked.get("Ông sinh ngày 27 tháng 6 năm nào tại một làng nhỏ ở tỉnh Nghệ An?") == "1951"
    assert asked.get("Điểm trung bình tích lũy của sinh viên phải đạt từ bao nhiêu điểm trở lên mới được xét?") \
        == "6,5"


def test_templates_are_capped_per_set_and_seeded() -> None:
    contexts = [context(f"c{i}", f"Trong năm qua, xã thứ {i} đã trồng được {100 + i} cây xanh dọc các tuyến đường.")
                for i in range(40)]
    one, two = templates(contexts, per_set=10, seed=1), templates(contexts, per_set=10, seed=1)
    assert len(one) == 10 and one == two


def test_an_unknown_kind_is_refused() -> None:
    try:
        extra_rows(["paraphrases"], [])
    except SystemExit as exc:
        assert "negatives, templates" in str(exc)
    else:
        raise AssertionError("an unknown --signal kind was accepted")

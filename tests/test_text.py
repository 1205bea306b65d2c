"""assistant.ingest.text: normalisation, accent folding, tone placement, sentences, BM25 tokens."""

from __future__ import annotations

import unicodedata

import pytest

from assistant.ingest.text import (
    canonical_tones,
    clean,
    fold,
    has_diacritics,
    lexical_tokens,
    query_tokens,
    split_sentences,
    syllables,
)


def sentences(text: str) -> list[str]:
    return [s for _, _, s in split_sentences(text)]


# --- clean --------------------------------------------------------------------------------


def test_clean_composes_nfd_input_to_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Đảng viên mới")
    assert nfd != "Đảng viên mới"  # the test input really is decomposed
    out = clean(nfd)
    assert out == "Đảng viên mới"
    assert unicodedata.is_normalized("NFC", out)


def test_clean_turns_nbsp_and_odd_spaces_into_single_spaces() -> None:
    assert clean("Công\u00a0an\u202ftỉnh\u2009Lạng\u3000Sơn\t\tnăm 2022") == "Công an tỉnh Lạng Sơn năm 2022"
    assert clean("  a  \u00a0  b  ") == "a b"


def test_clean_removes_zero_width_and_bom_characters() -> None:
    assert clean("\ufeffĐảng\u200b viên\u200c mới\u200d\u2060\u00ad") == "Đảng viên mới"


def test_clean_replaces_control_characters_and_newlines() -> None:
    assert clean("một\x07hai\x1bba\nbốn\r\nnăm\x85sáu\x00") == "một hai ba bốn năm sáu"


def test_clean_drops_lone_surrogates() -> None:
    broken = b"Trung \xff t\xe2m".decode("utf-8", "surrogateescape")
    assert any("\ud800" <= ch <= "\udfff" for ch in broken)
    out = clean(broken)
    assert not any("\ud800" <= ch <= "\udfff" for ch in out)
    out.encode("utf-8")  # encodable: no surrogate left
    assert out == "Trung tm"


# --- fold / tones / diacritics ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Đảng viên mới", "dang vien moi"),
        ("ĐẢNG BỘ", "dang bo"),
        ("Nguyễn Thị Ảnh", "nguyen thi anh"),
        ("lớp cảm tình Đảng", "lop cam tinh dang"),
        ("Thứ sáu, 02/12/2022", "thu sau, 02/12/2022"),
        ("đường ưu tú", "duong uu tu"),
    ],
)
def test_fold_removes_tones_vowel_marks_and_d_stroke(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_handles_decomposed_input() -> None:
    assert fold(unicodedata.normalize("NFD", "Đảng viên mới")) == "dang vien moi"


@pytest.mark.parametrize(
    ("old", "new"),
    [("hoà", "hòa"), ("thuý", "thúy"), ("khoẻ", "khỏe"), ("Hoà bình", "Hòa bình"), ("HOÀ", "HÒA"), ("thuỳ", "thùy")],
)
def test_canonical_tones_moves_old_style_tone_to_first_vowel(old: str, new: str) -> None:
    assert canonical_tones(old) == new
    assert canonical_tones(unicodedata.normalize("NFD", old)) == new


@pytest.mark.parametrize("word", ["quý", "Quý", "hoàn", "tuyết", "Hoàng", "khuỷu", "hòa", "Nguyễn", "hoạch"])
def test_canonical_tones_leaves_qu_closed_syllables_and_modern_spelling_alone(word: str) -> None:
    assert canonical_tones(word) == word


@pytest.mark.parametrize("word", ["hoặc", "ngoặc", "ngoặt", "Hoặc"])
def test_canonical_tones_keeps_tone_on_a_breve(word: str) -> None:
    # regression: in NFD the dot below (ccc 220) sorts before the breve, and the rule once
    # read "oa" + tone + non-letter and rewrote "hoặc" as "họăc"
    assert canonical_tones(word) == word
    assert syllables(f"A {word} B") == ["a", word.lower(), "b"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Đảng viên", True), ("đang", True), ("Đ", True), ("café", True), ("dang vien moi", False),
     ("Dang Vien MOI 2022?", False), ("", False)],
)
def test_has_diacritics(text: str, expected: bool) -> None:
    assert has_diacritics(text) is expected


# --- sentences ----------------------------------------------------------------------------


def test_split_does_not_cut_dates_ranges_or_numbers() -> None:
    text = (
        "Ngày 02/12/2022 ông A đến dự. Trong nhiệm kỳ 2010 – 2015 có 1.000 người và 3.5 tấn hàng. "
        "Tỷ lệ đạt 95,5%. Năm 2015. Trong năm."
    )
    assert sentences(text) == [
        "Ngày 02/12/2022 ông A đến dự.",
        "Trong nhiệm kỳ 2010 – 2015 có 1.000 người và 3.5 tấn hàng.",
        "Tỷ lệ đạt 95,5%.",
        "Năm 2015.",
        "Trong năm.",
    ]


def test_split_keeps_periods_inside_quotations() -> None:
    text = "Ông nói “Tôi đi. Anh ở lại.” Sau đó ông về. Câu cuối."
    assert sentences(text) == ["Ông nói “Tôi đi. Anh ở lại.”", "Sau đó ông về.", "Câu cuối."]


def test_split_cuts_after_a_closing_quote_that_ends_the_sentence() -> None:
    assert sentences("Anh nói: “Tôi đi.” Sau đó anh về. Hết!") == ["Anh nói: “Tôi đi.”", "Sau đó anh về.", "Hết!"]
    assert sentences("Chị hỏi: “Ai đến?” Không ai trả lời.") == ["Chị hỏi: “Ai đến?”", "Không ai trả lời."]
    # a quote followed by a lowercase word continues the sentence
    assert sentences("Anh nói “Tôi đi.” rồi về. Xong.") == ["Anh nói “Tôi đi.” rồi về.", "Xong."]


def test_split_does_not_cut_after_abbreviations_or_initials() -> None:
    text = (
        "GS.TS. Nguyễn Văn An phát biểu. ThS. Lê Bình cũng dự. TP. Lạng Sơn đón khách. "
        "Ông Nguyễn V. Anh đến. PGS.TS. Trần C và Tp. Hà Nội. Xong."
    )
    assert sentences(text) == [
        "GS.TS. Nguyễn Văn An phát biểu.",
        "ThS. Lê Bình cũng dự.",
        "TP. Lạng Sơn đón khách.",
        "Ông Nguyễn V. Anh đến.",
        "PGS.TS. Trần C và Tp. Hà Nội.",
        "Xong.",
    ]


def test_split_cuts_at_normal_boundaries_and_other_enders() -> None:
    assert sentences("Câu một. Câu hai? Câu ba! Câu bốn… Câu năm.") == [
        "Câu một.", "Câu hai?", "Câu ba!", "Câu bốn…", "Câu năm."
    ]
    # digits and opening quotes start sentences too; lowercase does not
    assert sentences("Xong. 100% đạt. “Tốt” là lời khen.") == ["Xong.", "100% đạt.", "“Tốt” là lời khen."]
    assert sentences("Câu một. câu hai viết thường.") == ["Câu một. câu hai viết thường."]


def test_split_without_final_punctuation_keeps_the_tail() -> None:
    assert sentences("Câu một. Đoạn cuối không có dấu chấm") == ["Câu một.", "Đoạn cuối không có dấu chấm"]
    assert sentences("") == []
    assert sentences("   ") == []


@pytest.mark.parametrize(
    "text",
    [
        "  Câu một.  Câu hai. ",
        "Ngày 02/12/2022 TP. Lạng Sơn họp. Ông A nói “Tôi đi. Anh ở.” Sau đó về… Hết",
        "Trong nhiệm kỳ 2010 – 2015, kết nạp 261 đảng viên mới (vượt chỉ tiêu 161 đồng chí). Hằng năm, 100% đạt.",
    ],
)
def test_split_offsets_are_verbatim(text: str) -> None:
    for offset in (0, 17):
        spans = split_sentences(text, offset=offset)
        assert spans
        for start, end, sentence in spans:
            assert text[start - offset : end - offset] == sentence
            assert sentence == sentence.strip()
        starts = [s for s, _, _ in spans]
        assert starts == sorted(starts)


def test_split_sentences_of_the_bundled_article_are_verbatim(article) -> None:  # type: ignore[no-untyped-def]
    for par in article.paragraphs:
        for start, end, sentence in split_sentences(par.text, offset=par.start):
            assert article.text[start:end] == sentence


# --- tokens -------------------------------------------------------------------------------


def test_syllables_are_lowercase_nfc_with_canonical_tones() -> None:
    assert syllables(unicodedata.normalize("NFD", "Cô Nguyễn Thị Hoà, 2022!")) == ["cô", "nguyễn", "thị", "hòa", "2022"]


def test_lexical_tokens_have_syllables_bigrams_and_folded_forms() -> None:
    tokens = lexical_tokens("Đảng viên mới")
    assert tokens == [
        "đảng", "viên", "mới", "đảng_viên", "viên_mới",
        "~dang", "~vien", "~moi", "~dang_vien", "~vien_moi",
    ]


def test_lexical_tokens_folded_only() -> None:
    assert lexical_tokens("Đảng viên", folded_only=True) == ["~dang", "~vien", "~dang_vien"]


def test_lexical_tokens_treat_old_and_new_tone_placement_alike() -> None:
    assert lexical_tokens("Nguyễn Thị Hoà") == lexical_tokens("Nguyễn Thị Hòa")


def test_query_tokens_use_folded_forms_only_for_questions_without_diacritics() -> None:
    plain = query_tokens("lop cam tinh dang")
    assert plain == ["~lop", "~cam", "~tinh", "~dang", "~lop_cam", "~cam_tinh", "~tinh_dang"]
    assert all(t.startswith("~") for t in plain)
    accented = query_tokens("lớp cảm tình Đảng")
    assert "lớp" in accented and "cảm_tình" in accented and "~cam_tinh" in accented
    # the folded part of an accented question is what a plain question searches for
    assert [t for t in accented if t.startswith("~")] == plain


def _fold_reference(text: str) -> str:
    """fold's definition, written out the slow way."""
    text = text.lower().replace("đ", "d")
    stripped = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def test_fold_is_its_definition_on_any_text() -> None:
    """The translate-table fold equals NFC(marks dropped from NFD(lowercase)) on every kind of
    character: Vietnamese precomposed or decomposed, other scripts with marks, Hangul."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    alphabet = st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x24F),
        st.characters(min_codepoint=0x1E00, max_codepoint=0x1EFF),
        st.characters(min_codepoint=0x300, max_codepoint=0x36F),
        st.characters(min_codepoint=0x1100, max_codepoint=0x11FF),
        st.characters(min_codepoint=0xAC00, max_codepoint=0xAC40), st.characters(blacklist_categories=("Cs",)),
    )

    @settings(max_examples=400, deadline=None)
    @given(st.text(alphabet=alphabet, max_size=30))
    def check(text: str) -> None:
        assert fold(text) == _fold_reference(text)

    check()
    assert fold("ĐẢNG VIÊN Mới, hoà") == "dang vien moi, hoa"

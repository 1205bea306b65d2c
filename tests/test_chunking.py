"""assistant.ingest.chunking: paragraph-bounded, sentence-aligned, verbatim, within budget."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest

from assistant.ingest.article import Article
from assistant.ingest.chunking import SECTION_LABELS, Chunk, ChunkingConfig, approx_tokens, chunk_article, search_text

BUDGETS = (20, 40, 160)


def _is_single_word(text: str) -> bool:
    return len(text.split()) == 1


@pytest.mark.parametrize("max_tokens", BUDGETS)
@pytest.mark.parametrize("overlap", [0, 1])
def test_chunks_are_verbatim_and_stay_inside_one_paragraph(article: Article, max_tokens: int, overlap: int) -> None:
    chunks = chunk_article(article, ChunkingConfig(max_tokens=max_tokens, overlap=overlap))
    assert chunks
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
        par = article.paragraphs[chunk.paragraph]
        assert par.start <= chunk.start < chunk.end <= par.end
        assert "\n" not in chunk.text
        assert chunk.section == par.kind
        assert chunk.text == chunk.text.strip()
    assert [c.chunk_id for c in chunks] == [f"c{i:03d}" for i in range(len(chunks))]


@pytest.mark.parametrize("max_tokens", BUDGETS)
def test_chunks_never_exceed_the_budget(article: Article, max_tokens: int) -> None:
    chunks = chunk_article(article, ChunkingConfig(max_tokens=max_tokens))
    for chunk in chunks:
        assert approx_tokens(chunk.text) <= max_tokens or _is_single_word(chunk.text), chunk


@pytest.mark.parametrize("max_tokens", BUDGETS)
def test_chunks_use_the_counter_they_are_given(article: Article, max_tokens: int) -> None:
    calls: list[str] = []

    def by_characters(text: str) -> int:  # a stricter counter than approx_tokens
        calls.append(text)
        return len(text) // 3

    chunks = chunk_article(article, ChunkingConfig(max_tokens=max_tokens), by_characters)
    assert calls
    for chunk in chunks:
        assert by_characters(chunk.text) <= max_tokens or _is_single_word(chunk.text), chunk
    assert len(chunks) > len(chunk_article(article, ChunkingConfig(max_tokens=max_tokens)))


@pytest.mark.parametrize("max_tokens", BUDGETS)
@pytest.mark.parametrize("overlap", [0, 1])
def test_chunks_cover_every_sentence(article: Article, max_tokens: int, overlap: int) -> None:
    chunks = chunk_article(article, ChunkingConfig(max_tokens=max_tokens, overlap=overlap))
    assert {sid for c in chunks for sid in c.sentence_ids} == {s.id for s in article.sentences}
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    for sentence in article.sentences:
        missing = [i for i in range(sentence.start, sentence.end) if i not in covered and not article.text[i].isspace()]
        assert not missing, (sentence.id, article.text[missing[0] : missing[0] + 20])
    for chunk in chunks:
        for sid in chunk.sentence_ids:
            sentence = next(s for s in article.sentences if s.id == sid)
            # the chunk overlaps each sentence it lists
            assert sentence.start < chunk.end and chunk.start < sentence.end


def test_chunks_are_whole_sentences_when_sentences_fit(article: Article) -> None:
    chunks = chunk_article(article, ChunkingConfig(max_tokens=160))
    starts = {s.start for s in article.sentences}
    ends = {s.end for s in article.sentences}
    for chunk in chunks:
        assert chunk.start in starts and chunk.end in ends


def test_a_single_overlong_word_stays_whole() -> None:
    long_word = "https://baolangson.vn/" + "x" * 90
    art = Article.from_text(f"Tiêu đề\n\nĐọc bài tại {long_word} để biết thêm chi tiết về sự kiện này. Câu hai.")

    def chars(text: str) -> int:
        return len(text)

    chunks = chunk_article(art, ChunkingConfig(max_tokens=20), chars)
    assert any(c.text == long_word for c in chunks)
    for chunk in chunks:
        assert art.text[chunk.start : chunk.end] == chunk.text
        assert chars(chunk.text) <= 20 or chunk.text == long_word


def test_long_sentence_is_cut_at_clause_boundaries_first() -> None:
    sentence = (
        "Đảng bộ đã tổ chức 5 lớp bồi dưỡng nhận thức về Đảng cho 413 quần chúng ưu tú; "
        "5 lớp bồi dưỡng lý luận chính trị cho 319 đảng viên mới; kết nạp được 261 đảng viên mới."
    )
    art = Article.from_text(f"Tiêu đề\n\n{sentence}")
    config = ChunkingConfig(max_tokens=20, section_labels=False)
    chunks = [c for c in chunk_article(art, config) if c.section != "title"]
    assert [c.text for c in chunks] == [
        "Đảng bộ đã tổ chức 5 lớp bồi dưỡng nhận thức về Đảng cho 413 quần chúng ưu tú;",
        "5 lớp bồi dưỡng lý luận chính trị cho 319 đảng viên mới;",
        "kết nạp được 261 đảng viên mới.",
    ]


def test_overlap_one_shares_a_sentence_between_consecutive_chunks(article: Article) -> None:
    config = ChunkingConfig(max_tokens=160, overlap=1)
    chunks = chunk_article(article, config)
    sentences = {s.id: s for s in article.sentences}
    shared = 0
    for prev, nxt in pairwise(chunks):
        if prev.paragraph != nxt.paragraph:
            continue
        common = set(prev.sentence_ids) & set(nxt.sentence_ids)
        if common:
            shared += 1
            assert nxt.start < prev.end  # the shared sentence is really in both texts
            assert nxt.sentence_ids[0] == prev.sentence_ids[-1]
        else:
            # only allowed when the last sentence and the next one do not fit together
            last, first_new = sentences[prev.sentence_ids[-1]], sentences[nxt.sentence_ids[0]]
            assert approx_tokens(article.text[last.start : first_new.end]) > config.max_tokens
    assert shared >= 3
    without = chunk_article(article, ChunkingConfig(max_tokens=160, overlap=0))
    assert len(chunks) > len(without)
    for prev, nxt in pairwise(without):
        assert not set(prev.sentence_ids) & set(nxt.sentence_ids)
        assert nxt.start >= prev.end


@pytest.mark.parametrize("max_tokens", [20, 40])
def test_overlap_never_produces_a_chunk_contained_in_the_previous_one(article: Article, max_tokens: int) -> None:
    chunks = chunk_article(article, ChunkingConfig(max_tokens=max_tokens, overlap=1))
    contained = [
        (prev.chunk_id, nxt.chunk_id)
        for prev, nxt in pairwise(chunks)
        if prev.start <= nxt.start and nxt.end <= prev.end
    ]
    assert contained == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_tokens": 15}, "15"),
        ({"max_tokens": 0}, "0"),
        ({"max_tokens": -40}, "-40"),
        ({"overlap": -1}, "-1"),
    ],
)
def test_chunking_config_rejects_bad_values(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError) as err:
        ChunkingConfig(**kwargs)
    assert re.search(rf"(?<![\d-]){re.escape(message)}(?!\d)", str(err.value)), str(err.value)
    assert next(iter(kwargs)) in str(err.value)


def test_chunking_config_accepts_the_smallest_budget(article: Article) -> None:
    chunks = chunk_article(article, ChunkingConfig(max_tokens=16))
    assert all(approx_tokens(c.text) <= 16 or _is_single_word(c.text) for c in chunks)


@pytest.mark.parametrize("max_tokens", BUDGETS)
def test_labelled_search_text_fits_the_budget(article: Article, max_tokens: int) -> None:
    """search_text() (label + chunk) is what is embedded, so it is what must fit."""
    config = ChunkingConfig(max_tokens=max_tokens)
    chunks = chunk_article(article, config)
    for chunk in chunks:
        assert approx_tokens(search_text(chunk, config)) <= max_tokens or _is_single_word(chunk.text), chunk
    # without labels, the same budget leaves room for longer chunks
    plain = chunk_article(article, ChunkingConfig(max_tokens=max_tokens, section_labels=False))
    lead = [c for c in chunks if c.section == "lead"]
    assert len([c for c in plain if c.section == "lead"]) <= len(lead)


def test_search_text_adds_section_labels_but_chunk_text_stays_verbatim(article: Article) -> None:
    chunks = chunk_article(article, ChunkingConfig())
    by_section = {c.section: c for c in chunks}
    for section in ("title", "date", "byline"):
        chunk = by_section[section]
        text = search_text(chunk, ChunkingConfig())
        assert text == f"{SECTION_LABELS[section]} {chunk.text}"
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert SECTION_LABELS[section] not in article.text
    assert "(author)" in search_text(by_section["byline"])
    assert "(title)" in search_text(by_section["title"])
    assert "(date published)" in search_text(by_section["date"])
    body = by_section["body"]
    assert search_text(body) == body.text
    no_labels = ChunkingConfig(section_labels=False)
    assert search_text(by_section["title"], no_labels) == by_section["title"].text


def test_chunk_record_round_trip(article: Article) -> None:
    for chunk in chunk_article(article, ChunkingConfig(max_tokens=40, overlap=1)):
        assert Chunk.from_record(chunk.to_record()) == chunk


def test_approx_tokens_counts_words_and_punctuation() -> None:
    assert approx_tokens("Đảng viên mới, 2010 – 2015.") == 8  # 5 words, 3 marks
    assert approx_tokens("") == 0


def test_parts_are_slices_of_the_one_article_text(article: Article) -> None:
    """Paragraphs, sentences and chunks hold the article text itself, not copies of it: a
    million-passage corpus would otherwise keep its text three times more."""
    chunks = chunk_article(article)
    assert all(p.doc is article.text for p in article.paragraphs)
    assert all(s.doc is article.text for s in article.sentences)
    assert all(c.doc is article.text and c.text == article.text[c.start : c.end] for c in chunks)
    alone = Chunk.from_record(chunks[3].to_record())  # without the article: just its own text
    assert alone == chunks[3] and alone.doc == chunks[3].text and hash(alone) == hash(chunks[3])
    with pytest.raises(ValueError, match="does not match the article text"):
        Chunk.from_record({**chunks[3].to_record(), "text": "khác"}, doc=article.text)

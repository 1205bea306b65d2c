"""assistant.search.retrieval and Assistant.retrieve(): RRF, modes, accent-free questions, LangChain."""

from __future__ import annotations

from fractions import Fraction

import pytest

from assistant import Assistant, FusionConfig, QuestionError
from assistant.ingest.text import fold
from assistant.search.retrieval import MODES, rrf

# --- rrf ----------------------------------------------------------------------------------


def test_rrf_hand_computed_equal_weights() -> None:
    fused = rrf([[1, 2, 3], [3, 1]], [1.0, 1.0], k=60)
    assert [item for item, _ in fused] == [1, 3, 2]
    scores = dict(fused)
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert scores[2] == pytest.approx(1 / 62)


def test_rrf_weights_change_the_order() -> None:
    # item 1: 1/61 + 2/62 = 0.048652; item 3: 1/63 + 2/61 = 0.048660
    fused = rrf([[1, 2, 3], [3, 1]], [1.0, 2.0], k=60)
    assert [item for item, _ in fused] == [3, 1, 2]
    assert dict(fused)[3] == pytest.approx(1 / 63 + 2 / 61)
    # a zero weight ignores a ranking
    assert [i for i, _ in rrf([[1, 2], [2, 1]], [0.0, 1.0], k=60)] == [2, 1]


def test_rrf_small_k_rewards_top_ranks_more() -> None:
    fused = dict(rrf([[7, 8]], [1.0], k=1))
    assert fused[7] == pytest.approx(1 / 2) and fused[8] == pytest.approx(1 / 3)


def test_rrf_ties_follow_the_first_ranking() -> None:
    assert [i for i, _ in rrf([[1, 2], [2, 1]], [1.0, 1.0])] == [1, 2]
    assert [i for i, _ in rrf([[2, 1], [1, 2]], [1.0, 1.0])] == [2, 1]
    # items seen only in later rankings keep the order they were first seen in
    assert [i for i, _ in rrf([[5], [9], [7]], [1.0, 1.0, 1.0])] == [5, 9, 7]
    assert [i for i, _ in rrf([[], [4, 3]], [1.0, 1.0])] == [4, 3]
    assert rrf([[], []], [1.0, 1.0]) == []


def test_rrf_is_stable_across_calls() -> None:
    rankings = [[3, 1, 4, 5, 9, 2, 6], [2, 7, 1, 8, 3, 6]]
    first = rrf(rankings, [0.5, 1.0])
    for _ in range(5):
        assert rrf(rankings, [0.5, 1.0]) == first


def test_rrf_exact_ties_of_three_rankings_follow_the_first_ranking() -> None:
    # items 1, 2 and 3 each have ranks {2, 3, 4}: equal RRF scores
    rankings = [[0, 1, 2, 3], [0, 2, 3, 1], [0, 3, 1, 2]]
    exact = {i: sum(Fraction(1, 1 + r.index(i) + 1) for r in rankings) for i in range(4)}
    assert exact[1] == exact[2] == exact[3]
    assert [i for i, _ in rrf(rankings, [1.0, 1.0, 1.0], k=1)] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"rrf_k": 0}, "rrf_k must be >= 1, got 0"), ({"dense_weight": -0.1}, "weights"),
     ({"lexical_weight": -1.0}, "weights")],
)
def test_fusion_config_validation(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FusionConfig(**kwargs)


def test_fusion_weights_are_used(bot: Assistant) -> None:
    from assistant.search.retrieval import HybridSearcher

    lexical_only = HybridSearcher(bot.stored.chunks, bot.stored.chunk_articles, bot.stored.vectors, bot.embedder,
                                  FusionConfig(dense_weight=0.0, lexical_weight=1.0))
    dense_only = HybridSearcher(bot.stored.chunks, bot.stored.chunk_articles, bot.stored.vectors, bot.embedder,
                                FusionConfig(dense_weight=1.0, lexical_weight=0.0))
    q = "lớp cảm tình Đảng"
    assert [p.chunk_id for p in lexical_only.search(q, 3)] == [p.chunk_id for p in bot.retrieve(q, 3, "lexical")]
    assert [p.chunk_id for p in dense_only.search(q, 3)] == [p.chunk_id for p in bot.retrieve(q, 3, "dense")]


# --- modes --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("k", [1, 3, 5])
def test_each_mode_returns_k_ranked_verbatim_passages(bot: Assistant, mode: str, k: int) -> None:
    passages = bot.retrieve("Đảng bộ Công an tỉnh kết nạp bao nhiêu đảng viên mới?", k=k, mode=mode)
    assert len(passages) == k
    assert [p.rank for p in passages] == list(range(1, k + 1))
    assert len({p.chunk_id for p in passages}) == k
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)
    for p in passages:
        assert bot.article.text[p.start : p.end] == p.text
        chunk = next(c for c in bot.stored.chunks if c.chunk_id == p.chunk_id)
        assert (chunk.start, chunk.end, chunk.paragraph, chunk.section) == (p.start, p.end, p.paragraph, p.section)


def test_mode_scores_are_the_raw_signals(bot: Assistant) -> None:
    q = "lớp cảm tình Đảng"
    dense = bot.retrieve(q, k=3, mode="dense")
    lexical = bot.retrieve(q, k=3, mode="lexical")
    assert all(p.score == p.dense_score for p in dense)
    assert all(p.score == p.lexical_score > 0 for p in lexical)
    hybrid = bot.retrieve(q, k=3, mode="hybrid")
    assert all(0 < p.score < 1 for p in hybrid)


def test_k_larger_than_the_index_returns_every_chunk(bot: Assistant) -> None:
    passages = bot.retrieve("Đảng", k=1000)
    assert len(passages) == len(bot.stored.chunks)
    assert sorted(p.chunk_id for p in passages) == sorted(c.chunk_id for c in bot.stored.chunks)


def test_lexical_mode_returns_nothing_for_unknown_words(bot: Assistant) -> None:
    assert bot.retrieve("xyzzy qwertz", k=3, mode="lexical") == []
    assert len(bot.retrieve("xyzzy qwertz", k=3, mode="hybrid")) == 3  # dense still ranks


@pytest.mark.parametrize(("kwargs", "message"), [({"mode": "sparse"}, "mode"), ({"k": 0}, "k must be"),
                                                 ({"k": -2}, "k must be")])
def test_invalid_mode_or_k(bot: Assistant, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bot.retrieve("Đảng viên mới", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "???", "…", "a" * 100_000, "Đảng " * 500])
def test_unusable_questions_raise_question_error(bot: Assistant, question: str) -> None:
    with pytest.raises(QuestionError):
        bot.retrieve(question)


@pytest.mark.parametrize("question", [None, 42, b"bytes"])
def test_non_text_questions_raise_question_error(bot: Assistant, question: object) -> None:
    with pytest.raises(QuestionError, match="text"):
        bot.retrieve(question)  # type: ignore[arg-type]


def test_question_error_messages() -> None:
    from assistant import check_question

    with pytest.raises(QuestionError, match="empty"):
        check_question("   ")
    with pytest.raises(QuestionError, match="100,000 characters"):
        check_question("a" * 100_000)
    assert check_question("  Đảng\u00a0viên  mới? ") == "Đảng viên mới?"


# --- Vietnamese with and without accents ------------------------------------------------------


def test_question_without_accents_finds_accented_text(bot: Assistant) -> None:
    passages = bot.retrieve("dang vien moi", k=3, mode="lexical")
    assert len(passages) == 3
    for p in passages:
        assert "đảng viên mới" in p.text.lower()
    # the accent-free and the accented question rank the same passages first
    accented = bot.retrieve("đảng viên mới", k=3, mode="lexical")
    assert {p.chunk_id for p in passages} == {p.chunk_id for p in accented}


def test_accent_free_phrase_outranks_scattered_syllables(bot: Assistant) -> None:
    # the only chunk with the whole phrase wins lexical search
    containing = [c for c in bot.stored.chunks if "lop cam tinh dang" in fold(c.text)]
    assert len(containing) == 1
    assert bot.retrieve("lop cam tinh dang", k=1, mode="lexical")[0].chunk_id == containing[0].chunk_id


def test_lop_cam_tinh_dang_hybrid(bot: Assistant) -> None:
    top = bot.retrieve("lop cam tinh dang")[0]
    assert "lớp cảm tình Đảng" in top.text
    assert bot.article.text[top.start : top.end] == top.text


def test_old_style_tone_marks_match(tmp_path, small_article_path) -> None:  # type: ignore[no-untyped-def]
    """The article writes "Hoà"; a question with "Hòa" still finds it (and vice versa)."""
    bot = Assistant.build([small_article_path], tmp_path / "idx", model="offline")
    assert "Hoà" in bot.article.text and "Hòa" not in bot.article.text
    top = bot.retrieve("Nguyễn Thị Hòa", k=1, mode="lexical")[0]
    assert "Nguyễn Thị Hoà" in top.text


def test_metadata_questions_find_the_labelled_sections(bot: Assistant) -> None:
    assert bot.retrieve("Ai là tác giả bài viết?", k=1)[0].section == "byline"
    assert bot.retrieve("Bài báo được đăng ngày nào?", k=1)[0].section == "date"


# --- LangChain ----------------------------------------------------------------------------


def test_as_retriever_in_an_lcel_chain(bot: Assistant) -> None:
    from langchain_core.runnables import RunnableLambda

    retriever = bot.as_retriever(k=3)
    chain = retriever | RunnableLambda(lambda docs: [d.metadata["chunk_id"] for d in docs])
    q = "lop cam tinh dang"
    assert chain.invoke(q) == [p.chunk_id for p in bot.retrieve(q, k=3)]


def test_retriever_documents_carry_offsets(bot: Assistant) -> None:
    docs = bot.as_retriever(k=4, mode="lexical").invoke("dang vien moi")
    assert len(docs) == 4
    for rank, doc in enumerate(docs, start=1):
        meta = doc.metadata
        assert {"chunk_id", "start", "end", "rank", "score", "paragraph", "section"} <= set(meta)
        assert "text" not in meta
        assert meta["rank"] == rank
        assert doc.id == meta["chunk_id"]
        assert bot.article.text[meta["start"] : meta["end"]] == doc.page_content


def test_retriever_batch_and_errors(bot: Assistant) -> None:
    retriever = bot.as_retriever(k=2)
    results = retriever.batch(["lop cam tinh dang", "Giám đốc Công an tỉnh"])
    assert [len(r) for r in results] == [2, 2]
    with pytest.raises(QuestionError):
        retriever.invoke("   ")


def test_retriever_works_asynchronously(bot: Assistant) -> None:
    import asyncio

    docs = asyncio.run(bot.as_retriever(k=2).ainvoke("lop cam tinh dang"))
    assert [d.metadata["chunk_id"] for d in docs] == [p.chunk_id for p in bot.retrieve("lop cam tinh dang", k=2)]


def test_concurrent_retrieval_gives_the_same_results(bot: Assistant) -> None:
    """The web app serves several users from one Assistant."""
    from concurrent.futures import ThreadPoolExecutor

    questions = ["lop cam tinh dang", "Giám đốc Công an tỉnh", "đảng viên mới", "Ai là tác giả bài viết?"] * 10
    modes = ["hybrid", "dense", "lexical", "hybrid"] * 10
    expected = [[p.chunk_id for p in bot.retrieve(q, k=4, mode=m)] for q, m in zip(questions, modes, strict=True)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda qm: [p.chunk_id for p in bot.retrieve(qm[0], k=4, mode=qm[1])],
                            zip(questions, modes, strict=True)))
    assert got == expected

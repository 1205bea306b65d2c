"""Retrieval quality on the shipped test set with the offline embedder (no model download).

Target: hybrid Hit@3 >= 0.95 over the answerable Vietnamese questions (typed with and
without diacritics), on the dev split and, separately, on the held-out split.
"""

from __future__ import annotations

import pytest

from assistant import Assistant
from assistant.evaluate.testset import (
    covers,
    evidence_spans,
    hit_at,
    is_vietnamese,
    load_testset,
    mrr_at,
    recall_at,
    relevance,
)
from assistant.search.embeddings import HashingEmbeddings

from .conftest import TESTSET_PATH

TARGET_HIT_AT_3 = 0.95


def test_testset_has_both_splits_and_variants() -> None:
    cases = load_testset(TESTSET_PATH)
    assert len(cases) >= 100
    assert {c.split for c in cases} == {"dev", "heldout"}
    assert {c.variant for c in cases} >= {"vi", "vi_nodiac", "en"}
    assert len({c.id for c in cases}) == len(cases)
    for split in ("dev", "heldout"):
        vi = [c for c in load_testset(TESTSET_PATH, split) if c.answerable and is_vietnamese(c)]
        assert len(vi) >= 30
        assert any(c.variant == "vi_nodiac" for c in vi)
    assert load_testset(TESTSET_PATH, "all") == cases


def test_every_evidence_is_found_in_the_article(bot: Assistant) -> None:
    text = bot.article.text
    for case in load_testset(TESTSET_PATH):
        if case.answerable:
            assert case.evidence, case.id
        spans = evidence_spans(text, case.evidence)  # raises ValueError when a quote is not verbatim
        assert len(spans) == len(case.evidence)
        for start, end in spans:
            assert 0 <= start < end <= len(text)


def test_evidence_spans_reject_text_not_in_the_article(bot: Assistant) -> None:
    with pytest.raises(ValueError, match="evidence not found"):
        evidence_spans(bot.article.text, ["Câu này không có trong bài báo."])


@pytest.mark.parametrize("split", ["dev", "heldout"])
def test_hybrid_hit_at_3_on_vietnamese_questions(bot: Assistant, split: str) -> None:
    assert isinstance(bot.embedder, HashingEmbeddings)
    cases = [c for c in load_testset(TESTSET_PATH, split) if c.answerable and is_vietnamese(c)]
    assert cases
    hits, mrr, misses = [], [], []
    for case in cases:
        spans = evidence_spans(bot.article.text, case.evidence)
        passages = bot.retrieve(case.question, k=10, mode="hybrid")
        rel = relevance([(p.start, p.end) for p in passages], spans)
        hits.append(hit_at(rel, 3))
        mrr.append(mrr_at(rel, 10))
        if not hits[-1]:
            misses.append(f"{case.id} [{case.variant}] {case.question}")
    hit3 = sum(hits) / len(hits)
    assert hit3 >= TARGET_HIT_AT_3, f"{split}: Hit@3 {hit3:.3f} over {len(cases)} questions; missed: {misses}"
    assert sum(mrr) / len(mrr) >= 0.8


@pytest.mark.parametrize("split", ["dev", "heldout"])
def test_questions_without_diacritics_are_found(bot: Assistant, split: str) -> None:
    cases = [c for c in load_testset(TESTSET_PATH, split) if c.answerable and c.variant == "vi_nodiac"]
    assert cases
    for case in cases:
        spans = evidence_spans(bot.article.text, case.evidence)
        passages = bot.retrieve(case.question, k=3)
        assert hit_at(relevance([(p.start, p.end) for p in passages], spans), 3), case.id


# --- the metric helpers themselves ----------------------------------------------------------


def test_covers_whole_and_half_of_longer_quotes() -> None:
    assert covers(10, 50, (20, 30))  # inside
    assert not covers(10, 50, (45, 60))  # shorter quote only partly inside
    assert covers(10, 30, (0, 36))  # longer quote, 20 of its 36 chars inside
    assert not covers(10, 20, (0, 36))  # longer quote, only 10 of 36 inside


def test_hit_recall_and_mrr() -> None:
    rel = relevance([(0, 10), (20, 30), (40, 50)], [(22, 25), (41, 44)])
    assert rel == [[False, False], [True, False], [False, True]]
    assert hit_at(rel, 1) == 0.0 and hit_at(rel, 2) == 1.0
    assert recall_at(rel, 2) == 0.5 and recall_at(rel, 3) == 1.0
    assert mrr_at(rel) == 0.5

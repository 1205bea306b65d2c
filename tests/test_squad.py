"""SQuAD-format QA sets: loading (v1/v2, NFC, malformed files), the split by context and
the shipped sets in index/qa. Their evaluation: `tests/test_squad_eval.py`."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from assistant.evaluate.squad import SPLITS, bundled_sets, load_squad, split_of

from .squad_files import CONTEXT, HOSTILE, _qa, _write, tiny_v2

# --- load_squad ------------------------------------------------------------------------------


def test_load_squad_v1(tmp_path: Path) -> None:
    second, cost = "Hà Nội là thủ đô của Việt Nam.", "450 triệu đồng"
    path = _write(tmp_path / "tiny_v1.json", {"version": "1.1", "data": [
        {"title": "A", "paragraphs": [
            {"context": CONTEXT, "qas": [
                _qa("a1", "  Kinh phí xây thư viện là bao nhiêu? ", [(cost, CONTEXT.find(cost))] * 2),
                _qa("a2", "Ai là Hiệu trưởng?", [("Nguyễn Thị Hoà", CONTEXT.find("Nguyễn Thị Hoà")),
                                                 ("Cô Nguyễn Thị Hoà", CONTEXT.find("Cô Nguyễn Thị Hoà"))]),
            ]},
        ]},
        {"title": "B", "paragraphs": [{"context": second, "qas": [_qa("b1", "Thủ đô của Việt Nam là gì?",
                                                                        [("Hà Nội", 0)])]}]},
    ]})
    contexts = load_squad(path)
    assert [c.set for c in contexts] == ["tiny_v1", "tiny_v1"]  # the set is named after the file
    assert [c.title for c in contexts] == ["A", "B"]
    first = contexts[0]
    assert first.context == CONTEXT and first.split == split_of(CONTEXT)
    q1, q2 = first.questions
    assert q1.id == "a1" and q1.question == "Kinh phí xây thư viện là bao nhiêu?"  # stripped
    assert q1.answers == ("450 triệu đồng",) and q1.answerable  # a duplicate answer kept once
    assert CONTEXT[q1.starts[0] : q1.starts[0] + len(q1.answers[0])] == q1.answers[0]
    assert q2.answers == ("Nguyễn Thị Hoà", "Cô Nguyễn Thị Hoà")
    for text, start in zip(q2.answers, q2.starts):
        assert CONTEXT[start : start + len(text)] == text
    assert contexts[1].questions[0].answers == ("Hà Nội",) and contexts[1].questions[0].starts == (0,)
    assert load_squad(path, "other")[0].set == "other"


def test_load_squad_v2_impossible_and_no_answers(tmp_path: Path) -> None:
    path = tiny_v2(tmp_path / "tiny.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    qas = data["data"][0]["paragraphs"][0]["qas"]
    # marked impossible although it lists an answer; and a v1-style question with no answers at all
    qas.append(_qa("q4", "Thư viện ở đâu?", [("thư viện xanh", CONTEXT.find("thư viện xanh"))], is_impossible=True))
    qas.append({"id": "q5", "question": "Sách tiếng Anh có không?"})
    _write(path, data)
    (ctx,) = load_squad(path)
    by_id = {q.id: q for q in ctx.questions}
    assert by_id["q1"].answerable and by_id["q1"].answers == ("hơn 2.000 đầu sách",)
    assert by_id["q2"].question == HOSTILE
    for qid in ("q3", "q4", "q5"):
        assert not by_id[qid].answerable, qid
    assert by_id["q3"].answers == () and by_id["q5"].answers == ()


def test_load_squad_answer_not_in_context_is_unanswerable(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.json", {"data": [{"paragraphs": [{"context": CONTEXT, "qas": [
        _qa("z", "Có bao nhiêu học sinh?", [("1.500 học sinh", 3)])]}]}]})
    (q,) = load_squad(path)[0].questions
    assert not q.answerable and q.answers == ()


def test_load_squad_nfc_and_offsets_relocated(tmp_path: Path) -> None:
    """An NFD file (decomposed accents, longer strings) is normalised to NFC and the answer
    offsets, given in NFD characters, are re-found in the NFC context."""
    nfd_context = unicodedata.normalize("NFD", CONTEXT)
    nfd_answer = unicodedata.normalize("NFD", "Nguyễn Thị Hoà")
    nfd_start = nfd_context.find(nfd_answer)
    assert nfd_start != CONTEXT.find("Nguyễn Thị Hoà")  # normalisation does move it
    path = _write(tmp_path / "nfd.json", {"data": [{"title": unicodedata.normalize("NFD", "Thư viện"), "paragraphs": [
        {"context": nfd_context, "qas": [
            _qa("n1", unicodedata.normalize("NFD", "Ai là Hiệu trưởng?"), [(nfd_answer, nfd_start)])]}]}]})
    (ctx,) = load_squad(path)
    assert ctx.context == CONTEXT and ctx.title == "Thư viện"
    (q,) = ctx.questions
    assert q.question == "Ai là Hiệu trưởng?"
    assert q.answers == ("Nguyễn Thị Hoà",)
    assert q.starts == (CONTEXT.find("Nguyễn Thị Hoà"),)
    assert ctx.context[q.starts[0] : q.starts[0] + len(q.answers[0])] == "Nguyễn Thị Hoà"


def test_load_squad_picks_the_occurrence_nearest_the_hint(tmp_path: Path) -> None:
    context = "Tòa A có 5 tầng. Tòa B cũng có 5 tầng."
    second = context.rfind("5 tầng")
    path = _write(tmp_path / "near.json", {"data": [{"paragraphs": [{"context": context, "qas": [
        _qa("h", "Tòa B có mấy tầng?", [("5 tầng", second - 2)])]}]}]})  # a stale offset, near the second
    (q,) = load_squad(path)[0].questions
    assert q.starts == (second,)


@pytest.mark.parametrize("content", [
    "not json at all {",
    json.dumps({"version": "v2.0"}),  # no "data"
    json.dumps([1, 2, 3]),  # not an object
    "",
])
def test_load_squad_malformed_names_the_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="broken.json"):
        load_squad(path)


def test_load_squad_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nowhere.json"):
        load_squad(tmp_path / "nowhere.json")


# --- split_of ------------------------------------------------------------------------------


def test_split_of_is_deterministic_and_has_the_documented_shares() -> None:
    assert split_of("any context") == "train"  # pinned: the same on every machine
    keys = [f"ngữ cảnh số {i}" for i in range(20_000)]
    first = [split_of(k) for k in keys]
    assert first == [split_of(k) for k in keys]
    counts = Counter(first)
    assert set(counts) == {name for name, _ in SPLITS}
    for name, share in SPLITS:  # 70 / 10 / 20, within about 1.5 points on 20,000 keys
        assert abs(counts[name] / len(keys) * 100 - share) < 1.5, (name, counts)


def test_questions_of_one_context_share_its_split(tmp_path: Path) -> None:
    paragraphs = [{"context": f"Đoạn văn số {i}: Hà Nội có {i} quận.", "qas": [
        _qa(f"{i}-{j}", f"Câu hỏi {j} về đoạn {i}: có bao nhiêu quận?", [(f"{i} quận", 0)]) for j in range(3)]}
        for i in range(60)]
    contexts = load_squad(_write(tmp_path / "uit_like.json", {"data": [{"paragraphs": paragraphs}]}))
    assert len(contexts) == 60
    for ctx in contexts:  # the group of a non-news context is the context itself
        assert ctx.split == split_of(ctx.context)
        assert len(ctx.questions) == 3
    assert len({c.split for c in contexts}) > 1  # 60 contexts do not all land in one split


def test_news_sets_split_by_question(tmp_path: Path) -> None:
    """In a set whose name starts with "news" and one question per context, the group is
    the question: one question over several snippets lands in one split."""
    questions = [f"Ai là người đứng đầu tổ chức số {i}?" for i in range(30)]
    paragraphs = [{"context": f"Đoạn {j} về tổ chức {i}: ông A{i} đứng đầu.", "qas": [_qa(f"{i}.{j}", q, [])]}
                  for i, q in enumerate(questions) for j in range(4)]
    path = _write(tmp_path / "qa.json", {"data": [{"paragraphs": paragraphs}]})
    news = load_squad(path, "news_qa_tiny")
    by_question: dict[str, set[str]] = defaultdict(set)
    for ctx in news:
        (q,) = ctx.questions
        assert ctx.split == split_of(q.question)
        by_question[q.question].add(ctx.split)
    assert all(len(s) == 1 for s in by_question.values())
    other = load_squad(path, "uit_tiny")  # same file, another name: grouped by context
    assert [c.split for c in other] == [split_of(c.context) for c in other]


# --- the shipped sets -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> dict[str, list[Any]]:
    return {name: load_squad(path, name) for name, path in bundled_sets().items()}


def test_bundled_sets_are_the_three_in_index_qa(shipped: dict[str, list[Any]]) -> None:
    sets = bundled_sets()
    assert sorted(sets) == ["news_qa_dev", "uit_train_reg", "uit_train_wiki"]
    root = Path(__file__).resolve().parents[1] / "index" / "qa"
    assert all(p.parent == root and p.is_file() for p in sets.values())
    assert bundled_sets(root) == sets
    for name, contexts in shipped.items():
        assert {c.split for c in contexts} == {"train", "dev", "heldout"}, name
        assert sum(q.answerable for c in contexts for q in c.questions) > 0, name


@pytest.mark.parametrize("name", ["uit_train_reg", "uit_train_wiki"])
def test_uit_sets_have_no_context_in_two_splits(shipped: dict[str, list[Any]], name: str) -> None:
    splits: dict[str, set[str]] = defaultdict(set)
    for ctx in shipped[name]:
        splits[ctx.context].add(ctx.split)
    assert all(len(s) == 1 for s in splits.values())


def test_news_set_has_no_question_in_two_splits(shipped: dict[str, list[Any]]) -> None:
    splits: dict[str, set[str]] = defaultdict(set)
    for ctx in shipped["news_qa_dev"]:
        assert len(ctx.questions) == 1
        splits[ctx.questions[0].question].add(ctx.split)
    # a question's group has one split; a held-out snippet whose text is also trained on moves to dev
    assert all(len(s) == 1 or s == {"heldout", "dev"} for s in splits.values())
    assert not [q for q, s in splits.items() if {"train", "heldout"} <= s]


def test_no_held_out_text_was_trained_on(shipped: dict[str, list[Any]]) -> None:
    """A news snippet asked about by several questions may sit in train and dev (dev only
    tunes), never in train and held-out: held-out figures must not read trained-on text."""
    for contexts in shipped.values():
        splits: dict[str, set[str]] = defaultdict(set)
        for ctx in contexts:
            splits[ctx.context].add(ctx.split)
        assert not [c for c, s in splits.items() if {"train", "heldout"} <= s]
    news = defaultdict(set)
    for ctx in shipped["news_qa_dev"]:
        news[ctx.context].add(ctx.split)
    assert any(s == {"train", "dev"} for s in news.values())  # the moved snippets are there, in dev

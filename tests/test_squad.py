"""SQuAD-format QA sets: loading (v1/v2, NFC, malformed files), the split by context,
the shipped sets in index/qa, `squad_eval.summarize` / `print_table`, and
`assistant eval --squad` (outputs, an escaped report, quality floors, one-line errors)."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from assistant import squad_eval
from assistant.cli import main
from assistant.squad import SPLITS, bundled_sets, load_squad, split_of

CONTEXT = ("Trường Tiểu học Hoàng Văn Thụ khánh thành thư viện xanh với hơn 2.000 đầu sách dành cho học sinh. "
           "Thư viện được xây dựng trong 3 tháng với tổng kinh phí 450 triệu đồng, do phụ huynh đóng góp. "
           "Cô Nguyễn Thị Hoà là Hiệu trưởng nhà trường.")
HOSTILE = "<script>alert('x')</script> Thư viện được xây dựng trong bao lâu?"


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _qa(qid: str, question: str, answers: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
    return {"id": qid, "question": question, "answers": [{"text": t, "answer_start": s} for t, s in answers], **extra}


def tiny_v2(path: Path, context: str = CONTEXT) -> Path:
    """One context, SQuAD v2: two answerable questions (one hostile), one impossible."""
    at = context.find
    qas = [
        _qa("q1", "Thư viện có bao nhiêu đầu sách?", [("hơn 2.000 đầu sách", at("hơn 2.000 đầu sách"))],
            is_impossible=False),
        _qa("q2", HOSTILE, [("3 tháng", at("3 tháng"))], is_impossible=False),
        _qa("q3", "Ai là hiệu phó nhà trường?", [], is_impossible=True, plausible_answers=[]),
    ]
    return _write(path, {"version": "v2.0", "data": [{"title": "Thư viện", "paragraphs": [
        {"context": context, "qas": qas}]}]})


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


# --- summarize / print_table ----------------------------------------------------------------


def _records() -> list[dict[str, Any]]:
    recs: list[dict[str, Any]] = []
    for i in range(10):  # s/heldout: f1 0.0, 0.1, ... 0.9; em 1 on every other; 2 unanswerable
        recs.append({"set": "s", "split": "heldout", "answerable": True, "f1": i / 10, "em": float(i % 2 == 0),
                     "contains": 1.0, "false_refusal": 0.0, "hit@1": float(i < 5), "hit@3": 1.0})
    recs += [{"set": "s", "split": "heldout", "answerable": False, "abstention": a} for a in (1.0, 0.0)]
    recs.append({"set": "t", "split": "dev", "answerable": True, "f1": 0.5, "em": 0.0, "contains": 0.0,
                 "false_refusal": 1.0, "hit@1": 0.0, "hit@3": 0.0})
    return recs


def test_summarize_means_counts_and_intervals() -> None:
    summary = squad_eval.summarize(_records())
    assert list(summary) == ["s/heldout", "t/dev"]
    s = summary["s/heldout"]
    assert set(s) == {"f1", "em", "contains", "false_refusal", "abstention", "hit@1", "hit@3"}
    assert s["f1"]["mean"] == pytest.approx(0.45) and s["f1"]["n"] == 10
    assert s["em"]["mean"] == 0.5 and s["hit@1"]["mean"] == 0.5 and s["hit@3"]["mean"] == 1.0
    assert s["abstention"] == {"mean": 0.5, "n": 2, "ci95": s["abstention"]["ci95"]}
    for name, metric in s.items():
        lo, hi = metric["ci95"]
        assert 0.0 <= lo <= metric["mean"] <= hi <= 1.0, name
    assert s["f1"]["ci95"][0] < 0.45 < s["f1"]["ci95"][1]  # a spread of values: a real interval
    assert s["hit@3"]["ci95"] == [1.0, 1.0]  # constant values: a point
    t = summary["t/dev"]
    assert "abstention" not in t  # no unanswerable question there
    assert t["false_refusal"] == {"mean": 1.0, "n": 1, "ci95": [1.0, 1.0]}
    assert squad_eval.summarize(_records()) == summary  # fixed seed: stable reports
    assert squad_eval.summarize([]) == {}


def test_print_table(capsys: pytest.CaptureFixture[str]) -> None:
    squad_eval.print_table(squad_eval.summarize(_records()))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("set/split") and "false_refusal" in lines[0] and "hit@3" in lines[0]
    assert len(lines) == 3
    assert lines[1].startswith("s/heldout") and "0.450 (n=10)" in lines[1] and "0.500 (n=2)" in lines[1]
    assert lines[2].startswith("t/dev") and "–" in lines[2]  # no abstention measured on t/dev


# --- `assistant eval --squad` ---------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # the environment keeps every index here on the offline embedder
    monkeypatch.setenv("ASSISTANT_MODEL", "offline")


def test_eval_squad_writes_summary_records_and_an_escaped_report(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, offline: None) -> None:
    out = tmp_path / "eval"
    code, stdout, err = run(capsys, "eval", "--squad", str(tiny_v2(tmp_path / "tiny.json")), "--split", "all",
                            "--out", str(out), "-q", "--answerer", "extractive", "--model", "offline")
    assert code == 0, err
    assert "Traceback" not in err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    key = f"tiny/{split_of(CONTEXT)}"
    assert summary["split"] == "all" and summary["pooled"] is False and list(summary["sets"]) == [key]
    metrics = summary["sets"][key]
    assert metrics["f1"]["n"] == 2 and metrics["abstention"]["n"] == 1
    records = [json.loads(line) for line in (out / "per_question.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["q1", "q2", "q3"]
    assert records[0]["gold"] == ["hơn 2.000 đầu sách"] and records[2]["answerable"] is False
    assert {"em", "f1", "contains", "false_refusal", "hit@1", "hit@3"} <= set(records[0])
    assert "abstention" in records[2] and "f1" not in records[2]
    assert records[0]["answered"] and "2.000" in records[0]["text"]  # the rules find this one
    assert records[1]["question"] == HOSTILE
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and key in page
    assert "<script" not in page.lower()
    assert records[1]["f1"] < 1  # the rules refuse it, so it is listed among the misses: escaped
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert key in stdout and "Report:" in stdout  # the table on stdout


def test_every_context_shares_one_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: None) -> None:
    """One assistant per context, one reader for all of them: it loads once, not per context."""
    path = tiny_v2(tmp_path / "a.json")
    two = json.loads(path.read_text(encoding="utf-8"))
    two["data"].append(json.loads(tiny_v2(tmp_path / "b.json", CONTEXT + " Thư viện mở cửa cả tuần.")
                                  .read_text(encoding="utf-8"))["data"][0])
    readers: list[Any] = []
    real = squad_eval._assistant

    def spy(contexts: Any, embedder: Any, reader: Any, directory: Path) -> Any:
        readers.append(reader)
        return real(contexts, embedder, reader, directory)

    monkeypatch.setattr(squad_eval, "_assistant", spy)
    records = squad_eval.squad_records("all", files={"two": _write(tmp_path / "two.json", two)},
                                       answerer="extractive")
    assert len(records) == 6 and len(readers) == 2
    assert readers[0] is not None and readers[1] is readers[0]


def test_eval_squad_json_and_quality_floor(capsys: pytest.CaptureFixture[str], tmp_path: Path, offline: None) -> None:
    path = tiny_v2(tmp_path / "tiny.json")
    common = ["eval", "--squad", str(path), "--split", "all", "--out", str(tmp_path / "e"), "-q",
              "--answerer", "extractive"]
    code, stdout, err = run(capsys, *common, "--json", "--fail-under", "f1=0")
    assert code == 0, err
    assert json.loads(stdout)["sets"]  # --json: the summary alone on stdout
    code, _, err = run(capsys, *common, "--fail-under", "f1=1.01")
    assert code == 1
    assert "quality floor" in err and "f1" in err and "Traceback" not in err
    code, _, err = run(capsys, *common, "--fail-over", "false_refusal=-0.01")
    assert code == 1 and "quality floor" in err and "false_refusal" in err


def test_eval_squad_missing_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, stdout, err = run(capsys, "eval", "--squad", str(tmp_path / "missing.json"), "--out", str(tmp_path / "e"),
                            "-q")
    assert code == 2
    assert err.strip().count("\n") == 0 and err.startswith("error:") and "missing.json" in err
    assert stdout == "" and not (tmp_path / "e").exists()


def test_eval_squad_malformed_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               offline: None) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    code, _, err = run(capsys, "eval", "--squad", str(bad), "--out", str(tmp_path / "e"), "-q")
    assert code == 2
    assert err.strip().count("\n") == 0 and err.startswith("error:") and "bad.json" in err


def test_eval_squad_honours_model(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant import embeddings

    asked: list[Any] = []
    real = embeddings.resolve_embedder

    def spy(model: str | None = None, **kwargs: Any) -> Any:
        asked.append(model)
        return real("offline", **kwargs)  # whatever was asked, stay fast

    monkeypatch.setattr(embeddings, "resolve_embedder", spy)
    code, _, err = run(capsys, "eval", "--squad", str(tiny_v2(tmp_path / "tiny.json")), "--out", str(tmp_path / "e"),
                       "-q", "--answerer", "extractive", "--model", "offline")
    assert code == 0, err
    assert asked == ["offline"]


def test_eval_squad_unknown_floor_metric_is_not_silently_passed(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                                 offline: None) -> None:
    code, _, _ = run(capsys, "eval", "--squad", str(tiny_v2(tmp_path / "tiny.json")), "--out", str(tmp_path / "e"),
                     "-q", "--answerer", "extractive", "--fail-under", "heldout:f1=1.01")
    assert code != 0


# --- the quality floor CI runs ---------------------------------------------------------------

# Measured once (2 cores, 18 s), with exactly the command CI runs:
#   assistant eval --squad bundled --split heldout --limit 40 --out /tmp/floor -q
#                     f1      em      contains  false_refusal  abstention  hit@1   hit@3
#   news_qa_dev     0.722   0.722   0.722     0.278          0.727       1.000   1.000   (n=18 answerable, 22 not)
#   uit_train_reg   0.464   0.149   0.766     0.000          -           0.957   1.000   (n=47)
#   uit_train_wiki  0.449   0.217   0.783     0.065          -           0.935   1.000   (n=46)
# F1 scores the short answer, or the quoted text when an answer has none.
# A bare METRIC=VALUE applies to every set/split of the summary, so the CLI floors sit about
# 0.05 below the lowest set (the false_refusal ceiling 0.05 above the highest); PER_SET then
# holds each set to about 0.05 below its own value (0.1 for news_qa_dev's 18 and 22
# questions, where one question moves a mean by 0.05).
FLOOR = ["--fail-under", "contains=0.67", "--fail-under", "hit@1=0.88", "--fail-under", "hit@3=0.95",
         "--fail-under", "f1=0.40", "--fail-under", "heldout:abstention=0.60", "--fail-over", "false_refusal=0.33"]
PER_SET = {
    "news_qa_dev/heldout": {"contains": 0.62, "f1": 0.62, "abstention": 0.62, "hit@3": 0.9},
    "uit_train_reg/heldout": {"f1": 0.41, "contains": 0.71, "hit@1": 0.9, "hit@3": 0.95},
    "uit_train_wiki/heldout": {"f1": 0.40, "contains": 0.73, "hit@1": 0.88, "hit@3": 0.95},
}
PER_SET_CEILING = {"news_qa_dev/heldout": 0.38, "uit_train_reg/heldout": 0.05, "uit_train_wiki/heldout": 0.12}


@pytest.mark.slow
def test_quality_floor_on_the_held_out_sets(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "floor"
    code, _, err = run(capsys, "eval", "--squad", "bundled", "--split", "heldout", "--limit", "40", "--out", str(out),
                       "-q", *FLOOR)
    sets = json.loads((out / "summary.json").read_text(encoding="utf-8"))["sets"]
    assert code == 0, (err, json.dumps(sets, indent=1))
    assert list(sets) == list(PER_SET)
    for key, floors in PER_SET.items():
        metrics = sets[key]
        assert metrics["contains"]["n"] >= 15, key  # --limit 40: about 40 questions, whole contexts
        for name, floor in floors.items():
            assert metrics[name]["mean"] >= floor, (key, name, metrics[name])
        assert metrics["false_refusal"]["mean"] <= PER_SET_CEILING[key], (key, metrics["false_refusal"])

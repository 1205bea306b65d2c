"""Evaluation: metrics on hand-computed cases, the runner, the report, the quality floor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.answer.quote import QUOTE_SYLLABLES
from assistant.cli import main
from assistant.evaluate import report
from assistant.evaluate import run as eval_run
from assistant.evaluate.testset import (
    bootstrap_ci,
    contains_gold,
    covers,
    exact_match,
    f1_score,
    hit_at,
    load_testset,
    mrr_at,
    ndcg_at,
    normalize_answer,
    percentile,
    recall_at,
    relevance,
)
from assistant.paths import bundled_article, bundled_testset

# --- metrics by hand ------------------------------------------------------------------------


def test_ranking_metrics_on_a_hand_computed_case() -> None:
    # evidence spans (10, 20) and (50, 60); passages ranked: miss, covers #2, covers #1
    rel = relevance([(100, 200), (45, 70), (0, 30)], [(10, 20), (50, 60)])
    assert rel == [[False, False], [False, True], [True, False]]
    assert hit_at(rel, 1) == 0.0 and hit_at(rel, 2) == 1.0
    assert recall_at(rel, 2) == 0.5 and recall_at(rel, 3) == 1.0
    assert mrr_at(rel, 10) == pytest.approx(0.5)
    # DCG = 1/log2(3) + 1/log2(4); ideal with 2 relevant chunks = 1 + 1/log2(3)
    assert ndcg_at(rel, 2, 10) == pytest.approx((1 / 1.5849625 + 0.5) / (1 + 1 / 1.5849625), rel=1e-6)


def test_empty_retrieval_scores_zero() -> None:
    assert hit_at([], 3) == 0.0 and recall_at([], 3) == 0.0 and mrr_at([], 10) == 0.0
    assert ndcg_at([], 0, 10) == 0.0


def test_a_long_quote_straddling_two_chunks_counts_for_either() -> None:
    assert covers(0, 50, (40, 140)) is False  # covers 10 of 100 characters
    assert covers(60, 120, (40, 140)) is True  # covers 60 of 100, and the quote is longer than the passage
    assert covers(0, 200, (40, 140)) is True


def test_answer_metrics_use_mlqa_normalisation() -> None:
    assert normalize_answer("“261 Đảng viên mới”.") == ["261", "đảng", "viên", "mới"]
    assert exact_match("261 Đảng viên mới.", ["261 đảng viên mới"]) == 1.0
    assert f1_score("261 đảng viên", ["261 đảng viên mới"]) == pytest.approx(2 * 1 * 0.75 / 1.75)
    assert f1_score("không liên quan", ["261"]) == 0.0
    assert contains_gold("kết nạp được 261 đảng viên mới", ["261"]) == 1.0
    assert contains_gold("kết nạp được 2610 đảng viên", ["261"]) == 0.0  # whole syllables only


def test_bootstrap_interval_is_stable_and_brackets_the_mean() -> None:
    values = [1.0] * 30 + [0.0] * 10
    lo, hi = bootstrap_ci(values)
    assert (lo, hi) == bootstrap_ci(values)  # fixed seed
    assert lo < 0.75 < hi
    assert bootstrap_ci([]) == (0.0, 0.0)
    assert percentile([1, 2, 3, 4], 50) == 2.5


# --- the runner on the shipped test set -----------------------------------------------------


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return Assistant.build(
        [bundled_article()], tmp_path_factory.mktemp("eval") / "idx", "offline", announce=lambda m: None
    )


@pytest.fixture(scope="module")
def records(bot: Assistant) -> list[dict]:
    return eval_run.run(bot, load_testset(bundled_testset()))


def test_test_set_is_large_enough_and_split(records: list[dict]) -> None:
    assert len(records) >= 80
    assert {r["split"] for r in records} == {"dev", "heldout"}
    unanswerable = sum(not r["answerable"] for r in records)
    assert unanswerable / len(records) >= 0.20


def test_unanswerable_gold_is_scored_as_abstention(records: list[dict]) -> None:
    for r in records:
        if not r["answerable"]:
            assert "correct" not in r["metrics"] and "hit@1" not in r["metrics"]
            assert r["metrics"]["abstention"] == float(not r["answered"])


def test_quote_length_is_scored_in_syllables(records: list[dict]) -> None:
    """"Quotes ≤ 60 syllables": 1 when an answered question's quoted citations hold at most 60
    syllables (or no more than its shortest gold answer), 0 above, unset for refusals and
    unanswerable ones; a quote past the bar does not count as containing the gold. Every
    answer on the bundled article is cut to fit (`assistant/answer/quote.py`)."""
    from assistant.evaluate.testset import short_enough

    scored = [r for r in records if r["metrics"].get("quote_short") is not None]
    assert scored and all(r["metrics"]["quote_short"] == 1.0 for r in scored)
    for r in records:
        quoted = " ".join(c["text"] for c in r["citations"])
        answered = r["answerable"] and r["answered"]
        expected = float(short_enough(quoted, r["gold"], QUOTE_SYLLABLES)) if answered else None
        assert r["metrics"].get("quote_short") == expected, r["id"]


def test_a_quote_past_the_bar_counts_only_for_a_longer_gold() -> None:
    from assistant.evaluate.testset import short_enough

    long_quote = " ".join(["chi bộ"] * 31)  # 62 syllables
    assert not short_enough(long_quote, ["chi bộ"], QUOTE_SYLLABLES)
    assert short_enough(long_quote, [long_quote], QUOTE_SYLLABLES)  # a long list cannot be quoted in fewer
    assert short_enough("kết nạp được 261 đảng viên mới", ["261"], QUOTE_SYLLABLES)


# The quality floor CI holds, on the default configuration (bundled multilingual-e5-small,
# the `auto` answerer): the values measured when it was set, less a small margin.
# Measured (`assistant eval`, 2026-12-08, quotes cut to 60 syllables and "correct" counted
# within that bar, dev with its 24 paraphrased questions; the answer policy's one threshold,
# 2.0, and the check read off the reader, -7.21): dev hit@3 0.963, correct 0.826, abstention
# 0.895, false refusals 0.078, F1 0.598, quotes <= 60 syllables 1.000; held-out hit@3 0.946,
# correct 0.857, abstention 0.875, false refusals 0.054, F1 0.608, quotes <= 60 syllables 1.000.
QUALITY_FLOOR = [
    "--fail-under", "citation_verbatim=1.0",
    "--fail-under", "dev:hit@3=0.95", "--fail-under", "heldout:hit@3=0.92",
    "--fail-under", "dev:correct=0.80", "--fail-under", "heldout:correct=0.82",
    "--fail-under", "dev:abstention=0.87", "--fail-under", "heldout:abstention=0.83",
    "--fail-under", "dev:f1=0.57", "--fail-under", "heldout:f1=0.55",
    "--fail-under", "dev:quote_short=0.95", "--fail-under", "heldout:quote_short=0.95",
    "--fail-over", "dev:false_refusal=0.10", "--fail-over", "heldout:false_refusal=0.08",
]  # fmt: skip


def test_quality_floor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`assistant eval` on the shipped test set, exactly as a CI step would run it."""
    code = main(["eval", "--out", str(tmp_path), "-q", *QUALITY_FLOOR])
    assert code == 0, capsys.readouterr().err


def test_html_report_is_self_contained_and_escaped(bot: Assistant, records: list[dict]) -> None:
    summary = eval_run.summarize(records, {"mode": "hybrid"}, bundled_testset(), bot)
    hostile = dict(records[0], question="<script>alert(1)</script>", failure="wrong_answer")
    page = report.render_html(summary, [hostile, *records[1:]], baseline=summary)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<svg" in page and "Recall@k" in page and "Against the baseline" in page
    assert "http" not in page.split("<body>")[0]  # no external stylesheet or script


def test_cli_eval_writes_outputs_and_holds_the_floor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "eval"
    code = main(["eval", "--out", str(out), "--split", "heldout", "-q", "--fail-under", "hit@3=0.9"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["testset"]["sha256"] and summary["embedder"]["kind"] == "sentence-transformers"
    assert (out / "report.html").is_file()
    lines = (out / "per_question.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == summary["testset"]["questions"]
    assert main(["eval", "--out", str(out), "--split", "heldout", "-q", "--answerer", "extractive",
                 "--fail-under", "hit@3=1.01"]) == 1
    assert "quality floor" in capsys.readouterr().err


def test_compare_runs_modes_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--out", str(tmp_path), "--split", "heldout", "-q", "--compare", "hybrid,lexical",
                 "--answerer", "extractive"]) == 0
    out = capsys.readouterr().out
    assert "hybrid" in out and "lexical" in out
    assert (tmp_path / "hybrid" / "summary.json").is_file() and (tmp_path / "lexical" / "summary.json").is_file()


def test_feedback_becomes_reviewable_test_lines(tmp_path: Path) -> None:
    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in [
                {
                    "question": "Ai là tác giả?",
                    "answer": "NÔNG ĐÌNH QUANG",
                    "answered": True,
                    "liked": True,
                    "citations": [{"n": 1, "text": "Bài, ảnh: NÔNG ĐÌNH QUANG", "start": 4054, "end": 4079}],
                },
                {
                    "question": "Dân số?",
                    "answer": "Bài viết không đề cập",
                    "answered": False,
                    "liked": True,
                    "citations": [],
                },
                {"question": "Sai rồi?", "answer": "x", "answered": True, "liked": False, "citations": []},
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    assert main(["eval", "--from-feedback", str(feedback), "--out", str(tmp_path)]) == 0
    lines = [json.loads(line) for line in (tmp_path / "testset_from_feedback.jsonl").read_text().splitlines()]
    assert lines[0]["answerable"] and lines[0]["evidence"] == "Bài, ảnh: NÔNG ĐÌNH QUANG"
    assert lines[1]["answerable"] is False and lines[1]["answers"] == []
    assert all(line["needs_review"] for line in lines)
    assert load_testset(tmp_path / "testset_from_feedback.jsonl")  # readable as a test set

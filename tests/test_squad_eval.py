"""Evaluating on SQuAD-format sets: `squad_eval.summarize` / `print_table`, and
`assistant eval --squad` (outputs, an escaped report, one shared reader, quality floors,
one-line errors), with the held-out quality floor CI runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.cli import main
from assistant.evaluate import squad_eval
from assistant.evaluate.squad import split_of

from .squad_files import CONTEXT, HOSTILE, _write, tiny_v2

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
    from assistant.search import resolve as embeddings

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

# Measured (2 cores, 14 s idle), with exactly the command CI runs, 2026-12-07, and again on
# 2026-12-08 with the one-threshold policy (the same figures); quotes cut to 60 syllables, and
# "contains" counted only within that bar:
#   assistant eval --squad bundled --split heldout --limit 40 --out /tmp/floor -q
#                     f1      em      contains  false_refusal  abstention  hit@1   hit@3
#   news_qa_dev     0.722   0.722   0.722     0.278          0.727       1.000   1.000   (n=18 answerable, 22 not)
#   uit_train_reg   0.476   0.149   0.745     0.000          -           0.957   1.000   (n=47)
#   uit_train_wiki  0.447   0.217   0.717     0.065          -           0.935   1.000   (n=46)
# F1 scores the short answer, or the quoted text when an answer has none.
# A bare METRIC=VALUE applies to every set/split of the summary, so the CLI floors sit about
# 0.05 below the lowest set (the false_refusal ceiling 0.05 above the highest); PER_SET then
# holds each set to about 0.05 below its own value (0.1 for news_qa_dev's 18 and 22
# questions, where one question moves a mean by 0.05).
FLOOR = ["--fail-under", "contains=0.66", "--fail-under", "hit@1=0.88", "--fail-under", "hit@3=0.95",
         "--fail-under", "f1=0.40", "--fail-under", "heldout:abstention=0.60", "--fail-over", "false_refusal=0.33"]
PER_SET = {
    "news_qa_dev/heldout": {"contains": 0.62, "f1": 0.62, "abstention": 0.62, "hit@3": 0.9},
    "uit_train_reg/heldout": {"f1": 0.42, "contains": 0.69, "hit@1": 0.9, "hit@3": 0.95},
    "uit_train_wiki/heldout": {"f1": 0.40, "contains": 0.67, "hit@1": 0.88, "hit@3": 0.95},
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

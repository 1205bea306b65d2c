"""bench/answer_policy.py: one searched threshold, the check read off the reader, each rule taken out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bench.answer_policy as policy


def row(i: int, *, split: str = "dev", answerable: bool = True, margin: float = 0.0, kind: str = "number",
        rules: bool = True, rules_right: bool = True, reader_right: bool = False, meta: bool = False,
        name: str = "article") -> dict[str, Any]:
    return {"set": name, "split": split, "id": f"q{i}", "answerable": answerable, "margin": margin,
            "reader_meta": meta, "reader_answered": True, "rules_answered": rules, "veto": None, "kind": kind,
            "rules_contains": float(rules_right), "reader_contains": float(reader_right),
            "rules_f1": float(rules_right), "reader_f1": float(reader_right),
            "rules_short": "", "reader_short": "", "rules_text": "", "reader_text": ""}


def test_the_check_is_the_margin_all_but_the_budget_of_answerable_dev_questions_clear() -> None:
    rows = [row(i, margin=float(i)) for i in range(100)]
    rows += [row(100 + i, margin=-50.0, answerable=False) for i in range(10)]  # unanswerable: not counted
    rows += [row(200 + i, margin=-60.0, split="heldout") for i in range(10)]  # never chosen on
    rows += [row(300 + i, margin=-70.0, meta=True) for i in range(10)]  # the reader does not read these
    assert policy.derived_check(rows, 0.05) == 5.0
    assert policy.derived_check(rows, 0.0) == 0.0
    assert policy.derived_check(rows, 0.99) == 99.0
    assert policy.derived_check([], 0.05) == float("-inf")


def test_choose_searches_one_threshold_and_measures_each_rule_by_taking_it_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    rows = []
    # numbers: the rules are right where the reader is not, at low margins
    rows += [row(i, margin=-2.0 + i / 10, kind="number") for i in range(20)]
    # facts: the rules abstain, the reader is right when confident
    rows += [row(100 + i, margin=4.0, kind="fact", rules=False, reader_right=True) for i in range(20)]
    # unanswerable: the rules answer a near-miss sentence the reader is sure of no answer in
    rows += [row(200 + i, margin=-30.0, kind="person", answerable=False) for i in range(10)]
    # the article's own metadata: answered from its metadata lines on both paths
    rows += [row(300 + i, margin=0.0, kind="meta_author", meta=True) for i in range(3)]
    rows += [dict(r, split="heldout", id=r["id"] + "h") for r in rows]
    out = tmp_path / "policy"
    out.mkdir()
    (out / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.setattr(policy, "add_vetoes", lambda rows: None)  # the synthetic rows carry their own

    policy.choose(out, tolerance=0.0)
    choice = json.loads((out / "choice.json").read_text(encoding="utf-8"))
    assert choice["policy"] == "rules+reader+veto"
    # 40 answerable dev questions: the check spends its 5 % on the two lowest margins
    assert choice["check"] == policy.derived_check(rows) == pytest.approx(-1.8)
    assert choice["threshold"] in policy.GRID and choice["threshold"] <= 4.0
    dev = choice["dev"]["article"]
    assert dev["contains"] == pytest.approx(41 / 43) and dev["abstention"] == 1.0  # no near-miss answer stands
    kinds = choice["rules_by_kind"]["heldout"]
    assert kinds["article/number"]["contains_with"] == pytest.approx(0.9)
    assert kinds["article/number"]["contains_without"] == 0.0  # the reader is wrong there: the rule earns it
    assert kinds["article/fact"]["contains_with"] == kinds["article/fact"]["contains_without"] == 1.0
    assert "article/meta_author" not in kinds  # no rule can be weighed by taking it out there
    printed = capsys.readouterr().out
    assert "the two-parameter lattice's best (not chosen from)" in printed
    assert "budget 0.05" in printed

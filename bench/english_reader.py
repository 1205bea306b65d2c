"""English questions over Vietnamese text: what the span reader should read of them.

    .venv/bin/python -m bench.english_reader          # about 90 s on 2 idle cores

English questions reach the rules through a glossary written for the bundled article
(`assistant/answer/translate.py`). The reader's encoder is multilingual, so it may do as
well or better on the question as asked. Three ways for the reader to read an English
question (`Assistant.english_reading`):

- `glossary`: its glossary form (names, numbers and the glossary's Vietnamese words);
- `raw`: the English question as asked;
- `both`: both forms, the span with the larger margin.

Each is asked through the whole pipeline with the shipped `auto` policy and with the reader
alone (`answerer="reader"`), on two sets:

- `article`: the English questions of the bundled test set (`index/testset.jsonl`), its
  `dev` split less the half the reader trained on (`train_reader.article_half`), and its
  `heldout` split, reported apart; "contains" is the test set's `correct` (the gold within
  an answer of at most 60 syllables);
- `qa-en`: English questions written for this project (`index/qa_english.jsonl`) over
  contexts of the QA sets' `dev` split, each the translation of one of their Vietnamese
  questions, whose gold answers it keeps; the Vietnamese original is asked beside them
  (`vi`) for the gap. The glossary knows none of these texts' words: this set says what
  generalises to articles the glossary was not written for.

Output: a table and artifacts/bench/english_reader.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from assistant.answer.translate import ENGLISH_READINGS
from bench.common import ROOT, machine

READINGS = ENGLISH_READINGS
ANSWERERS = ("auto", "reader")
QUESTIONS = ROOT / "index" / "qa_english.jsonl"


def english_questions(path: Path = QUESTIONS) -> list[tuple[Any, Any, str]]:
    """(context, original question, English question) for each line of `path`; every context
    must belong to a `dev` split (training and held-out contexts are refused)."""
    from assistant.evaluate.squad import bundled_sets, load_squad

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    sets = bundled_sets()
    found: dict[tuple[str, str], tuple[Any, Any]] = {}
    for name in {r["set"] for r in rows}:
        for ctx in load_squad(sets[name], name):
            for q in ctx.questions:
                found[(name, q.id)] = (ctx, q)
    out = []
    for r in rows:
        ctx, q = found[(r["set"], r["id"])]
        if ctx.split != "dev":
            raise ValueError(f"{r['set']}:{r['id']} is a {ctx.split} context: English questions are written on dev")
        out.append((ctx, q, r["question"]))
    return out


def _article_records() -> list[dict[str, Any]]:
    from assistant import Assistant
    from assistant.evaluate.run import run_case
    from assistant.evaluate.testset import load_testset
    from assistant.paths import bundled_article, bundled_testset
    from bench.train_reader import article_half

    cases = [c for c in load_testset(bundled_testset(), split=None) if c.variant == "en"
             and (c.split == "heldout" or article_half(c) == "calibrate")]
    records = []
    with tempfile.TemporaryDirectory(prefix="english-reader-") as tmp:
        bot = Assistant.build([bundled_article()], Path(tmp) / "index", "offline", announce=lambda _m: None)
        for case in cases:
            for answerer in ANSWERERS:
                for how in READINGS:
                    bot.english_reading = how
                    m = run_case(bot, case, ks=(1,), mode="hybrid", answerer=answerer)["metrics"]
                    records.append({"set": "article", "split": case.split, "id": case.id, "answerer": answerer,
                                    "reading": how, "answerable": case.answerable, "contains": m.get("correct"),
                                    "f1": m.get("f1"), "abstention": m.get("abstention")})
    return records


def _qa_records() -> list[dict[str, Any]]:
    from assistant.answer.reader import Reader
    from assistant.evaluate.squad_eval import _assistant, _record
    from assistant.search.resolve import resolve_embedder

    embedder, reader = resolve_embedder(), Reader()
    records = []
    by_context: dict[int, list[tuple[Any, Any, str]]] = {}
    for ctx, q, english in english_questions():
        by_context.setdefault(id(ctx), []).append((ctx, q, english))
    with tempfile.TemporaryDirectory(prefix="english-reader-") as tmp:
        for i, group in enumerate(by_context.values()):
            bot = _assistant([group[0][0]], embedder, reader, Path(tmp) / f"c{i}")
            for ctx, q, english in group:
                for answerer in ANSWERERS:
                    asks = [(how, replace(q, question=english)) for how in READINGS] + [("vi", q)]
                    for how, asked in asks:
                        bot.english_reading = how if how != "vi" else "glossary"
                        rec = _record(bot, ctx, asked, 0, answerer)
                        records.append({"set": "qa-en", "split": ctx.split, "id": q.id, "answerer": answerer,
                                        "reading": how, "answerable": q.answerable, "contains": rec.get("contains"),
                                        "f1": rec.get("f1"), "abstention": rec.get("abstention")})
    return records


def summarize(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["set"], r["split"], r["answerer"], r["reading"]), []).append(r)
    rows = []
    for (name, split, answerer, how), recs in groups.items():
        ans = [r for r in recs if r["answerable"]]
        una = [r for r in recs if not r["answerable"]]
        rows.append({"set": name, "split": split, "answerer": answerer, "reading": how,
                     "answerable": len(ans), "unanswerable": len(una),
                     "contains": _mean(r["contains"] for r in ans), "f1": _mean(r["f1"] for r in ans),
                     "abstention": _mean(r["abstention"] for r in una)})
    return rows


def _mean(values: Any) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return round(sum(vals) / len(vals), 3) if vals else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench" / "english_reader.json")
    ap.add_argument("--only", choices=("article", "qa-en"), help="one set only")
    args = ap.parse_args()
    records = ([] if args.only == "qa-en" else _article_records()) + ([] if args.only == "article" else _qa_records())
    rows = summarize(records)
    print(f"{'set':8} {'split':8} {'answerer':8} {'reading':9} {'n':>7} {'contains':>8} {'F1':>6} {'abst.':>6}")
    for r in rows:
        n = f"{r['answerable']}+{r['unanswerable']}"
        print(f"{r['set']:8} {r['split']:8} {r['answerer']:8} {r['reading']:9} {n:>7} "
              + " ".join(f"{'–' if r[k] is None else format(r[k], '.3f'):>{w}}"
                         for k, w in (("contains", 8), ("f1", 6), ("abstention", 6))))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine(), "rows": rows, "records": records}, ensure_ascii=False,
                                   indent=1), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Which answerer answers: the span reader, the rules, or both, chosen on dev and reported on held-out.

    python -m bench.answer_policy record     # ask every dev + held-out question both ways (8 min, idle machine)
    python -m bench.answer_policy choose     # sweep policies on dev, report the chosen one on held-out

`record` asks each question of the `dev` and `heldout` splits of the sets in `index/qa/`
(one index per context) and of the bundled test set through the whole pipeline twice:
once with the rules (`answerer="extractive"`) and once with the reader with its threshold
removed (so every best span and its margin is kept). Rows go to
`artifacts/answer_policy/rows.jsonl`.

`choose` scores, per set, five policies over one searched number, the reader's threshold
`t`: `reader` (the reader's span when its margin >= t), `rules` (the rules alone),
`rules+reader` (the rules' answer when they answer and the reader's margin is at least the
check `c`, else the reader's when margin >= t), and `reader+veto` / `rules+reader+veto`,
where the reader may not answer a question that names a figure or a person the article
never mentions (`ExtractiveAnswerer.unsupported`). The check is not searched: it is read
off the reader (`derived_check`, the margin all but `--budget` of the answerable dev
questions clear), so a new reader needs no re-fitting to the rules; the two-parameter
lattice it replaced is printed for comparison, and so is each budget from 0.01 to 0.10.
F1 in the combined policies scores the reader's span where it leads a rules' answer with no
short answer of its own (`ReaderAnswerer.refine`).
A set's score is the mean of answer-contains-gold (counted only where the quotes hold at
most 60 syllables, `evaluate.testset.short_enough`) on answerable questions and abstention
on unanswerable ones (contains alone where a set has none); the objective is the mean over
sets. The choice is made among the veto-keeping policies (answers about people or figures
the article never names are the failure users notice most; the others are printed for
comparison); ties (and, with `--tolerance`, settings that close to the best) go to the one
that abstains most on the dev sets' unanswerable questions: the product promises to say
when the article does not say. Everything is chosen on `dev`, less the half of the
article's dev questions the reader trained on (`train_reader.article_half`); `heldout` is
printed beside it and never used to choose. Each rule is then measured by taking it out
(`by_kind`: the reader answers the kind of question that rule answers). Output: tables and
`artifacts/answer_policy/choice.json`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

OUT = Path("artifacts/answer_policy")
GRID = [x / 2 for x in range(-6, 31)]
# The reader's check on the rules: their answer stands only when the reader's margin is at
# least `c`. It is not searched (`derived_check`): the reader may refuse on its own no more
# than BUDGET of the answerable dev questions, a conventional 5 % that leaves room under the
# issue's 0.08 bar on false refusals for the threshold's own. CHECKS is the lattice it
# replaced, printed for comparison.
BUDGET = 0.05
CHECKS = [float("-inf")] + [float(c) for c in range(-14, 3)]
# The reader may not answer a question that names a figure or a person the article never
# mentions (`ExtractiveAnswerer.unsupported`): such answers are the failure users notice
# most. The policies that ignore this are still printed, for comparison.
CHOSEN_FROM = ("reader+veto", "rules", "rules+reader+veto")
POLICIES = ("reader", "reader+veto", "rules", "rules+reader", "rules+reader+veto")


def record(out: Path, limit: int = 0) -> None:
    import assistant.answer.reading as reading
    from assistant import Assistant
    from assistant.answer.quote import QUOTE_SYLLABLES
    from assistant.answer.reader import Reader
    from assistant.evaluate.squad import bundled_sets, load_squad
    from assistant.evaluate.squad_eval import _assistant
    from assistant.evaluate.testset import contains_gold, f1_score, load_testset, short_enough
    from assistant.paths import bundled_testset
    from assistant.search.resolve import resolve_embedder

    reading.READER_THRESHOLD = float("-inf")  # keep every best span: `choose` applies thresholds
    embedder, reader = resolve_embedder(), Reader()
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / "rows.jsonl"

    def both(bot: Any, question: str) -> dict[str, Any]:
        rules = bot.ask(question, answerer="extractive")
        read = bot.ask(question, answerer="reader")
        quoted = " ".join(c.text for c in read.citations)
        return {"rules_answered": rules.answered, "rules_text": rules.text, "rules_short": rules.short_answer or "",
                "rules_support": rules.confidence, "rules_quote": " ".join(c.text for c in rules.citations),
                "reader_answered": read.answered, "reader_text": read.text, "reader_short": read.short_answer or "",
                "reader_quote": quoted, "margin": read.confidence, "reader_meta": read.answerer != "reader"}

    done_ids = set()  # an interrupted run resumes where it stopped
    if rows_path.exists():
        done_ids = {(r["set"], r["id"]) for r in map(json.loads, rows_path.read_text(encoding="utf-8").splitlines())}
    with rows_path.open("a", encoding="utf-8") as fh:
        def write(row: dict[str, Any]) -> None:
            golds = row["gold"]
            if row["answerable"]:
                for who in ("rules", "reader"):  # a quote past 60 syllables does not count
                    fits = short_enough(row[f"{who}_quote"], golds, QUOTE_SYLLABLES)
                    row[f"{who}_contains"] = contains_gold(row[f"{who}_text"], golds) if fits else 0.0
                    row[f"{who}_f1"] = f1_score(row[f"{who}_short"] or row[f"{who}_text"], golds)
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()

        bot = Assistant.load(announce=lambda _m: None)
        bot.reader = reader
        for case in load_testset(bundled_testset())[: limit or None]:
            if ("article", case.id) in done_ids:
                continue
            write({"set": "article", "split": case.split, "variant": case.variant, "type": case.type, "id": case.id,
                   "question": case.question, "answerable": case.answerable, "gold": list(case.answers),
                   **both(bot, case.question)})
        for name, path in bundled_sets().items():
            contexts = [c for c in load_squad(path, name) if c.split in ("dev", "heldout")]
            done = 0
            with tempfile.TemporaryDirectory(prefix="policy-") as tmp:
                for i, ctx in enumerate(contexts):
                    if limit and done >= limit:
                        break
                    todo = [q for q in ctx.questions if (name, q.id) not in done_ids]
                    if not todo:
                        continue
                    bot = _assistant([ctx], embedder, reader, Path(tmp) / f"c{i}")
                    for q in todo:
                        write({"set": name, "split": ctx.split, "variant": "vi", "type": "squad", "id": q.id,
                               "question": q.question, "answerable": q.answerable, "gold": list(q.answers),
                               **both(bot, q.question)})
                        done += 1
    print(f"wrote {rows_path}")


def add_vetoes(rows: list[dict[str, Any]]) -> None:
    """`veto`: why the rules say the article cannot answer the question (`unsupported`), or None;
    `kind`: what the question asks for (`question.analyse`: the rule that answers it);
    each QA-set row's split as `assistant/evaluate/squad.py` assigns it now; and the article's dev
    questions the reader trained on moved to split "train" (`train_reader.article_half`),
    so that nothing is chosen on them."""
    from assistant.answer.extractive import ExtractiveAnswerer
    from assistant.answer.question import analyse
    from assistant.answer.translate import to_vietnamese
    from assistant.evaluate.squad import bundled_sets, load_squad
    from assistant.evaluate.testset import load_testset
    from assistant.ingest.article import Article
    from assistant.paths import bundled_article, bundled_testset

    from .train_reader import article_half

    trained = {c.id for c in load_testset(bundled_testset(), split="dev") if article_half(c) == "train"}
    for row in rows:
        if row["set"] == "article" and row["id"] in trained:
            row["split"] = "train"

    owners: dict[tuple[str, str], str] = {}
    splits: dict[tuple[str, str], str] = {}  # today's splits (rows keep the one they were recorded with)
    for name, path in bundled_sets().items():
        for ctx in load_squad(path, name):
            owners.update({(name, q.id): ctx.context for q in ctx.questions})
            splits.update({(name, q.id): ctx.split for q in ctx.questions})
    answerers: dict[str, ExtractiveAnswerer] = {"article": ExtractiveAnswerer(Article.read(bundled_article()))}
    for row in rows:
        key = "article" if row["set"] == "article" else owners[(row["set"], row["id"])]
        row["split"] = splits.get((row["set"], row["id"]), row["split"])
        if key not in answerers:
            answerers[key] = ExtractiveAnswerer(Article.from_text(key))
        question = to_vietnamese(row["question"]) if analyse(row["question"]).english else row["question"]
        row["veto"] = answerers[key].unsupported(question)
        row["kind"] = analyse(question).kind


def decide(row: dict[str, Any], policy: str, t: float, c: float = float("-inf")) -> tuple[bool, str]:
    """(answered, who) under `policy` at reader threshold `t` and check `c` on the rules."""
    reader_says = row["reader_answered"] and (row["reader_meta"] or row["margin"] >= t)
    if policy == "rules":
        return row["rules_answered"], "rules"
    if policy == "reader":
        return reader_says, "reader"
    if policy == "reader+veto":
        return reader_says and (row["reader_meta"] or not row["veto"]), "reader"
    if row["rules_answered"]:
        return row["reader_meta"] or row["margin"] is None or row["margin"] >= c, "rules"
    if policy == "rules+reader+veto" and row["veto"]:
        return False, "rules"
    return reader_says, "reader"


def f1(row: dict[str, Any], who: str, policy: str) -> float:
    """The short answer's F1; in the combined policies the reader's span leads a rules' answer
    that has no short answer of its own when it lies inside the rules' quote (`refine`)."""
    refined = (who == "rules" and policy.startswith("rules+") and not row["rules_short"]
               and row["reader_short"] and row["reader_short"] in row["rules_text"])
    return row["reader_f1"] if refined else row[f"{who}_f1"]


def score(rows: list[dict[str, Any]], policy: str, t: float, c: float = float("-inf")) -> dict[str, float]:
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    res: dict[str, float] = {"n": len(rows)}
    if ans:
        got = [decide(r, policy, t, c) for r in ans]
        res["contains"] = sum(r[f"{w}_contains"] for r, (s, w) in zip(ans, got) if s) / len(ans)
        res["f1"] = sum(f1(r, w, policy) for r, (s, w) in zip(ans, got) if s) / len(ans)
        res["false_refusal"] = sum(not s for s, _ in got) / len(ans)
    if una:
        res["abstention"] = sum(not decide(r, policy, t, c)[0] for r in una) / len(una)
    res["objective"] = (res.get("contains", 0.0) + res["abstention"]) / 2 if una and ans else res.get("contains", 0.0)
    return res


def table(rows: list[dict[str, Any]], split: str, policy: str, t: float,
          c: float = float("-inf")) -> dict[str, dict[str, float]]:
    mine = [r for r in rows if r["split"] == split]
    names = sorted({r["set"] for r in mine})
    return {name: score([r for r in mine if r["set"] == name], policy, t, c) for name in names}


def objective(tab: dict[str, dict[str, float]]) -> float:
    return sum(s["objective"] for s in tab.values()) / max(len(tab), 1)


def derived_check(rows: list[dict[str, Any]], budget: float = BUDGET) -> float:
    """The reader's check on the rules, not searched but read off the reader: the margin that
    all but `budget` of the answerable dev questions clear (metadata questions, which the
    reader does not read, left out). Below it the reader is as sure the article does not say
    as it is wrong on no more than that share of questions that have an answer."""
    margins = sorted(r["margin"] for r in rows if r["split"] == "dev" and r["answerable"]
                     and not r["reader_meta"] and r["margin"] is not None)
    return margins[min(int(budget * len(margins)), len(margins) - 1)] if margins else float("-inf")


def by_kind(rows: list[dict[str, Any]], policy: str, t: float, c: float) -> dict[str, dict[str, dict[str, float]]]:
    """Each rule measured by taking it out: per split, set and question kind (the rule that
    answers it, `question.analyse`), the chosen policy as it is ("with") and with the reader
    answering that kind in the rules' place ("without", the reader with its veto). Questions
    about the article itself are left out: both paths answer them from its metadata lines,
    so taking the rules out cannot weigh that rule."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    weighable = [r for r in rows if not r["reader_meta"]]
    for split in ("dev", "heldout"):
        for key in sorted({(r["set"], r["kind"]) for r in weighable if r["split"] == split}):
            mine = [r for r in weighable if r["split"] == split and (r["set"], r["kind"]) == key]
            with_, without = score(mine, policy, t, c), score(mine, "reader+veto", t)
            out.setdefault(split, {})[f"{key[0]}/{key[1]}"] = {
                "n": len(mine), **{f"{k}_with": v for k, v in with_.items() if k in ("contains", "abstention")},
                **{f"{k}_without": v for k, v in without.items() if k in ("contains", "abstention")}}
    return out


def choose(out: Path, tolerance: float, budget: float = BUDGET) -> None:
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text(encoding="utf-8").splitlines() if line]
    add_vetoes(rows)
    check = derived_check(rows, budget)

    def abstains(pt: tuple[str, float, float]) -> float:
        tab = [s["abstention"] for s in table(rows, "dev", *pt).values() if "abstention" in s]
        return sum(tab) / max(len(tab), 1)

    def settings(c: float) -> list[tuple[str, float, float]]:
        return [(p, t, c if p.startswith("rules+") else float("-inf")) for p in CHOSEN_FROM
                for t in (GRID if p != "rules" else [0.0])]

    def dev_objective(pt: tuple[str, float, float]) -> float:
        return objective(table(rows, "dev", *pt))

    # one threshold: `t` is searched, the check is the reader's own (`derived_check`); within
    # `tolerance` of the best dev objective, the setting that abstains most (the product says
    # when the article does not say)
    top = max(map(dev_objective, settings(check)))
    best = max([pt for pt in settings(check) if dev_objective(pt) >= top - tolerance], key=abstains)
    for policy in POLICIES:
        print(f"\n{policy}" + (f" (the rules checked at margin {check:.2f})" if policy.startswith("rules+") else ""))
        for t in GRID if policy != "rules" else [0.0]:
            pt = (policy, t, check if policy.startswith("rules+") else float("-inf"))
            dev = table(rows, "dev", *pt)
            print(f"  t={t:5.1f} dev objective {objective(dev):.3f}  " + "  ".join(
                f"{n}: c={s.get('contains', 0):.2f} a={s.get('abstention', float('nan')):.2f} "
                f"fr={s.get('false_refusal', 0):.2f}" for n, s in dev.items()) + (" <- chosen" if pt == best else ""))
    print("\nthe check's budget (shares of answerable dev questions it may refuse) and the best dev objective:")
    for b in (0.01, 0.02, 0.03, 0.05, 0.1):
        print(f"  budget {b:.2f}: check {derived_check(rows, b):6.2f}, dev objective "
              f"{max(map(dev_objective, settings(derived_check(rows, b)))):.3f}")
    lattice = max(((best[0], t, c) for t in GRID for c in CHECKS), key=dev_objective)
    print(f"  for comparison, the two-parameter lattice's best (not chosen from): t={lattice[1]} c={lattice[2]} "
          f"dev objective {dev_objective(lattice):.3f}")
    kinds = by_kind(rows, *best)
    print("\neach rule taken out (the reader answers that kind; metadata questions, which both paths answer "
          "from the metadata lines, left out): contains / abstention, with -> without")
    for split, tab in kinds.items():
        for key, s in tab.items():
            print(f"  {split:8} {key:28} n={s['n']:3.0f} " + "  ".join(
                f"{m} {s[m + '_with']:.2f} -> {s[m + '_without']:.2f}" for m in ("contains", "abstention")
                if m + "_with" in s))
    result = {"policy": best[0], "threshold": best[1], "check": best[2], "budget": budget,
              "dev": table(rows, "dev", *best), "heldout": table(rows, "heldout", *best),
              "heldout_alternatives": {p: table(rows, "heldout", p, best[1]) for p in POLICIES},
              "rules_by_kind": kinds}
    (out / "choice.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"\nchosen on dev: {best[0]} at threshold {best[1]}, the rules checked at margin {best[2]:.2f}")
    for split in ("dev", "heldout"):
        for name, s in result[split].items():
            print(f"  {split:8} {name:16} " + " ".join(f"{k}={v:.3f}" for k, v in s.items() if k != "n"))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("record", "choose"))
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--tolerance", type=float, default=0.0,
                    help="settings this close to the best dev objective count as tied; the most abstaining wins")
    ap.add_argument("--budget", type=float, default=BUDGET,
                    help="the share of answerable dev questions the reader's check on the rules may refuse")
    ap.add_argument("--limit", type=int, default=0, help="questions per set (smoke runs)")
    args = ap.parse_args(argv)
    record(args.out, args.limit) if args.step == "record" else choose(args.out, args.tolerance, args.budget)


if __name__ == "__main__":
    main()

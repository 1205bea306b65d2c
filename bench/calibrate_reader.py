"""Choose the reader's no-answer threshold on the dev splits (never on held-out).

    python -m bench.calibrate_reader                  # dev splits of index/qa + the bundled dev split
    python -m bench.calibrate_reader --weights DIR    # another adapter (a training run's output)

Each question is asked through the whole pipeline (`Assistant.ask`, one index per
context, the reader answering), and the best span's margin is recorded. For every
threshold on a grid it reports, per set, SQuAD F1 / EM of the short answer, false
refusals and abstention, then picks the threshold that maximises the mean over sets of
(answerable F1 + abstention on unanswerable) / 2 (F1 alone where a set has no
unanswerable questions); the bundled article's dev split counts as one set. Output:
a table on screen and `artifacts/calibrate_reader.json`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.evaluation import exact_match, f1_score, load_testset
from assistant.paths import bundled_testset

GRID = [x / 2 for x in range(-8, 17)]


def ask_all(weights: Path | None, split: str, limit: int = 0) -> list[dict]:
    """(set, answerable, margin, short answer, golds) for every question of `split`."""
    from assistant.reader import Reader
    from assistant.squad_eval import squad_records

    import assistant.reading as reading

    reading.READER_THRESHOLD = float("-inf")  # every best span is answered: the grid decides
    reader = Reader(weights) if weights else Reader()
    rows = squad_records(split, reader=reader, limit=limit)
    from assistant import Assistant

    bot = Assistant.load(announce=lambda _m: None)
    bot.reader = reader
    for case in load_testset(bundled_testset(), split=split):
        answer = bot.ask(case.question, answerer="reader")
        rows.append({"set": "article", "answerable": case.answerable, "margin": answer.confidence,
                     "answered": answer.answered, "short": answer.short_answer or "", "gold": list(case.answers),
                     "text": answer.text})
    return rows


def score(rows: list[dict], threshold: float) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name in sorted({r["set"] for r in rows}):
        mine = [r for r in rows if r["set"] == name]
        ans = [r for r in mine if r["answerable"]]
        una = [r for r in mine if not r["answerable"]]

        def said(r: dict) -> bool:
            return r["answered"] and r["margin"] >= threshold

        res = {"n": len(mine)}
        if ans:
            res["f1"] = sum(f1_score(r["short"], r["gold"]) if said(r) else 0.0 for r in ans) / len(ans)
            res["em"] = sum(exact_match(r["short"], r["gold"]) if said(r) else 0.0 for r in ans) / len(ans)
            res["false_refusal"] = sum(not said(r) for r in ans) / len(ans)
        if una:
            res["abstention"] = sum(not said(r) for r in una) / len(una)
        res["objective"] = (res.get("f1", 0.0) + res["abstention"]) / 2 if una and ans else res.get("f1", 0.0)
        out[name] = res
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--limit", type=int, default=0, help="questions per set (quick looks)")
    ap.add_argument("--out", type=Path, default=Path("artifacts/calibrate_reader.json"))
    args = ap.parse_args(argv)
    rows = ask_all(args.weights, "dev", args.limit)
    table = {t: score(rows, t) for t in GRID}
    best = max(GRID, key=lambda t: sum(s["objective"] for s in table[t].values()) / len(table[t]))
    for t in GRID:
        mark = " <- chosen" if t == best else ""
        cells = "  ".join(f"{n}: " + " ".join(f"{k}={v:.3f}" for k, v in s.items() if k != "n")
                          for n, s in table[t].items())
        print(f"{t:5.1f}  {cells}{mark}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"chosen": best, "table": {str(t): v for t, v in table.items()}}, indent=1))
    print(f"chosen threshold {best} (README, Abstention); set READER_THRESHOLD in assistant/reading.py")


if __name__ == "__main__":
    main()

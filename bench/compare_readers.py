"""Span readers side by side on the QA sets' dev split: which training recipe to keep.

    python -m bench.train_reader --qa-only --epochs 2 --out /tmp/lora                       # LoRA everywhere
    python -m bench.train_reader --qa-only --epochs 2 --full-top 3 --lr 2e-4 --out /tmp/top3  # top 3 whole
    python -m bench.compare_readers /tmp/lora /tmp/top3 assistant/answer/reader_weights     # 40 s each

Each weights directory (as `bench/train_reader.py` writes it; the shipped one is
`assistant/answer/reader_weights`) answers every `dev` question of the sets in `index/qa/`
through the whole pipeline (one index per context, as `assistant eval --squad`) with the
reader alone, its threshold removed so every best span and its margin is kept. A new
reader's margins sit elsewhere than the shipped one's, so each is scored two ways: its
spans alone (F1 / EM of the best span on answerable questions, no refusals: what training
changes) and at its own best threshold on a grid (mean over sets of answerable F1, refusals
scoring 0, and news abstention), as `bench/answer_policy.py` would choose it. Dev only:
this chooses a recipe, so the held-out split stays unseen until the chosen one ships.
Output: a table and artifacts/bench/compare_readers.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.common import ROOT, machine

GRID = [x / 2 for x in range(-12, 21)]


def measure(weights: Path, limit: int = 0) -> dict[str, Any]:
    import assistant.answer.reading as reading
    from assistant.answer.reader import Reader, check_weights
    from assistant.evaluate.squad_eval import squad_records

    manifest = check_weights(weights)
    shipped, reading.READER_THRESHOLD = reading.READER_THRESHOLD, float("-inf")
    try:
        records = squad_records("dev", reader=Reader(weights), answerer="reader", limit=limit)
    finally:
        reading.READER_THRESHOLD = shipped
    sets = sorted({r["set"] for r in records})
    spans = {name: {m: _mean(r[m] for r in records if r["set"] == name and r["answerable"]) for m in ("f1", "em")}
             for name in sets}
    best: dict[str, Any] = {}
    for t in GRID:
        per_set = {}
        for name in sets:
            ans = [r for r in records if r["set"] == name and r["answerable"]]
            una = [r for r in records if r["set"] == name and not r["answerable"]]
            row = {"f1": _mean(r["f1"] if r["margin"] >= t else 0.0 for r in ans),
                   "false_refusal": _mean(float(r["margin"] < t) for r in ans)}
            if una:
                row["abstention"] = _mean(float(r["margin"] < t) for r in una)
            per_set[name] = row
        score = _mean(v for row in per_set.values() for k, v in row.items() if k in ("f1", "abstention"))
        if not best or score > best["objective"]:
            best = {"threshold": t, "objective": score, "sets": per_set}
    return {"manifest": {k: v for k, v in manifest.items() if k != "files"}, "spans": spans, "best": best}


def _mean(values: Any) -> float:
    vals = list(values)
    return round(sum(vals) / len(vals), 4) if vals else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("weights", nargs="+", type=Path, help="weights directories to compare")
    ap.add_argument("--limit", type=int, default=0, help="about this many questions per set (smoke runs)")
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench" / "compare_readers.json")
    args = ap.parse_args()
    result = {"machine": machine(), "readers": {str(w): measure(w, args.limit) for w in args.weights}}
    for name, got in result["readers"].items():
        best = got["best"]
        print(name, got["manifest"].get("command", ""), f"lr {got['manifest'].get('lr')}",
              f"loss {got['manifest'].get('train_loss')}")
        for key, metrics in got["spans"].items():
            print(f"  best span  {key:16} F1 {metrics['f1']:.3f}  EM {metrics['em']:.3f}")
        print(f"  at its best threshold {best['threshold']}: objective {best['objective']:.3f}")
        for key, metrics in best["sets"].items():
            print(f"    {key:16}", "  ".join(f"{m} {v:.3f}" for m, v in metrics.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""How the reader's best span is chosen: n-best re-ranking with a length prior, and whole words.

    .venv/bin/python -m bench.span_decoding           # the QA sets' dev + held-out questions (about 4 min)

The reader (`assistant/answer/reader.py`) scores every span (start + end logit) of every
window; today the best score wins. Here each answerable question of the `dev` and `heldout`
splits of the sets in `index/qa/` is read once over its whole context, its 20 best spans
kept, and the choice among them is redone offline:

- `score - lam * syllables`: a length prior (the gold answers of these sets are short
  spans; the reader's misses run long: "Ngô Quyền xưng" for "Ngô Quyền");
- `words`: the span grown to whole words (a span that ends inside a word is cut mid-syllable
  by the tokenizer's pieces).

The prior is chosen on `dev` (mean F1 over the three sets) and reported on `heldout`, which
never chooses. EM and F1 are SQuAD's over syllables (`assistant/evaluate/testset.py`).
Results: artifacts/bench/span_decoding.json.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from .common import ROOT

LAMBDAS = [x / 20 for x in range(0, 21)]  # 0 .. 1.0 per syllable
TOP = 20
_WORD = re.compile(r"\w+")


def collect(limit: int = 0) -> list[dict[str, Any]]:
    """Per answerable question: its set, split, gold answers and the reader's 20 best spans."""
    from assistant.answer.evidence import trim_span
    from assistant.answer.reader import Reader
    from assistant.evaluate.squad import bundled_sets, load_squad

    reader = Reader()
    rows = []
    for name, path in bundled_sets().items():
        done = 0
        for ctx in load_squad(path, name):
            if ctx.split not in ("dev", "heldout"):
                continue
            for q in ctx.questions:
                if not q.answerable or (limit and done >= limit):
                    continue
                spans = []
                for s in reader.read(q.question, [ctx.context], top=TOP):
                    a, b = trim_span(ctx.context, s.start, s.end)
                    if b > a:
                        spans.append({"start": a, "end": b, "score": s.score})
                rows.append({"set": name, "split": ctx.split, "gold": list(q.answers), "context": ctx.context,
                             "spans": spans})
                done += 1
        print(f"{name}: {done} questions read", flush=True)
    return rows


def whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) grown to the word boundaries around it."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end


def pick(row: dict[str, Any], lam: float, words: bool) -> str:
    if not row["spans"]:
        return ""
    text = row["context"]
    best = max(row["spans"], key=lambda s: s["score"] - lam * len(_WORD.findall(text[s["start"] : s["end"]])))
    a, b = (whole_words(text, best["start"], best["end"]) if words else (best["start"], best["end"]))
    return text[a:b]


def scores(rows: list[dict[str, Any]], lam: float, words: bool) -> dict[str, dict[str, float]]:
    from assistant.evaluate.testset import exact_match, f1_score

    out: dict[str, dict[str, float]] = {}
    for split in ("dev", "heldout"):
        for name in sorted({r["set"] for r in rows}):
            mine = [r for r in rows if r["split"] == split and r["set"] == name]
            if not mine:
                continue
            picks = [(pick(r, lam, words), r["gold"]) for r in mine]
            out[f"{split}/{name}"] = {"n": len(mine),
                                      "em": round(sum(exact_match(p, g) for p, g in picks) / len(mine), 3),
                                      "f1": round(sum(f1_score(p, g) for p, g in picks) / len(mine), 3)}
    return out


def mean_f1(tab: dict[str, dict[str, float]], split: str) -> float:
    vals = [v["f1"] for k, v in tab.items() if k.startswith(split + "/")]
    return sum(vals) / max(len(vals), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="questions per set (smoke runs)")
    ap.add_argument("--rows", type=Path, help="reuse the spans of an earlier run (its rows.json)")
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench" / "span_decoding.json")
    args = ap.parse_args()
    rows = json.loads(args.rows.read_text(encoding="utf-8")) if args.rows else collect(args.limit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_name("span_decoding_rows.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    grid = {(lam, words): scores(rows, lam, words) for lam in LAMBDAS for words in (False, True)}
    best = max(grid, key=lambda k: (round(mean_f1(grid[k], "dev"), 4), -k[0]))
    base = grid[(0.0, False)]
    print(f"{'setting':28} {'dev F1':>8} {'held-out F1':>12}")
    for (lam, words), tab in sorted(grid.items()):
        mark = "  <- chosen on dev" if (lam, words) == best else ""
        print(f"lam={lam:4.2f} words={words!s:5} {mean_f1(tab, 'dev'):8.3f} {mean_f1(tab, 'heldout'):12.3f}{mark}")
    for key in base:
        print(f"  {key:24} today EM {base[key]['em']:.3f} F1 {base[key]['f1']:.3f}   "
              f"chosen EM {grid[best][key]['em']:.3f} F1 {grid[best][key]['f1']:.3f}")
    result = {"chosen": {"length_prior": best[0], "whole_words": best[1]}, "today": base, "with_choice": grid[best]}
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

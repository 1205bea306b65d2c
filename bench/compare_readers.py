"""Span readers side by side on the QA sets' dev split: which training recipe to keep.

    python -m bench.train_reader --qa-only --epochs 2 --out /tmp/lora            # LoRA everywhere
    python -m bench.train_reader --qa-only --epochs 2 --full-top 3 --out /tmp/top3  # top 3 layers whole
    python -m bench.compare_readers /tmp/lora /tmp/top3                           # about 3 min each

Each weights directory (as `bench/train_reader.py` writes it; the shipped one is
`assistant/answer/reader_weights`) answers every `dev` question of the sets in `index/qa/`
through the whole pipeline (one index per context, as `assistant eval --squad`) with the
reader alone at the shipped threshold, and with `auto`. Dev only: this chooses a recipe,
so the held-out split stays unseen until the chosen one ships. Output: a table and
artifacts/bench/compare_readers.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.common import ROOT, machine

METRICS = ("f1", "em", "contains", "false_refusal", "abstention")


def measure(weights: Path, answerers: tuple[str, ...], limit: int = 0) -> dict[str, Any]:
    from assistant.answer.reader import Reader, check_weights
    from assistant.evaluate.squad_eval import squad_records, summarize

    reader = Reader(weights)
    manifest = check_weights(weights)
    out: dict[str, Any] = {"manifest": {k: v for k, v in manifest.items() if k != "files"}}
    for answerer in answerers:
        records = squad_records("dev", reader=reader, answerer=answerer, limit=limit)
        out[answerer] = {key: {m: v["mean"] for m, v in metrics.items() if m in METRICS}
                         for key, metrics in summarize(records).items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("weights", nargs="+", type=Path, help="weights directories to compare")
    ap.add_argument("--answerers", default="reader,auto")
    ap.add_argument("--limit", type=int, default=0, help="about this many questions per set (smoke runs)")
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench" / "compare_readers.json")
    args = ap.parse_args()
    answerers = tuple(a.strip() for a in args.answerers.split(",") if a.strip())
    result = {"machine": machine(), "readers": {str(w): measure(w, answerers, args.limit) for w in args.weights}}
    for name, got in result["readers"].items():
        print(name, json.dumps(got["manifest"].get("command", "")), f"loss {got['manifest'].get('train_loss')}")
        for answerer in answerers:
            for key, metrics in got[answerer].items():
                print(f"  {answerer:7} {key:24}", "  ".join(f"{m} {v:.3f}" for m, v in metrics.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

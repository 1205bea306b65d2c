"""Choose the abstention thresholds from the DEV split and show the trade-off.

Run: .venv/bin/python bench/calibrate_abstention.py [--out artifacts/abstention.json]

For every question (Vietnamese, with and without diacritics; meta questions are answered
from metadata and left out) it records the answerer's signals once, then sweeps the
thresholds: abstention accuracy on unanswerable questions against the false-refusal rate
on answerable ones. Among the settings that abstain on at least 90 % of the unanswerable
questions, the chosen one has the lowest balanced error (false-refusal rate plus missed
abstentions), then the most correct answers, then the lowest thresholds. Refusing is cheap to tune for and costly to
generalise: thresholds set higher than the target needs refused many paraphrased
questions on unseen data. The held-out split is only scored with the chosen setting.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from assistant import Assistant
from assistant.answer.extractive import AbstentionConfig, decide
from assistant.answer.question import analyse
from assistant.evaluate.testset import is_vietnamese, load_testset
from assistant.paths import bundled_testset


def collect(bot: Assistant, split: str) -> list[dict]:
    answerer = bot.answerer(0)
    rows = []
    for case in load_testset(bundled_testset(), split):
        q = analyse(case.question)
        if not is_vietnamese(case) or q.is_meta:
            continue
        best = answerer.best_candidate(q, bot.retrieve(case.question, k=4))
        if best is None:
            continue
        feats = answerer.features(q, best)
        answer = bot.ask(case.question)
        text = " ".join(c.text for c in answer.citations) + " " + (answer.short_answer or "")
        correct_if_answered = any(g in text for g in case.answers)
        rows.append(
            {
                "id": case.id,
                "answerable": case.answerable,
                "features": feats,
                "correct_if_answered": correct_if_answered,
            }
        )
    return rows


def rates(rows: list[dict], config: AbstentionConfig) -> dict[str, float]:
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    said = {r["id"]: decide(r["features"], config) for r in rows}
    return {
        "abstention": sum(not said[r["id"]] for r in una) / max(1, len(una)),
        "false_refusal": sum(not said[r["id"]] for r in ans) / max(1, len(ans)),
        "correct": sum(said[r["id"]] and r["correct_if_answered"] for r in ans) / max(1, len(ans)),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="artifacts/abstention.json")
    args = ap.parse_args()
    bot = Assistant.load(announce=lambda m: None)
    dev = collect(bot, "dev")
    grid = [
        AbstentionConfig(s / 100, f / 100, m / 100)
        for s, f, m in itertools.product(range(30, 81, 5), range(30, 71, 2), (15, 20, 25, 30, 40, 50))
    ]
    table = [(c, rates(dev, c)) for c in grid]
    feasible = [(c, r) for c, r in table if r["abstention"] >= 0.90] or table
    chosen = min(
        feasible,
        key=lambda cr: (
            round(cr[1]["false_refusal"] + 1 - cr[1]["abstention"], 6),
            -cr[1]["correct"],
            cr[0].min_support,
            cr[0].min_support_figure,
            -cr[0].max_missing,
        ),
    )[0]
    print(f"dev: {sum(r['answerable'] for r in dev)} answerable, {sum(not r['answerable'] for r in dev)} unanswerable")
    print("trade-off on dev (min_support sweep at the chosen figure/missing bars):")
    print(" min_support  abstention  false_refusal  correct")
    for s in range(30, 81, 5):
        r = rates(dev, AbstentionConfig(s / 100, chosen.min_support_figure, chosen.max_missing))
        print(
            f"    {s / 100:.2f}       {r['abstention']:.3f}        {r['false_refusal']:.3f}        {r['correct']:.3f}"
        )
    print("chosen:", chosen, rates(dev, chosen))
    held = collect(bot, "heldout")
    print("held-out with the chosen setting:", rates(held, chosen))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps({"chosen": chosen.__dict__, "dev": rates(dev, chosen), "heldout": rates(held, chosen)}, indent=2)
    )


if __name__ == "__main__":
    main()

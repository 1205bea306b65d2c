"""Where a warm `ask` spends its time: cProfile over the test set's questions.

Run: .venv/bin/python -m bench.profile_ask [--rounds 5] [--top 25]

Every round clears the question-analysis cache, so each `ask` analyses its question as a
new one would be (the same rule as the warm-latency benchmark). Prints the mean `ask`
and `retrieve` time, then the functions with the most time of their own.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench.profile_ask", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--top", type=int, default=25, help="how many functions to list")
    args = ap.parse_args(argv)

    from assistant import Assistant
    from assistant.answer.question import analyse
    from assistant.evaluate.testset import load_testset
    from assistant.paths import bundled_testset

    bot = Assistant.load(model="offline", announce=lambda _m: None)
    questions = [c.question for c in load_testset(bundled_testset())]
    for q in questions:  # first use: lazy imports, the answerer, the embedder's word cache
        bot.ask(q)

    def rounds(call: str) -> float:
        start = time.perf_counter()
        for _ in range(args.rounds):
            analyse.cache_clear()
            for q in questions:
                getattr(bot, call)(q)
        return (time.perf_counter() - start) / (args.rounds * len(questions)) * 1000

    print(f"ask mean {rounds('ask'):.3f} ms, retrieve mean {rounds('retrieve'):.3f} ms "
          f"({len(questions)} questions x {args.rounds} rounds)")
    profile = cProfile.Profile()
    profile.runcall(rounds, "ask")
    pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

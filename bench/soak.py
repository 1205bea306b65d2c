"""Soak test: thousands of questions in one process, watching its resident memory.

Loads the bundled article's index with the offline embedder and asks `--questions`
questions (the bundled test set, cycled), sampling the process's resident set size
(VmRSS in /proc/self/status) before the first question and every `--every` questions.
Growth is measured from the sample taken after `--warmup` questions (first-use caches,
allocator pools and lazily imported modules fill up during warm-up) to the last sample,
and reported next to the start/end/max figures. Results go to `<out>/results.json`.

`--hostile` asks, in every question, a few words never seen before (random syllables),
the case where caches keyed by query words could grow without bound.

Run:  .venv/bin/python bench/soak.py                               # 5,000 questions
      .venv/bin/python bench/soak.py --questions 1000 --every 100 --out /tmp/soak
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_OUT = ROOT / "artifacts" / "soak"
_SYLLABLES = ("ba", "bi", "co", "du", "ga", "hi", "kh", "lo", "mu", "ng", "ph", "qu", "ro", "su", "th", "tr", "va")


def rss_kb() -> int:
    """This process's resident set size in KiB (Linux)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def testset_questions() -> list[str]:
    from assistant.paths import bundled_testset

    lines = bundled_testset().read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def _nonce(rng: random.Random) -> str:
    """Three words that are (almost surely) new: random syllable strings."""
    return " ".join("".join(rng.choice(_SYLLABLES) for _ in range(4)) for _ in range(3))


def run(bot: Any, questions: int = 5000, every: int = 500, warmup: int = 500, hostile: bool = False,
        seed: int = 0) -> dict[str, Any]:
    """Ask `questions` questions on `bot`; RSS samples and the growth after `warmup`."""
    pool = testset_questions()
    rng = random.Random(seed)
    gc.collect()
    samples = [{"asked": 0, "rss_kb": rss_kb()}]
    answered = 0
    started = time.perf_counter()
    for i in range(1, questions + 1):
        question = pool[(i - 1) % len(pool)]
        if hostile:
            question = f"{question} {_nonce(rng)}"
        answered += bot.ask(question).answered
        if i % every == 0 or i in (questions, warmup):
            gc.collect()
            samples.append({"asked": i, "rss_kb": rss_kb()})
    wall = time.perf_counter() - started
    values = [s["rss_kb"] for s in samples]
    base = next((s["rss_kb"] for s in samples if s["asked"] >= warmup), values[0])
    return {
        "questions": questions, "every": every, "warmup": warmup, "hostile": hostile,
        "rss_mb": {"start": round(values[0] / 1024, 1), "after_warmup": round(base / 1024, 1),
                   "end": round(values[-1] / 1024, 1), "max": round(max(values) / 1024, 1)},
        "growth_after_warmup_mb": round((values[-1] - base) / 1024, 2),
        "growth_total_mb": round((values[-1] - values[0]) / 1024, 2),
        "samples": samples, "answered": answered, "wall_s": round(wall, 2),
        "ms_per_question": round(wall * 1000 / max(1, questions), 3),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=5000)
    parser.add_argument("--every", type=int, default=500, help="sample RSS every this many questions")
    parser.add_argument("--warmup", type=int, default=500, help="growth is measured from this sample on")
    parser.add_argument("--hostile", action="store_true", help="add never-seen words to every question")
    parser.add_argument("--bound-mb", type=float, default=20.0, help="exit 1 when growth after warm-up exceeds it")
    parser.add_argument("--index-dir", default=None, help="default: the bundled article's index")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)
    from assistant import Assistant

    bot = Assistant.load(args.index_dir, "offline", announce=lambda m: print(m, file=sys.stderr))
    results = run(bot, args.questions, args.every, args.warmup, args.hostile)
    results["bound_mb"] = args.bound_mb
    results["command"] = "bench/soak.py " + " ".join(argv if argv is not None else sys.argv[1:])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in results.items() if k != "samples"}, ensure_ascii=False, indent=2))
    print(f"Wrote {out / 'results.json'}")
    return 0 if results["growth_after_warmup_mb"] <= args.bound_mb else 1


if __name__ == "__main__":
    sys.exit(main())

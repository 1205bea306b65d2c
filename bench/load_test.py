"""Load test of the web chat's `/ask` endpoint: many users at once, over loopback.

It launches the app (`ui.app.launch`, `prevent_thread_lock=True`) on 127.0.0.1 and a free
port around one `Assistant` (offline embedder), then:

1. one user asks every distinct question once, one after the other: the reference answers;
2. N users, each with its own `gradio_client.Client` in its own thread, start together
   and ask Q questions each (user u asks test-set questions u*Q ... u*Q+Q-1, cycling);
3. every answer is compared with the reference answer to the same question (answer text,
   `answered` and citations: n, chunk id, offsets, text).

Any exception is an error (Gradio's "queue is full", a timeout, an AppError). The whole run
is bounded by `--timeout`: requests still pending then are cancelled and counted as errors,
so it always stops by itself. Clients run in the server's process (threads), so latency
includes the client's own work. Results go to `<out>/results.json`.

Run:  .venv/bin/python bench/load_test.py                          # 50 users x 20 questions
      .venv/bin/python bench/load_test.py --users 8 --questions 5 --out /tmp/load
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

DEFAULT_OUT = ROOT / "artifacts" / "load"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def testset_questions() -> list[str]:
    """The bundled test set's questions, in file order."""
    from assistant.paths import bundled_testset

    lines = bundled_testset().read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def answer_key(result: dict[str, Any]) -> tuple[Any, ...]:
    """What must not change between users: the answer text, `answered` and the citations."""
    cites = tuple((c["n"], c["chunk_id"], c["start"], c["end"], c["text"]) for c in result["citations"])
    return result["answer"], result["answered"], cites


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def _user(url: str, plan: list[str], start: threading.Barrier, deadline: float) -> list[dict[str, Any]]:
    """One user: its own client, its questions in order; one record per question."""
    try:
        client = _client(url)
    except Exception as err:  # a user who cannot connect: all its questions fail
        start.abort()
        return [{"question": q, "error": f"{type(err).__name__}: {str(err)[:200]}"} for q in plan]
    records: list[dict[str, Any]] = []
    try:
        try:
            start.wait(timeout=max(1.0, deadline - time.monotonic()))
        except threading.BrokenBarrierError:
            pass  # another user could not connect: start anyway
        for question in plan:
            left = deadline - time.monotonic()
            if left <= 0:
                records.append({"question": question, "error": "TimeoutError: overall deadline reached"})
                continue
            t0 = time.perf_counter()
            job = client.submit(question, api_name="/ask")
            try:
                result = job.result(timeout=left)
                records.append({"question": question, "ms": (time.perf_counter() - t0) * 1000,
                                "key": answer_key(result)})
            except Exception as err:  # every failure is a counted error
                job.cancel()
                records.append({"question": question, "ms": (time.perf_counter() - t0) * 1000,
                                "error": f"{type(err).__name__}: {str(err)[:200]}"})
    finally:
        client.close()
    return records


def run(bot: Any, users: int = 50, questions: int = 20, timeout: float = 600.0,
        queue_size: int | None = None, concurrency: int | None = None) -> dict[str, Any]:
    """Serve `bot`, run the load, stop the server; returns the results (see the module doc)."""
    from ui import app as ui_app

    pool = testset_questions()
    plans = [[pool[(u * questions + j) % len(pool)] for j in range(questions)] for u in range(users)]
    options = {"queue_size": queue_size or ui_app.QUEUE_SIZE, "concurrency": concurrency or ui_app.CONCURRENCY}
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        demo = ui_app.launch(bot, port=port, prevent_thread_lock=True, quiet=True,
                             feedback_path=Path(tmp) / "feedback.jsonl", **options)
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + timeout
            reference_client = _client(url)
            distinct = list(dict.fromkeys(q for plan in plans for q in plan))
            t0 = time.perf_counter()
            reference = {q: answer_key(reference_client.predict(q, api_name="/ask")) for q in distinct}
            single_ms = (time.perf_counter() - t0) * 1000 / max(1, len(distinct))
            reference_client.close()
            barrier = threading.Barrier(users)
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=users) as ex:
                futures = [ex.submit(_user, url, plan, barrier, deadline) for plan in plans]
                records = [r for f in futures for r in f.result(timeout=max(1.0, deadline - time.monotonic()) + 30)]
            wall = time.perf_counter() - started
        finally:
            demo.close()
    return summarise(records, reference, wall, single_ms, users, questions, timeout, options)


def summarise(records: list[dict[str, Any]], reference: dict[str, tuple[Any, ...]], wall: float,
              single_ms: float, users: int, questions: int, timeout: float, options: dict[str, int]) -> dict[str, Any]:
    errors = [r for r in records if "error" in r]
    done = [r for r in records if "key" in r]
    mismatches = [r["question"] for r in done if r["key"] != reference[r["question"]]]
    latencies = [r["ms"] for r in done]
    return {
        "users": users, "questions_per_user": questions, "requests": len(records), "timeout_s": timeout,
        "queue_size": options["queue_size"], "concurrency": options["concurrency"],
        "errors": len(errors), "error_examples": sorted({r["error"] for r in errors})[:5],
        "mismatches": len(mismatches), "mismatch_examples": mismatches[:5],
        "latency_ms": {"p50": round(percentile(latencies, 50), 1), "p95": round(percentile(latencies, 95), 1),
                       "max": round(max(latencies), 1)} if latencies else None,
        "single_user_ms_mean": round(single_ms, 1),
        "wall_s": round(wall, 2), "throughput_rps": round(len(done) / wall, 1) if wall > 0 else None,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--questions", type=int, default=20, help="questions per user")
    parser.add_argument("--timeout", type=float, default=600.0, help="bound on the whole run, seconds")
    parser.add_argument("--queue-size", type=int, default=None, help="default: the app's (ui.app.QUEUE_SIZE)")
    parser.add_argument("--concurrency", type=int, default=None, help="default: the app's (ui.app.CONCURRENCY)")
    parser.add_argument("--index-dir", default=None, help="default: the bundled article's index")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)
    from assistant import Assistant

    bot = Assistant.load(args.index_dir, "offline", announce=lambda m: print(m, file=sys.stderr))
    results = run(bot, args.users, args.questions, args.timeout, args.queue_size, args.concurrency)
    results["command"] = "bench/load_test.py " + " ".join(argv if argv is not None else sys.argv[1:])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False, indent=2))
    print(f"Wrote {out / 'results.json'}")
    return 0 if results["errors"] == 0 and results["mismatches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""Ray Serve answer replicas under load: throughput and latency at 1, 2 and 4 replicas, and a
replica killed mid-load.

For each replica count it starts `assistant serve`'s app (`assistant.serve.command.start`)
on a local Ray (dashboard and usage statistics off, loopback), warms every replica, then
16 clients (threads, one `httpx.Client` each) send `--requests` POST /ask between them,
cycling through the bundled test set's questions (answerable and not). Recorded: requests
per second over the run, p50/p95 latency as the client sees it, errors, which replicas
answered, and each replica's resident memory (from its pid, `/healthz`).

The fault run (2 replicas): after a quarter of the requests, one replica's process is killed
with SIGKILL. Each client retries a failed request (connection error or 5xx) up to
`--retries` times with a growing pause; the run counts requests that failed at least once,
requests lost after the retry budget, and the seconds until a new replica (started by
Serve in the dead one's place) answers `/healthz`. Results: `<out>/serve_load.json` and a Markdown table on stdout.

Run:  .venv/bin/python -m bench.serve_load                      # bundled model, 1/2/4 replicas + fault
      .venv/bin/python -m bench.serve_load --replicas 1 2 --requests 80 --model offline --out /tmp/sl
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from .common import ROOT, machine, stats

CLIENTS = 16


def questions() -> list[str]:
    with open(ROOT / "index" / "testset.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["question"] for line in fh if line.strip()]


def rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmRSS"))
    except (OSError, StopIteration):
        return None


def replica_pids(url: str, want: int, tries: int = 200) -> dict[str, int]:
    """replica id -> pid, from /healthz until `want` replicas have answered (Serve routes at random)."""
    seen: dict[str, int] = {}
    with httpx.Client(timeout=30) as client:
        for _ in range(tries):
            health = client.get(url + "/healthz").json()
            seen[health["replica"]] = health["pid"]
            if len(seen) >= want:
                break
    return seen


class Load:
    """`total` requests from CLIENTS threads; `on_progress(done)` is called after each one."""

    def __init__(self, url: str, total: int, retries: int, on_progress: Any = None):
        self.url, self.total, self.retries, self.on_progress = url, total, retries, on_progress
        self.qs = questions()
        self.lock = threading.Lock()
        self.next = 0
        self.done = 0
        self.records: list[dict[str, Any]] = []

    def _take(self) -> int | None:
        with self.lock:
            if self.next >= self.total:
                return None
            self.next += 1
            return self.next - 1

    def _client(self) -> None:
        with httpx.Client(timeout=120) as client:
            while (i := self._take()) is not None:
                body = {"question": self.qs[i % len(self.qs)]}
                start = time.perf_counter()
                failures: list[str] = []
                reply: dict[str, Any] | None = None
                for attempt in range(self.retries + 1):
                    try:
                        response = client.post(self.url + "/ask", json=body)
                        if response.status_code < 500:
                            reply = {"status": response.status_code, **response.json()}
                            break
                        failures.append(f"HTTP {response.status_code}")
                    except httpx.HTTPError as err:
                        failures.append(type(err).__name__)
                    time.sleep(0.5 * 2 ** attempt)
                record = {"i": i, "ms": (time.perf_counter() - start) * 1000, "failures": failures,
                          "status": reply["status"] if reply else None,
                          "replica": reply.get("replica") if reply else None}
                with self.lock:
                    self.records.append(record)
                    self.done += 1
                    done = self.done
                if self.on_progress:
                    self.on_progress(done)

    def run(self) -> dict[str, Any]:
        start = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            for future in [pool.submit(self._client) for _ in range(CLIENTS)]:
                future.result()
        wall = time.perf_counter() - start
        ok = [r for r in self.records if r["status"] == 200]
        return {"requests": self.total, "clients": CLIENTS, "wall_s": round(wall, 2),
                "throughput_rps": round(len(ok) / wall, 2), "latency_ms": stats([r["ms"] for r in ok], 1),
                "ok": len(ok), "failed_once": sum(1 for r in self.records if r["failures"]),
                "lost": sum(1 for r in self.records if r["status"] != 200),
                "failure_kinds": sorted({f for r in self.records for f in r["failures"]}),
                "replicas_used": len({r["replica"] for r in ok})}


def run_config(config: dict[str, Any], replicas: int, requests: int, retries: int, kill: bool) -> dict[str, Any]:
    from assistant.serve.command import free_port, start, stop

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    start(config, replicas=replicas, port=port)
    pids = replica_pids(url, replicas)
    startup = time.perf_counter() - t0
    Load(url, 4 * replicas, retries).run()  # warm every replica past its first requests
    memory = {rid: rss_mib(pid) for rid, pid in pids.items()}
    fault: dict[str, Any] = {}

    def killer(done: int) -> None:
        if done == requests // 4 and not fault:
            victim, pid = next(iter(pids.items()))
            fault.update(killed_replica=victim, killed_at_request=done, t=time.perf_counter())
            os.kill(pid, signal.SIGKILL)

            def watch() -> None:  # recovered: a new replica (not one of the first ones) answers
                with httpx.Client(timeout=30) as client:
                    while time.perf_counter() - fault["t"] < 300:
                        try:
                            if client.get(url + "/healthz").json().get("replica") not in pids:
                                break
                        except (httpx.HTTPError, ValueError):
                            pass
                        time.sleep(0.2)
                fault["recovered_s"] = round(time.perf_counter() - fault["t"], 1)

            threading.Thread(target=watch, daemon=True).start()

    result = Load(url, requests, retries, killer if kill else None).run()
    if kill:
        deadline = time.perf_counter() + 300
        while "recovered_s" not in fault and time.perf_counter() < deadline:
            time.sleep(0.5)
        fault.pop("t", None)
        after = replica_pids(url, replicas)
        fault["replicas_after"] = len(after)
        fault["victim_still_answering"] = fault["killed_replica"] in after
        result["fault"] = fault
    stop()
    return {"replicas": replicas, "startup_s": round(startup, 1), "threads_per_replica": max(1, (os.cpu_count() or 1)
                                                                                         // replicas),
            "replica_rss_mib": sorted(round(v) for v in memory.values() if v), "retries": retries, **result}


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| replicas | fault | requests | throughput (req/s) | p50 ms | p95 ms | failed once | lost "
             "| replicas used | RSS per replica (MiB) |", "|" + " --- |" * 10]
    for r in rows:
        fault = r.get("fault")
        note = (f"killed at {fault['killed_at_request']}, {fault.get('recovered_s', '?')} s to recover"
                if fault else "–")
        lines.append(f"| {r['replicas']} | {note} | {r['requests']} | {r['throughput_rps']} "
                     f"| {r['latency_ms'].get('p50')} | {r['latency_ms'].get('p95')} | {r['failed_once']} "
                     f"| {r['lost']} | {r['replicas_used']} | {', '.join(map(str, r['replica_rss_mib']))} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--requests", type=int, default=240, help="requests per run (default: 240)")
    parser.add_argument("--retries", type=int, default=3, help="client retries per request (default: 3)")
    parser.add_argument("--model", default=None, help="embedding model (default: the bundled one)")
    parser.add_argument("--no-fault", action="store_true", help="skip the replica-killed run")
    parser.add_argument("--out", default=str(ROOT / "artifacts" / "bench"))
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from assistant import Assistant

    work = Path(tempfile.mkdtemp(prefix="serve-load-"))
    Assistant.build([ROOT / "index" / "article.txt"], index_dir=work / "index", model=args.model,
                    announce=lambda _m: None)
    config = {"index_dir": str(work / "index"), "model": args.model}
    rows = []
    for n in args.replicas:
        rows.append(run_config(config, n, args.requests, args.retries, kill=False))
        print(table(rows[-1:]), flush=True)
    if not args.no_fault:
        rows.append(run_config(config, 2, args.requests, args.retries, kill=True))
        print(table(rows[-1:]), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "serve_load.json").write_text(json.dumps({"machine": machine(), "model": args.model or "bundled",
                                                     "runs": rows}, ensure_ascii=False, indent=1), encoding="utf-8")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

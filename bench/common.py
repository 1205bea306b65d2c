"""Shared helpers: statistics, peak memory, running a case in a child process, the machine.

A case runs in a fresh interpreter (`python -m bench.cases NAME PARAMS_JSON`) and prints
one line `BENCH_RESULT {json}` at the end, with its own peak memory (VmHWM of
/proc/self/status, plus its anonymous and file-backed parts): a child's figures are not
mixed with the parent's or another case's.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.evaluate.testset import percentile

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "BENCH_RESULT "
PACKAGES = ("vi-article-assistant", "numpy", "faiss-cpu", "bm25s", "langchain-core", "langchain-community",
            "langchain-text-splitters", "langchain-classic", "rank-bm25", "gradio", "gradio_client",
            "sentence-transformers", "torch")


def stats(samples: Sequence[float], digits: int = 3) -> dict[str, Any]:
    """n, p50 (median), p95, mean and min of a list of samples (milliseconds or seconds)."""
    values = [float(v) for v in samples]
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": round(percentile(values, 50), digits),
            "p95": round(percentile(values, 95), digits), "mean": round(sum(values) / len(values), digits),
            "min": round(min(values), digits)}


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as t: ...` then `t[0]` is the elapsed time in seconds."""
    out: list[float] = []
    start = time.perf_counter()
    try:
        yield out
    finally:
        out.append(time.perf_counter() - start)


def memory() -> dict[str, float]:
    """This process's peak resident memory (MiB) and its current anonymous / file-backed parts."""
    fields = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in {"VmHWM", "VmRSS", "RssAnon", "RssFile"}:
                fields[key] = round(int(rest.split()[0]) / 1024, 1)
    return {"peak_rss_mib": fields.get("VmHWM", 0.0), "rss_mib": fields.get("VmRSS", 0.0),
            "rss_anon_mib": fields.get("RssAnon", 0.0), "rss_file_mib": fields.get("RssFile", 0.0)}


def emit(result: dict[str, Any]) -> None:
    print(PREFIX + json.dumps({**result, "memory": memory()}, ensure_ascii=False), flush=True)


def bench_env(**extra: str) -> dict[str, str]:
    """The environment for children: offline hub, no model or LLM from the caller."""
    env = {k: v for k, v in os.environ.items() if k not in {"ASSISTANT_MODEL", "ASSISTANT_LLM"}}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false")
    env.update(extra)
    return env


def run_child(case: str, params: dict[str, Any] | None = None, timeout: float = 3600,
              env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `bench.cases` NAME in a fresh interpreter; its result, or {"error": ...}."""
    cmd = [sys.executable, "-m", "bench.cases", case, json.dumps(params or {})]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env or bench_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith(PREFIX)]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-6:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    result = json.loads(lines[-1][len(PREFIX):])
    result["wall_s"] = round(time.perf_counter() - start, 2)
    return result


def machine() -> dict[str, Any]:
    """Cores, RAM, CPU model (from /proc/cpuinfo), OS, Python and package versions, commit."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="ascii") as fh:
        ram_kib = next(int(line.split()[1]) for line in fh if line.startswith("MemTotal"))
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "not installed"
    return {
        "cpu_model": cpu, "cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
        "ram_gib": round(ram_kib / 1024**2, 1), "os": platform.platform(), "python": platform.python_version(),
        "versions": versions, "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def ratio(a: float | None, b: float | None, digits: int = 1) -> float | None:
    """a / b, or None when either is missing or b is zero."""
    if a is None or b is None or not b:
        return None
    return round(a / b, digits)

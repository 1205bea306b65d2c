"""Cold start, measured from outside: fresh `assistant` processes on an already-built index.

- `cold_ask`: `.venv/bin/assistant ask "…" -q` with ASSISTANT_HOME at a temp dir whose
  index was built once first; time to the answer's first printed line (stdout unbuffered)
  and to the process's exit.
- `cold_import`: `python -c "import assistant"` and which heavy modules it pulled in.
- `chat_ready`: `.venv/bin/assistant chat --port FREE`; poll http://127.0.0.1:PORT/ until it
  answers, then `gradio_client.Client(url).predict(question, api_name="/ask")`; times to
  the page and to the first answer. The server (a process group this module started) is
  stopped after each run. Skipped, with a note, when `assistant chat` does not exist.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from .common import ROOT, bench_env, stats

ASSISTANT = str(Path(sys.executable).with_name("assistant"))
QUESTION = "Trong nhiệm kỳ 2010 – 2015 kết nạp được bao nhiêu đảng viên mới?"
HEAVY = ("torch", "sentence_transformers", "gradio", "transformers", "langchain_community")


def build_home(home: Path) -> float:
    """Build the bundled article's offline index under `home` (ASSISTANT_HOME); seconds taken."""
    start = time.perf_counter()
    subprocess.run([ASSISTANT, "build", "-q", "--model", "offline"], env=bench_env(ASSISTANT_HOME=str(home)),
                   cwd=ROOT, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - start


def _reap(proc: subprocess.Popen) -> float:
    """Wait for a child this module started; its own peak resident memory in MiB (wait4)."""
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return round(usage.ru_maxrss / 1024, 1)


def _timed_run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str, float]:
    """(seconds to the first stdout line, seconds to exit, that line, peak MiB of the process)."""
    with tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
        assert proc.stdout is not None
        first = proc.stdout.readline()
        t_first = time.perf_counter() - start
        proc.stdout.read()
        peak = _reap(proc)
        t_exit = time.perf_counter() - start
        proc.stdout.close()
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd[:3])} exited {proc.returncode}: {err.read().strip()[-300:]}")
    return t_first, t_exit, first.strip(), peak


def cold_ask(home: Path, runs: int = 5, extra: list[str] | None = None) -> dict[str, Any]:
    env = bench_env(ASSISTANT_HOME=str(home))
    firsts, exits, peaks, line = [], [], [], ""
    for _ in range(runs):
        t_first, t_exit, line, peak = _timed_run([ASSISTANT, "ask", QUESTION, "-q", *(extra or [])], env)
        firsts.append(t_first * 1000)
        exits.append(t_exit * 1000)
        peaks.append(peak)
    return {"to_answer_ms": stats(firsts, 1), "to_exit_ms": stats(exits, 1), "answer": line[:160], "runs": runs,
            "memory": {"peak_rss_mib": max(peaks)}}


def cold_import(runs: int = 5) -> dict[str, Any]:
    code = f"import assistant, sys; print(sorted(m for m in {HEAVY!r} if m in sys.modules)); print(len(sys.modules))"
    times, peaks, heavy, count = [], [], "", ""
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", code], env=bench_env(), cwd=ROOT, stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout is not None
        out = proc.stdout.read().splitlines()
        peaks.append(_reap(proc))
        times.append((time.perf_counter() - start) * 1000)
        proc.stdout.close()
        heavy, count = out[0], out[1]
    return {"import_ms": stats(times, 1), "heavy_modules": heavy, "modules": int(count),
            "memory": {"peak_rss_mib": max(peaks)}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def has_chat() -> bool:
    out = subprocess.run([ASSISTANT, "--help"], capture_output=True, text=True, timeout=60, env=bench_env())
    return "chat" in out.stdout


def chat_ready(home: Path, runs: int = 3, timeout: float = 120) -> dict[str, Any]:
    if not has_chat():
        return {"skipped": "`assistant chat` does not exist in this checkout yet"}
    from gradio_client import Client  # imported before the clock starts

    env = bench_env(ASSISTANT_HOME=str(home), GRADIO_ANALYTICS_ENABLED="False")
    ready, answered, peaks, answer = [], [], [], ""
    for _ in range(runs):
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        start = time.perf_counter()
        log = (home / "chat.log").open("w")
        proc = subprocess.Popen([ASSISTANT, "chat", "--port", str(port), "-q"], env=env, cwd=ROOT,
                                stdout=log, stderr=log, start_new_session=True)
        try:
            _wait_until_served(url, proc, start + timeout, home / "chat.log")
            ready.append((time.perf_counter() - start) * 1000)
            result = Client(url, verbose=False).predict(QUESTION, api_name="/ask")
            answered.append((time.perf_counter() - start) * 1000)
            answer = str(result.get("answer", result) if isinstance(result, dict) else result)[:160]
        finally:
            peaks.append(_stop(proc))
            log.close()
    return {"to_page_ms": stats(ready, 1), "to_first_answer_ms": stats(answered, 1), "answer": answer, "runs": runs,
            "memory": {"peak_rss_mib": max(peaks)}}


def _wait_until_served(url: str, proc: subprocess.Popen, deadline: float, log: Path) -> None:
    while time.perf_counter() < deadline:
        pid, status, _usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            raise RuntimeError(f"assistant chat exited {proc.returncode}: {log.read_text(errors='replace')[-300:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer in time")


def _stop(proc: subprocess.Popen) -> float:
    """Stop the chat server this module started (its own process group); its peak MiB."""
    if proc.returncode is not None:
        return 0.0
    os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return round(usage.ru_maxrss / 1024, 1)
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    return _reap(proc)

"""Builds killed halfway or run at once, and pickle: the index on disk survives them.

- a build of a synthetic corpus SIGKILLed while it writes leaves the previous index intact
  and usable, and the next build goes through (the file lock died with the process);
- two builds into one directory at once, and two processes repairing the damaged bundled
  index at once, both succeed and leave a verified index;
- a build killed between its two renames restores the previous index, and the next build
  removes what a killed build left;
- pickle is never imported or called while loading, and an object array planted in the
  BM25 files is refused even with a matching checksum.
"""

from __future__ import annotations

import ast
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from assistant import Assistant
from assistant.errors import IndexCorruptError
from assistant.search.store import FILES, load_index

from .conftest import ROOT
from .test_reliability import (  # noqa: F401 - user_index is a fixture
    FIGURE_Q,
    SMALL_Q,
    V1,
    answers_bundled,
    answers_small,
    refresh_checksum,
    user_index,
)

# --- builds killed halfway, builds at the same time ---------------------------------------------------


def write_corpus(directory: Path, articles: int, paragraphs: int, source: Any) -> list[Path]:
    """Synthetic articles made of the bundled article's sentences, with fresh figures."""
    sentences = [s.text for s in source.sentences if source.paragraphs[s.paragraph].kind in {"lead", "body"}]
    rng = random.Random(0)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for a in range(articles):
        blocks = ["Thứ hai, 05/06/2023", f"Bài số {a} về công tác phát triển Đảng"]
        blocks += [" ".join(rng.choice(sentences).replace("261", str(rng.randint(1, 999))) for _ in range(3))
                   for _ in range(paragraphs)]
        blocks.append("Bài, ảnh: MINH ANH")
        paths.append(directory / f"bai-{a:03d}.txt")
        paths[-1].write_text("\n\n".join(blocks), encoding="utf-8")
    return paths


def build_process(files: list[Path], directory: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "assistant.cli", "build", *map(str, files), "--index-dir",
                             str(directory), "--model", "offline", "-q"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_build_killed_while_writing_leaves_the_previous_index(tmp_path: Path, small_article_path: Path,
                                                              article: Any) -> None:
    directory = tmp_path / "idx" / "D"
    Assistant.build([small_article_path], directory, model="offline", announce=lambda _m: None)
    before = snapshot(directory)
    corpus = write_corpus(tmp_path / "corpus", articles=40, paragraphs=60, source=article)
    proc = build_process(corpus, directory)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if any(".D.tmp-" in p.name for p in directory.parent.iterdir()):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the build finished before it could be killed while writing"
    assert snapshot(directory) == before
    answers_small(Assistant.load(directory))
    # the lock died with the process: the next build goes through, and the index is the new one
    again = build_process(corpus[:2], directory)
    assert again.wait(timeout=60) == 0
    assert len(load_index(directory).articles) == 2


def test_build_killed_between_the_two_renames_leaves_an_index(tmp_path: Path, small_article_path: Path,
                                                              bundled_article_path: Path) -> None:
    directory = tmp_path / "D"
    Assistant.build([small_article_path], directory, model="offline", announce=lambda _m: None)
    script = ("import os, signal, sys\n"
              "from assistant import Assistant\n"
              "real = os.replace\n"
              "def replace(a, b):\n"
              "    real(a, b)\n"
              "    os.kill(os.getpid(), signal.SIGKILL)  # die right after the first rename\n"
              "os.replace = replace\n"
              "Assistant.build([sys.argv[1]], sys.argv[2], 'offline', announce=lambda m: None)\n")
    proc = subprocess.run([sys.executable, "-c", script, str(bundled_article_path), str(directory)], cwd=ROOT,
                          capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    bot = Assistant.load(directory)  # today: IndexCorruptError "no index yet"
    assert bot.ask(SMALL_Q).text or bot.ask(FIGURE_Q).text


KILL_AT_FIRST_RENAME = ("import os, signal, sys\n"
                        "from assistant import Assistant\n"
                        "os.replace = lambda a, b: os.kill(os.getpid(), signal.SIGKILL)  # die before the swap\n"
                        "Assistant.build([sys.argv[1]], sys.argv[2], 'offline', announce=lambda m: None)\n")


def test_next_build_removes_what_a_killed_build_left(tmp_path: Path, small_article_path: Path,
                                                     bundled_article_path: Path) -> None:
    directory = tmp_path / "D"
    Assistant.build([small_article_path], directory, model="offline", announce=lambda _m: None)
    killed = subprocess.run([sys.executable, "-c", KILL_AT_FIRST_RENAME, str(bundled_article_path), str(directory)],
                            cwd=ROOT, capture_output=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    answers_small(Assistant.load(directory))  # the previous index is untouched
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name]  # what the killed build left
    Assistant.build([small_article_path], directory, model="offline", announce=lambda _m: None)
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name or ".old-" in p.name] == []


def test_two_builds_into_one_directory_at_once(tmp_path: Path, small_article_path: Path,
                                               article: Any) -> None:
    directory = tmp_path / "idx" / "D"
    corpus = write_corpus(tmp_path / "corpus", articles=6, paragraphs=30, source=article)
    first, second = build_process(corpus, directory), build_process([small_article_path], directory)
    for proc in (first, second):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    stored = load_index(directory)  # verifies every checksum and every chunk against its article
    assert len(stored.articles) in {1, 6}
    assert {p.name for p in directory.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name} == set()
    bot = Assistant.load(directory)
    answers_small(bot) if len(stored.articles) == 1 else bot.ask(FIGURE_Q)


def test_two_processes_repair_the_bundled_index_at_once(home_index: Path) -> None:
    (home_index / "vectors.faiss").write_bytes(b"")
    procs = [subprocess.Popen([sys.executable, "-m", "assistant.cli", "ask", FIGURE_Q, "--json"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        assert "261" in json.loads(out)["answer"]
    load_index(home_index)


# --- pickle ---------------------------------------------------------------------------------------------

PICKLERS = {"pickle", "cpickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def test_no_pickle_in_the_app_the_library_or_the_benchmarks() -> None:
    files = [*sorted((ROOT / "assistant").rglob("*.py")), *sorted((ROOT / "ui").rglob("*.py")),
             ROOT / "bench" / "load_test.py", ROOT / "bench" / "soak.py"]
    offenders = []
    for path in files:
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source, filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(a.name for a in node.names)]
            elif isinstance(node, ast.Name):
                names = [node.id]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
                if node.attr == "load" and isinstance(node.value, ast.Name) and node.value.id == "torch":
                    offenders.append(f"{path.name}:{node.lineno}: torch.load")
            elif (isinstance(node, ast.keyword) and node.arg == "allow_pickle"
                  and not (isinstance(node.value, ast.Constant) and node.value.value is False)):
                offenders.append(f"{path.name}:{node.value.lineno}: allow_pickle")
            offenders += [f"{path.name}:{node.lineno}: {n}" for n in names if n.split(".")[0].lower() in PICKLERS]
    assert offenders == []


def test_loading_and_answering_never_unpickle(monkeypatch: pytest.MonkeyPatch, bundled_index: Path,
                                              tmp_path: Path) -> None:
    import pickle

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("something tried to unpickle")

    old = tmp_path / "old"
    shutil.copytree(V1 / "small", old)
    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    answers_bundled(Assistant.load(bundled_index, model="offline"))
    answers_small(Assistant.load(old))


def test_object_array_planted_in_the_bm25_files_is_refused(user_index: Path) -> None:  # noqa: F811
    """An .npy holding Python objects (which numpy would unpickle) is refused, even with a
    matching checksum; the payload is never read (and is no pickle at all here)."""
    npy = [name for name in FILES if name.endswith(".npy")]
    if not npy:
        pytest.skip("this index format has no .npy files")
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (3,), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    payload = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin-1") + b"junk" * 8
    (user_index / npy[0]).write_bytes(payload)
    refresh_checksum(user_index, npy[0])
    with pytest.raises(IndexCorruptError) as err:
        Assistant.load(user_index)
    assert npy[0] in err.value.path or "BM25" in str(err.value)
